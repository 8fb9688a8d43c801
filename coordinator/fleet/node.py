"""One node as the coordinator sees it: identity, session, seq tracking, values and stock.

`NodeEntry` is mutable and owned by the ingest writer (one thread); readers get frozen
views from `coordinator.fleet.twin`. `restore_tracker` rebuilds a node's
`SequenceTracker` from what the store persisted (high-water mark, open gaps, counters),
so a restarted coordinator drops exactly the duplicates the previous one would have.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protocol import SequenceTracker, Stock

NodeKey = tuple[str, str]
"""(site, node): node ids are unique within a site."""


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """A node's persisted state: session, liveness, seq tracking and counters."""

    site: str
    node: str
    kind: str
    firmware: str
    units: dict[str, str]
    capabilities: tuple[str, ...]
    birth_seen: bool
    online: bool
    offline_reason: str
    bd_seq: int | None
    last_seen_ms: int | None
    last_seq: int
    gaps: tuple[tuple[int, int], ...]
    received: int
    duplicates: int
    gaps_seen: int
    lost: int
    out_of_sync: bool
    samples: int
    stock_snapshot_seq: int


@dataclass
class NodeEntry:
    """Live state of one node (mutated only by the ingest writer)."""

    site: str
    node: str
    tracker: SequenceTracker = field(default_factory=SequenceTracker)
    kind: str = "unknown"
    firmware: str = ""
    units: dict[str, str] = field(default_factory=dict)
    capabilities: tuple[str, ...] = ()
    birth_seen: bool = False
    online: bool = False
    offline_reason: str = ""
    bd_seq: int | None = None
    last_seen_ms: int | None = None
    last_seen_mono_s: float | None = None
    samples: int = 0
    stock_snapshot_seq: int = -1
    last_rebirth_request_s: float | None = None
    latest: dict[str, tuple[int, float]] = field(default_factory=dict)
    stock: dict[str, int] = field(default_factory=dict)
    deltas: list[tuple[int, dict[str, int]]] = field(default_factory=list)
    low_stock: set[str] = field(default_factory=set)

    @property
    def key(self) -> NodeKey:
        """The node's (site, node) key."""
        return (self.site, self.node)


def restore_tracker(
    *,
    high: int,
    gaps: list[tuple[int, int]],
    received: int = 0,
    duplicates: int = 0,
    gaps_seen: int = 0,
    lost: int = 0,
    out_of_sync: bool = False,
    max_gap_ranges: int = 1024,
) -> SequenceTracker:
    """A tracker whose high-water mark and open gaps are exactly `high` and `gaps`.

    Replays the seen stretches through the public `observe` API, then restores the counters.
    Gaps must be sorted, disjoint and below `high`; anything else raises `ValueError`.
    """
    tracker = SequenceTracker(max_gap_ranges=max_gap_ranges)
    previous_end = -1
    for start, end in gaps:
        if not (previous_end < start <= end < high):
            raise ValueError(f"gap ({start}, {end}) is out of order or not below high={high}")
        # Everything in (previous_end, start) was seen: jump the mark to start - 1 ...
        tracker.high = start - 1
        # ... and observing end + 1 opens exactly the gap [start, end].
        tracker.observe(end + 1)
        previous_end = end + 1
    tracker.high = max(high, tracker.high)
    tracker.received = received
    tracker.duplicates = duplicates
    tracker.gaps_seen = gaps_seen
    tracker.lost = lost
    tracker.out_of_sync = out_of_sync
    return tracker


MAX_DELTAS_KEPT = 10_000


def apply_stock(entry: NodeEntry, message: Stock) -> bool:
    """Apply a stock snapshot or delta to the node's levels; False if it changed nothing.

    Seq is one counter per node, so a snapshot already includes every delta with a lower
    seq: such deltas (replayed late) and snapshots older than the newest one are skipped.
    Deltas newer than the newest snapshot are remembered (up to `MAX_DELTAS_KEPT`), so a
    snapshot replayed late is rebased on them instead of erasing them.
    """
    if message.seq <= entry.stock_snapshot_seq:
        return False
    if message.mode == "snapshot":
        later = [(seq, items) for seq, items in entry.deltas if seq > message.seq]
        levels = dict(message.items)
        for _, items in later:
            for sku, change in items.items():
                levels[sku] = levels.get(sku, 0) + change
        entry.stock = levels
        entry.stock_snapshot_seq = message.seq
        entry.deltas = later
        return True
    for sku, change in message.items.items():
        entry.stock[sku] = entry.stock.get(sku, 0) + change
    entry.deltas.append((message.seq, dict(message.items)))
    if len(entry.deltas) > MAX_DELTAS_KEPT:
        del entry.deltas[: len(entry.deltas) - MAX_DELTAS_KEPT]
    return True


__all__ = [
    "MAX_DELTAS_KEPT",
    "NodeEntry",
    "NodeKey",
    "NodeRecord",
    "apply_stock",
    "restore_tracker",
]
