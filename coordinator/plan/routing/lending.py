"""Vans go where the deliveries wait (pure): lending a van between depots.

Each micro-warehouse has its own vans, and the busiest has no spare delivery time: a day
it was closed, a van that broke down or a burst of orders leaves it a backlog its vans
never work off, while a neighbour's vans stand idle half the day. Then the nearest depot
that can spare a van lends it one; the van drives there empty (its kilometres are the
loan's cost) and delivers from there until the borrower manages without it, and it goes
home between two delivery days.

Every figure is in van-seconds of delivery work, over a horizon of the rest of today's
delivery day and the whole of tomorrow's (`DepotVans`):

- the depot **needs** `waiting_s + daily_s * (1 + day_left_s / day_s)`: what waits there
  now, and a usual day's new deliveries (its last day's) for each day of the horizon;
- it **has** `left_s + vans * day_s`: what its vans can still do today, each from when it
  is back or arrives, and every van's day tomorrow.

A depot is **short** when it needs more than it has. It **can spare** a van when one is
free at it now, it borrows none, and it needs no more than it would have without that van
(`day_left_s + day_s` less). Short depots borrow first the one most short, one van per
decision each (the next decision sees the van on its way), from the nearest depot that can
spare one (`max_km` at most; ties by id). Between delivery days (`returns`) a borrowed van
that is free goes home when the borrower, without it, has what it needs for tomorrow
(`waiting_s + daily_s <= (vans - 1) * day_s`), or when its home is short.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

__all__ = ["DepotVans", "VanMove", "loans", "returns"]


@dataclass(frozen=True, slots=True)
class DepotVans:
    """One depot's vans and delivery work at a decision (see the module for the figures).

    `vans` counts every van based there now (its own less those lent, plus those borrowed:
    out on a tour, on their way or free), `free` those at the depot and free now, and
    `borrowed` the home depot of each borrowed van (one entry per van)."""

    id: str
    vans: int
    free: int
    waiting_s: float
    left_s: float
    daily_s: float
    borrowed: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not 0 <= self.free <= self.vans:
            raise ValueError(f"{self.id}: free must be in [0, vans], got {self.free!r}")
        if len(self.borrowed) > self.vans:
            raise ValueError(f"{self.id}: more borrowed vans than vans")
        for name in ("waiting_s", "left_s", "daily_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{self.id}: {name} must be finite and >= 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class VanMove:
    """A van driving empty from depot `van_from` to depot `to`: lent, or going home."""

    van_from: str
    to: str
    reason: Literal["lend", "return"]


def _need(d: DepotVans, day_s: float, day_left_s: float) -> float:
    return d.waiting_s + d.daily_s * (1.0 + day_left_s / day_s)


def _has(d: DepotVans, day_s: float) -> float:
    return d.left_s + d.vans * day_s


def loans(
    depots: Sequence[DepotVans],
    *,
    day_s: float,
    day_left_s: float,
    distance_km: Callable[[str, str], float],
    max_km: float = math.inf,
) -> list[VanMove]:
    """The vans to lend now, during a delivery day with `day_left_s` of its `day_s` left."""
    if not (math.isfinite(day_s) and day_s > 0):
        raise ValueError(f"day_s must be finite and > 0, got {day_s!r}")
    if not 0 <= day_left_s <= day_s:
        raise ValueError(f"day_left_s must be in [0, day_s], got {day_left_s!r}")
    ids = [d.id for d in depots]
    if len(set(ids)) != len(ids):
        raise ValueError("depot ids must be unique")
    state = {d.id: d for d in depots}
    one_van_s = day_left_s + day_s

    def shortfall(d: DepotVans) -> float:
        return _need(d, day_s, day_left_s) - _has(d, day_s)

    def can_spare(d: DepotVans) -> bool:
        return d.free >= 1 and not d.borrowed and shortfall(d) + one_van_s <= 0

    moves = []
    short = sorted((d for d in depots if shortfall(d) > 0), key=lambda d: (-shortfall(d), d.id))
    for borrower in short:
        lenders = [
            d
            for d in state.values()
            if d.id != borrower.id and can_spare(d) and distance_km(d.id, borrower.id) <= max_km
        ]
        if not lenders:
            continue
        lender = min(lenders, key=lambda d: (distance_km(d.id, borrower.id), d.id))
        moves.append(VanMove(lender.id, borrower.id, "lend"))
        # the lender is one van down (a short depot never lends, so the borrower is not
        # asked again in this decision)
        state[lender.id] = replace(
            lender,
            vans=lender.vans - 1,
            free=lender.free - 1,
            left_s=max(0.0, lender.left_s - day_left_s),
        )
    return moves


def returns(depots: Sequence[DepotVans], *, day_s: float) -> list[VanMove]:
    """The borrowed vans to send home now, between two delivery days."""
    if not (math.isfinite(day_s) and day_s > 0):
        raise ValueError(f"day_s must be finite and > 0, got {day_s!r}")
    home_short = {d.id for d in depots if _need(d, day_s, 0.0) > _has(d, day_s)}
    moves = []
    for d in sorted(depots, key=lambda d: d.id):
        vans, free = d.vans, d.free
        for home in d.borrowed:
            if free < 1:
                break
            manages = d.waiting_s + d.daily_s <= (vans - 1) * day_s
            if manages or home in home_short:
                moves.append(VanMove(d.id, home, "return"))
                vans, free = vans - 1, free - 1
    return moves
