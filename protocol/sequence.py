"""Sequence-number rules: what the coordinator makes of each node's `seq` stream.

Every data message a node produces takes the next `seq` (persisted with the node's
outbox, so it survives restarts). Messages may arrive out of order — replayed history
after an outage arrives after live data — so the tracker keeps a high-water mark and
the set of seqs below it not yet seen (the gaps). A seq that is neither new nor in a
gap is a duplicate and must be dropped.

Gaps are closed when the missing messages arrive, or `settle`d when the node's birth
says they can never arrive (its outbox no longer holds them): those are counted as lost.
The number of open gap ranges is bounded; past the bound the oldest ranges are settled
as lost and the tracker reports itself out of sync, which is the coordinator's cue to
ask for a rebirth (Sparkplug 3.0 §6.4.20, "rebirth request").
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    """What a received seq is."""

    NEW = "new"  # first time seen, in order
    LATE = "late"  # first time seen, fills (part of) a gap
    DUPLICATE = "duplicate"  # seen before: drop it


@dataclass(frozen=True, slots=True)
class Observation:
    """The verdict for one seq, and the gap it opened (first, last missing seq) if any."""

    verdict: Verdict
    opened_gap: tuple[int, int] | None = None


class SequenceTracker:
    """Gap and duplicate detection for one node's seq stream (pure, no I/O)."""

    def __init__(self, *, max_gap_ranges: int = 1024, high: int = -1) -> None:
        if max_gap_ranges < 1:
            raise ValueError("max_gap_ranges must be at least 1")
        self._max_ranges = max_gap_ranges
        self.high = high  # highest seq seen; -1 before any
        # Disjoint, sorted, inclusive ranges [first, last] of missing seqs below `high`.
        self._starts: list[int] = []
        self._ends: list[int] = []
        self.received = 0
        self.duplicates = 0
        self.gaps_seen = 0
        self.lost = 0
        self.out_of_sync = False

    @property
    def missing(self) -> int:
        """How many seqs below the high-water mark have not arrived."""
        return sum(e - s + 1 for s, e in zip(self._starts, self._ends, strict=True))

    @property
    def gap_ranges(self) -> list[tuple[int, int]]:
        """The open gaps as inclusive (first, last) ranges, oldest first."""
        return list(zip(self._starts, self._ends, strict=True))

    def observe(self, seq: int) -> Observation:
        """Record one received seq and say whether it is new, late or a duplicate."""
        if seq > self.high:
            opened = None
            if seq > self.high + 1:
                opened = (self.high + 1, seq - 1)
                self._starts.append(opened[0])
                self._ends.append(opened[1])
                self.gaps_seen += 1
                self._enforce_bound()
            self.high = seq
            self.received += 1
            return Observation(Verdict.NEW, opened)
        i = bisect.bisect_right(self._starts, seq) - 1
        if i < 0 or seq > self._ends[i]:
            self.duplicates += 1
            return Observation(Verdict.DUPLICATE)
        self._remove(i, seq)
        self.received += 1
        return Observation(Verdict.LATE)

    def seen(self, seq: int) -> bool:
        """Whether `seq` was received already (a query: nothing is recorded)."""
        if seq > self.high:
            return False
        i = bisect.bisect_right(self._starts, seq) - 1
        return i < 0 or seq > self._ends[i]

    def settle(self, below_seq: int) -> int:
        """Declare every missing seq below `below_seq` lost; return how many that was."""
        lost = 0
        while self._starts and self._starts[0] < below_seq:
            start, end = self._starts[0], self._ends[0]
            if end < below_seq:
                lost += end - start + 1
                del self._starts[0], self._ends[0]
            else:
                lost += below_seq - start
                self._starts[0] = below_seq
        self.lost += lost
        if not self._starts:
            self.out_of_sync = False
        return lost

    def resync(self) -> None:
        """Clear the out-of-sync flag, e.g. after the node answered a rebirth request."""
        self.out_of_sync = False

    def _remove(self, i: int, seq: int) -> None:
        start, end = self._starts[i], self._ends[i]
        if start == end:
            del self._starts[i], self._ends[i]
        elif seq == start:
            self._starts[i] = seq + 1
        elif seq == end:
            self._ends[i] = seq - 1
        else:
            self._ends[i] = seq - 1
            self._starts.insert(i + 1, seq + 1)
            self._ends.insert(i + 1, end)
            self._enforce_bound()

    def _enforce_bound(self) -> None:
        while len(self._starts) > self._max_ranges:
            self.lost += self._ends[0] - self._starts[0] + 1
            del self._starts[0], self._ends[0]
            self.out_of_sync = True
