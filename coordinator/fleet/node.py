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
class SnapshotInParts:
    """A stock snapshot arriving in parts: its first part's seq, how many parts it has,
    the parts and the SKUs seen so far (not persisted: see `apply_stock`)."""

    first_seq: int
    parts: int
    seen: set[int] = field(default_factory=set)
    skus: set[str] = field(default_factory=set)


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
    in_parts: SnapshotInParts | None = None
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


def _apply_snapshot(entry: NodeEntry, message: Stock) -> bool:
    """A snapshot, whole (one part) or one part of several (see `apply_stock`)."""
    in_parts = entry.in_parts
    if in_parts is None or message.first_seq > in_parts.first_seq:
        in_parts = entry.in_parts = SnapshotInParts(message.first_seq, message.parts or 1)
    levels = dict(message.items)
    for seq, items in entry.deltas:
        if seq > message.seq:
            for sku in levels.keys() & items.keys():
                levels[sku] += items[sku]
    entry.stock.update(levels)
    in_parts.seen.add(message.part or 0)
    in_parts.skus.update(message.items)
    if len(in_parts.seen) < in_parts.parts:
        return True
    last = in_parts.first_seq + in_parts.parts - 1
    later = [(seq, items) for seq, items in entry.deltas if seq > last]
    stock = {sku: qty for sku, qty in entry.stock.items() if sku in in_parts.skus}
    for _, items in later:  # a SKU the snapshot did not name starts from 0
        for sku in items.keys() - in_parts.skus:
            stock[sku] = stock.get(sku, 0) + items[sku]
    entry.stock = stock
    entry.stock_snapshot_seq = last
    entry.deltas = later
    entry.in_parts = None
    return True


def apply_stock(entry: NodeEntry, message: Stock) -> bool:
    """Apply a stock snapshot or delta to the node's levels; False if it changed nothing.

    Seq is one counter per node, so a snapshot already includes every delta with a lower
    seq: such deltas (replayed late) and snapshots older than the newest one are skipped.
    Deltas newer than the newest snapshot are remembered (up to `MAX_DELTAS_KEPT`), so a
    snapshot replayed late is rebased on them instead of erasing them.

    A snapshot in parts (`Stock.part`; a whole snapshot is one part) sets the levels of
    each part's SKUs as the part arrives (rebased the same way); once every part is in,
    the SKUs none of them named are dropped. A coordinator restarted between two parts
    has lost which parts it saw: the rest still set their levels, and the next snapshot
    drops what this one would have.
    """
    if message.seq <= entry.stock_snapshot_seq:
        return False
    in_parts = entry.in_parts
    if in_parts is not None and message.seq < in_parts.first_seq:
        return False  # taken before the snapshot coming in parts, which includes it
    if message.mode == "snapshot":
        return _apply_snapshot(entry, message)
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
    "SnapshotInParts",
    "apply_stock",
    "restore_tracker",
]
