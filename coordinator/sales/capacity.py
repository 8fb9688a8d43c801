"""A factory's free production capacity, in machine-seconds per time bucket (pure).

The promise engine answers from this fast model, not from a solve per order: each factory's
machines offer the time the current schedule leaves free, inside the factory's opening hours,
scaled by the share of capacity it offers to the network. A slice of it (`reserve_share`) is
kept for rush (express) orders. Producing `q` units of a SKU takes `setup_s + q × s_per_unit`
machine-seconds from that pool, and is done when the pool has yielded that much since now:
a flow approximation (it lets the operations of one order share the factory's machines)
that the next re-plan confirms or revises.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

DAY_S = 86_400
WEEK_DAYS = frozenset(range(7))


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Daily opening from `open_min` to `close_min` (minutes after local midnight; a close
    at or before the open runs past midnight) on `weekdays` (0 = Monday), at UTC offset
    `utc_offset_min`. The default is around the clock."""

    open_min: int = 0
    close_min: int = 1440
    weekdays: frozenset[int] = WEEK_DAYS
    utc_offset_min: int = 0

    def __post_init__(self) -> None:
        if not (0 <= self.open_min < 1440 and 0 < self.close_min <= 1440):
            raise ValueError("opening minutes must lie within a day")
        if not self.weekdays or not self.weekdays <= WEEK_DAYS:
            raise ValueError("weekdays must be a non-empty subset of 0..6")
        if not -840 <= self.utc_offset_min <= 840:
            raise ValueError("utc offset must be within ±14 h")

    def open_intervals(self, start_s: float, end_s: float) -> list[tuple[float, float]]:
        """The open periods (Unix seconds) overlapping [start_s, end_s), clipped to it."""
        offset = self.utc_offset_min * 60
        length = (self.close_min - self.open_min) % 1440 * 60 or DAY_S
        first_day = math.floor((start_s + offset) / DAY_S) - 1
        last_day = math.floor((end_s + offset) / DAY_S)
        found: list[tuple[float, float]] = []
        for day in range(first_day, last_day + 1):
            # 1970-01-01 was a Thursday (weekday 3)
            if (day + 3) % 7 not in self.weekdays:
                continue
            opens = day * DAY_S + self.open_min * 60 - offset
            lo, hi = max(opens, start_s), min(opens + length, end_s)
            if lo < hi:
                found.append((lo, hi))
        return found


def _overlap(intervals: Iterable[tuple[float, float]], lo: float, hi: float) -> float:
    return sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in intervals)


def _spread(
    intervals: Iterable[tuple[float, float]], start_s: float, bucket_s: float, count: int
) -> list[float]:
    """Per bucket of `bucket_s` from `start_s`, the seconds the (disjoint) intervals cover."""
    out = [0.0] * count
    end_s = start_s + count * bucket_s
    for lo_s, hi_s in intervals:
        a, b = max(lo_s, start_s), min(hi_s, end_s)
        if b <= a:
            continue
        first = max(0, math.floor((a - start_s) / bucket_s))
        last = min(count - 1, math.floor((b - start_s) / bucket_s))
        for i in range(first, last + 1):
            lo = start_s + i * bucket_s
            out[i] += max(0.0, min(b, lo + bucket_s) - max(a, lo))
    return out


@dataclass
class CapacityPool:
    """Free machine-seconds per bucket of `bucket_s` from `start_s` (Unix seconds) on, split
    into what any order may use (`free`) and the rush reserve (`reserve`).

    `finish_s` and `work_by` read running totals of the buckets, kept until the next
    `book` (the only change a pool takes after it is made), so each is a search, not a
    scan of the horizon: a promise asks them dozens of times per line."""

    start_s: float
    bucket_s: float
    free: list[float]
    reserve: list[float] = field(default_factory=list)
    _totals: dict[bool, list[float]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.bucket_s <= 0:
            raise ValueError("bucket_s must be positive")
        if not self.reserve:
            self.reserve = [0.0] * len(self.free)
        if len(self.reserve) != len(self.free):
            raise ValueError("free and reserve need one value per bucket")

    @property
    def end_s(self) -> float:
        """Where the modelled horizon ends."""
        return self.start_s + self.bucket_s * len(self.free)

    def copy(self) -> CapacityPool:
        """An independent copy (bookings on it leave this one alone)."""
        return CapacityPool(self.start_s, self.bucket_s, list(self.free), list(self.reserve))

    def _usable(self, index: int, use_reserve: bool) -> float:
        return self.free[index] + (self.reserve[index] if use_reserve else 0.0)

    def _running(self, use_reserve: bool) -> list[float]:
        """Usable machine-seconds before each bucket: len(free) + 1 values from 0."""
        totals = self._totals.get(use_reserve)
        if totals is None:
            usable = map(operator.add, self.free, self.reserve) if use_reserve else self.free
            totals = [0.0, *itertools.accumulate(usable)]
            self._totals[use_reserve] = totals
        return totals

    def finish_s(self, work_s: float, *, use_reserve: bool) -> float | None:
        """When `work_s` machine-seconds started now are done (None: not within the horizon)."""
        if work_s <= 0:
            return self.start_s
        totals = self._running(use_reserve)
        if totals[-1] < work_s:
            return None
        i = bisect.bisect_left(totals, work_s) - 1  # totals[i] < work_s <= totals[i + 1]
        share = min(1.0, (work_s - totals[i]) / self._usable(i, use_reserve))
        return self.start_s + self.bucket_s * (i + share)

    def work_by(self, deadline_s: float, *, use_reserve: bool) -> float:
        """Machine-seconds the pool yields from now until `deadline_s`."""
        span = (deadline_s - self.start_s) / self.bucket_s
        if span <= 0:
            return 0.0
        totals = self._running(use_reserve)
        whole = min(len(self.free), math.floor(span))
        if whole == len(self.free):
            return totals[whole]
        return totals[whole] + self._usable(whole, use_reserve) * (span - whole)

    def book(self, work_s: float, *, use_reserve: bool) -> None:
        """Take `work_s` machine-seconds from the earliest buckets (the free part first)."""
        self._totals.clear()
        left = work_s
        for i in range(len(self.free)):
            if left <= 0:
                return
            take = min(self.free[i], left)
            self.free[i] -= take
            left -= take
            if use_reserve and left > 0:
                take = min(self.reserve[i], left)
                self.reserve[i] -= take
                left -= take
        if left > 1e-6:
            raise ValueError(f"{work_s:.0f} machine-seconds exceed the pool's horizon")


def pool_from_schedule(
    *,
    machines: Sequence[str],
    busy: Mapping[str, Sequence[tuple[float, float]]],
    unavailable: Iterable[str] = (),
    hours: OpeningHours = OpeningHours(),
    share: float = 1.0,
    reserve_share: float = 0.0,
    start_s: float,
    horizon_s: float,
    bucket_s: float = 3600.0,
) -> CapacityPool:
    """A factory's pool: for each machine (except the `unavailable` ones: down or offline),
    its open time minus its scheduled operations (`busy`, Unix seconds), per bucket, times
    the `share` offered to the network; `reserve_share` of it kept for rush orders."""
    if not 0.0 <= share <= 1.0 or not 0.0 <= reserve_share < 1.0:
        raise ValueError("share must be in [0, 1] and reserve_share in [0, 1)")
    count = max(1, math.ceil(horizon_s / bucket_s))
    end_s = start_s + count * bucket_s
    opened = hours.open_intervals(start_s, end_s)
    skip = set(unavailable)
    up = [m for m in machines if m not in skip]
    open_s = _spread(opened, start_s, bucket_s, count)
    free = [0.0] * count
    for machine in up:
        # each busy interval is spread over the buckets it spans (busy time is counted only
        # where the factory is open: no double subtraction)
        taken = [0.0] * count
        for a, b in busy.get(machine, ()):
            if b <= start_s or a >= end_s:
                continue
            first = max(0, math.floor((a - start_s) / bucket_s))
            last = min(count - 1, math.floor((b - start_s) / bucket_s))
            for i in range(first, last + 1):
                if open_s[i] <= 0:
                    continue  # closed throughout: nothing free to take from
                lo, hi = start_s + i * bucket_s, start_s + (i + 1) * bucket_s
                if b > lo and a < hi:
                    lo, hi = max(a, lo), min(b, hi)
                    # open throughout (most buckets): the overlap is the busy span itself
                    taken[i] += hi - lo if open_s[i] >= bucket_s else _overlap(opened, lo, hi)
        for i in range(count):
            if open_s[i] > 0:
                free[i] += max(0.0, open_s[i] - taken[i])
    offered = [f * share for f in free]
    return CapacityPool(
        start_s=start_s,
        bucket_s=bucket_s,
        free=[f * (1.0 - reserve_share) for f in offered],
        reserve=[f * reserve_share for f in offered],
    )
