"""When a planned tour leaves its depot: dynamic dispatch instead of fixed waves (pure).

A depot that sends its vans at fixed wave times either sends thin tours often (short lead
times, many kilometres per stop) or full tours rarely (the reverse). Dispatching on the
state of each tour serves both: the router plans tours over everything waiting at the
depot, and a tour leaves as soon as one of these holds (`departure_reason`):

- `full`: its load reached `fill_share` of the vehicle's capacity (a dense tour: waiting
  longer would not make it much shorter per stop);
- `promise`: waiting for the next chance to send it (`next_chance_s`: the next decision
  time, or the start of the next delivery day) would miss the promise of a stop on it;
- `waited`: its longest-waiting stop would have waited more than `max_wait_s` by the next
  chance (lead time stays bounded where orders come in slowly, and no tour is held over
  the night between two delivery days).

Otherwise the tour is held, and its stops are planned again with what arrives next.
`could_depart` is the cheap check a caller makes before asking the router at all: when
it is false, no tour over these stops can leave now.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DeparturePolicy",
    "PendingStop",
    "Reason",
    "could_depart",
    "departure_reason",
    "latest_departure_s",
]

Reason = Literal["full", "promise", "waited"]


@dataclass(frozen=True, slots=True)
class DeparturePolicy:
    """The thresholds of dynamic dispatch (see the module).

    A tour's kilometres per stop fall with the square root of how many stops share its
    area, so the longer stops pool the shorter each one's share of the drive, and a tour
    leaving before it is full (at 80 %) is one drawn over the same area with fewer stops.
    The defaults pool up to 6 h and send a tour early only when it is full: on the
    scenario runner's `yiwu-livestream` (10 days) that is 0.89 × the kilometres per order
    of 80 % / 4 h for +1 h of median lead time (`BENCHMARKS.md`, "Outcomes")."""

    fill_share: float = 1.0
    max_wait_s: float = 6 * 3600.0

    def __post_init__(self) -> None:
        if not 0.0 < self.fill_share <= 1.0:
            raise ValueError(f"fill_share must be in (0, 1], got {self.fill_share!r}")
        if not (math.isfinite(self.max_wait_s) and self.max_wait_s >= 0):
            raise ValueError(f"max_wait_s must be finite and >= 0, got {self.max_wait_s!r}")


@dataclass(frozen=True, slots=True)
class PendingStop:
    """A stop waiting at the depot: its units, since when it is ready to leave, when it is
    promised (None: no promise) and the least time from a departure to its delivery (the
    direct drive, loading and service: a bound on any tour's)."""

    units: int
    ready_s: float
    due_s: float | None
    min_offset_s: float


def latest_departure_s(offsets_s: Sequence[float], dues_s: Sequence[float | None]) -> float:
    """The latest departure at which every stop of a tour is delivered by its promise,
    given each stop's delivery time after the departure (inf: no promise on the tour)."""
    return min(
        (due - offset for offset, due in zip(offsets_s, dues_s, strict=True) if due is not None),
        default=math.inf,
    )


def departure_reason(
    *,
    load: int,
    capacity: int,
    oldest_ready_s: float,
    latest_departure: float,
    next_chance_s: float,
    policy: DeparturePolicy,
) -> Reason | None:
    """Why a planned tour leaves now, or None to hold it for the next chance."""
    if load >= policy.fill_share * capacity:
        return "full"
    if latest_departure < next_chance_s:
        return "promise"
    if next_chance_s - oldest_ready_s > policy.max_wait_s:
        return "waited"
    return None


def could_depart(
    stops: Sequence[PendingStop],
    *,
    capacity: int,
    next_chance_s: float,
    policy: DeparturePolicy,
) -> bool:
    """False when no tour over `stops` can leave now by `departure_reason` (so the router
    need not be asked): too few units to fill one, no stop that would wait too long, and
    no promise that even a direct drive would miss after waiting."""
    if not stops:
        return False
    if sum(s.units for s in stops) >= policy.fill_share * capacity:
        return True
    if any(next_chance_s - s.ready_s > policy.max_wait_s for s in stops):
        return True
    return any(s.due_s is not None and s.due_s - s.min_offset_s < next_chance_s for s in stops)
