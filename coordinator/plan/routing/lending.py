"""Vans go where the deliveries wait (pure): lending a van between depots.

Each micro-warehouse has its own vans, and the busiest has no spare delivery time: a day
it was closed, a van that broke down or a burst of orders leaves it a backlog its vans
never work off, while a neighbour's vans stand idle part of the day. Then the nearest depot
that can spare a van lends it one; the van drives there empty (its kilometres are the
loan's cost) and delivers from there until the borrower manages without it, and it goes
home between two delivery days.

The signs are measured, not estimated (`DepotVans`):

- a depot is **behind** when a stop ready to go has waited there longer than `behind_s`
  (default a day: no dispatch rule holds a stop that long while vans keep up, the night
  included);
- its **busy** time is the van time its tours took over the last day.

A depot behind borrows (the one whose stop waited longest first, one van per decision each:
the next decision sees the van on its way) from the nearest depot that can spare a van
(`max_km` at most; ties by id): one with a van free now, not behind, borrowing none, whose
busy time over the last day fits in one van fewer (`busy_s <= (vans - 1) * day_s`).
Between delivery days (`returns`) a borrowed van that is free goes home when its home is
behind, or when the borrower has caught up (no stop waited half of `behind_s`) and its
last day fits in one van fewer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

__all__ = ["BEHIND_S", "DepotVans", "VanMove", "loans", "returns"]

BEHIND_S = 86_400.0


@dataclass(frozen=True, slots=True)
class DepotVans:
    """One depot's vans at a decision: `vans` counts every van based there now (its own
    less those lent, plus those borrowed: out on a tour, on their way or free), `free`
    those at the depot and free now, `borrowed` the home depot of each borrowed van (one
    entry per van); `oldest_wait_s` how long its longest-waiting ready stop has waited (0:
    none), `busy_s` the van time of its tours over the last day."""

    id: str
    vans: int
    free: int
    oldest_wait_s: float
    busy_s: float
    borrowed: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not 0 <= self.free <= self.vans:
            raise ValueError(f"{self.id}: free must be in [0, vans], got {self.free!r}")
        if len(self.borrowed) > self.vans:
            raise ValueError(f"{self.id}: more borrowed vans than vans")
        for name in ("oldest_wait_s", "busy_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{self.id}: {name} must be finite and >= 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class VanMove:
    """A van driving empty from depot `van_from` to depot `to`: lent, or going home."""

    van_from: str
    to: str
    reason: Literal["lend", "return"]


def _check(day_s: float, behind_s: float) -> None:
    for name, value in (("day_s", day_s), ("behind_s", behind_s)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be finite and > 0, got {value!r}")


def _fits_one_fewer(busy_s: float, vans: int, day_s: float) -> bool:
    """Whether a last day of `busy_s` van time fits in `vans` - 1 vans' days."""
    return busy_s <= (vans - 1) * day_s


def loans(
    depots: Sequence[DepotVans],
    *,
    day_s: float,
    distance_km: Callable[[str, str], float],
    behind_s: float = BEHIND_S,
    max_km: float = math.inf,
) -> list[VanMove]:
    """The vans to lend now, during a delivery day of `day_s` (see the module)."""
    _check(day_s, behind_s)
    ids = [d.id for d in depots]
    if len(set(ids)) != len(ids):
        raise ValueError("depot ids must be unique")
    state = {d.id: d for d in depots}

    def can_spare(d: DepotVans) -> bool:
        return (
            d.free >= 1
            and not d.borrowed
            and d.oldest_wait_s <= behind_s
            and _fits_one_fewer(d.busy_s, d.vans, day_s)
        )

    moves = []
    behind = sorted(
        (d for d in depots if d.oldest_wait_s > behind_s), key=lambda d: (-d.oldest_wait_s, d.id)
    )
    for borrower in behind:
        lenders = [
            d
            for d in state.values()
            if d.id != borrower.id and can_spare(d) and distance_km(d.id, borrower.id) <= max_km
        ]
        if not lenders:
            continue
        lender = min(lenders, key=lambda d: (distance_km(d.id, borrower.id), d.id))
        moves.append(VanMove(lender.id, borrower.id, "lend"))
        state[lender.id] = replace(lender, vans=lender.vans - 1, free=lender.free - 1)
    return moves


def returns(
    depots: Sequence[DepotVans], *, day_s: float, behind_s: float = BEHIND_S
) -> list[VanMove]:
    """The borrowed vans to send home now, between two delivery days (see the module)."""
    _check(day_s, behind_s)
    home_behind = {d.id for d in depots if d.oldest_wait_s > behind_s}
    moves = []
    for d in sorted(depots, key=lambda d: d.id):
        vans, free = d.vans, d.free
        for home in d.borrowed:
            if free < 1:
                break
            caught_up = d.oldest_wait_s <= behind_s / 2 and _fits_one_fewer(d.busy_s, vans, day_s)
            if caught_up or home in home_behind:
                moves.append(VanMove(d.id, home, "return"))
                vans, free = vans - 1, free - 1
    return moves
