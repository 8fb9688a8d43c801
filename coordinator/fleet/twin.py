"""The fleet twin: the live state of every node, in memory, restored from the store.

The ingest writer mutates entries while holding `lock`; everyone else reads frozen views
(`nodes()`, `node()`, `stock()`). Liveness comes from birth and death, plus an inactivity
timeout per node checked by `expire_inactive` on the writer's clock tick.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from coordinator.errors import InvalidQuery, NotFound
from coordinator.fleet.node import NodeEntry, NodeKey, NodeRecord, restore_tracker
from coordinator.fleet.views import NodeCounters, NodeView, SignalValue, StockItem


class FleetTwin:
    """Every node the coordinator has heard of, keyed by (site, node)."""

    def __init__(self, *, max_gap_ranges: int = 1024) -> None:
        self.lock = threading.RLock()
        self.entries: dict[NodeKey, NodeEntry] = {}
        self._max_gap_ranges = max_gap_ranges

    def entry(self, site: str, node: str) -> NodeEntry:
        """The entry for (site, node), created on first sight (caller holds `lock`)."""
        key = (site, node)
        found = self.entries.get(key)
        if found is None:
            found = NodeEntry(site=site, node=node)
            found.tracker = restore_tracker(high=-1, gaps=[], max_gap_ranges=self._max_gap_ranges)
            self.entries[key] = found
        return found

    def restore(
        self,
        records: Iterable[NodeRecord],
        latest: Iterable[tuple[str, str, str, int, float]],
        stock: Iterable[StockItem],
    ) -> None:
        """Load persisted node records, latest values and stock levels (at start-up)."""
        with self.lock:
            for rec in records:
                entry = NodeEntry(site=rec.site, node=rec.node)
                entry.tracker = restore_tracker(
                    high=rec.last_seq,
                    gaps=list(rec.gaps),
                    received=rec.received,
                    duplicates=rec.duplicates,
                    gaps_seen=rec.gaps_seen,
                    lost=rec.lost,
                    out_of_sync=rec.out_of_sync,
                    max_gap_ranges=self._max_gap_ranges,
                )
                entry.kind, entry.firmware = rec.kind, rec.firmware
                entry.units, entry.capabilities = dict(rec.units), rec.capabilities
                entry.birth_seen, entry.online = rec.birth_seen, rec.online
                entry.offline_reason, entry.bd_seq = rec.offline_reason, rec.bd_seq
                entry.last_seen_ms, entry.samples = rec.last_seen_ms, rec.samples
                entry.stock_snapshot_seq = rec.stock_snapshot_seq
                self.entries[entry.key] = entry
            for site, node, signal, ts_ms, value in latest:
                if (site, node) in self.entries:
                    self.entries[(site, node)].latest[signal] = (ts_ms, value)
            for item in stock:
                if (item.site, item.node) in self.entries:
                    self.entries[(item.site, item.node)].stock[item.sku] = item.qty

    def expire_inactive(
        self, *, now_mono_s: float, timeout_for: Callable[[str], float]
    ) -> list[NodeEntry]:
        """Mark online nodes silent for longer than their timeout offline; return them.

        A node restored from the store has no monotonic last-seen time yet; its timeout
        starts counting at the first check after start-up.
        """
        expired = []
        with self.lock:
            for entry in self.entries.values():
                if not entry.online:
                    continue
                if entry.last_seen_mono_s is None:
                    entry.last_seen_mono_s = now_mono_s
                    continue
                if now_mono_s - entry.last_seen_mono_s > timeout_for(entry.node):
                    entry.online = False
                    entry.offline_reason = "inactive"
                    expired.append(entry)
        return expired

    def nodes(self, *, site: str | None = None) -> list[NodeView]:
        """Every node (optionally of one site), sorted by site then node."""
        with self.lock:
            return [
                _view(e, with_signals=False)
                for key, e in sorted(self.entries.items())
                if site is None or key[0] == site
            ]

    def node(self, node: str, *, site: str | None = None) -> NodeView:
        """One node with its latest signal values; `NotFound` or `InvalidQuery` if ambiguous."""
        with self.lock:
            found = [e for e in self.entries.values() if e.node == node and site in (None, e.site)]
            if not found:
                raise NotFound("node", node if site is None else f"{site}/{node}")
            if len(found) > 1:
                raise InvalidQuery(
                    f"node {node!r} exists in several sites; pass site=", parameter="site"
                )
            return _view(found[0], with_signals=True)

    def stock(self, *, site: str | None = None, node: str | None = None) -> list[StockItem]:
        """Current stock levels per SKU per micro-warehouse."""
        with self.lock:
            return [
                StockItem(site=e.site, node=e.node, sku=sku, qty=qty)
                for e in sorted(self.entries.values(), key=lambda e: e.key)
                if site in (None, e.site) and node in (None, e.node)
                for sku, qty in sorted(e.stock.items())
            ]

    def stock_of(self, skus: Iterable[str]) -> dict[str, dict[str, int]]:
        """Units on hand of just these SKUs, per node that holds any (for the promise path:
        it touches only the asked SKUs, not every shelf's whole stock)."""
        wanted = tuple(set(skus))
        with self.lock:
            found: dict[str, dict[str, int]] = {}
            for e in self.entries.values():
                held = {sku: e.stock[sku] for sku in wanted if sku in e.stock}
                if held:
                    found[e.node] = held
            return found

    def is_online(self, site: str, node: str) -> bool:
        """Whether the node is known and online now."""
        with self.lock:
            entry = self.entries.get((site, node))
            return entry is not None and entry.online

    def online_count(self) -> int:
        """How many nodes are online now."""
        with self.lock:
            return sum(1 for e in self.entries.values() if e.online)


def record_of(entry: NodeEntry) -> NodeRecord:
    """The persisted form of a node entry."""
    t = entry.tracker
    return NodeRecord(
        site=entry.site,
        node=entry.node,
        kind=entry.kind,
        firmware=entry.firmware,
        units=dict(entry.units),
        capabilities=entry.capabilities,
        birth_seen=entry.birth_seen,
        online=entry.online,
        offline_reason=entry.offline_reason,
        bd_seq=entry.bd_seq,
        last_seen_ms=entry.last_seen_ms,
        last_seq=t.high,
        gaps=tuple(t.gap_ranges),
        received=t.received,
        duplicates=t.duplicates,
        gaps_seen=t.gaps_seen,
        lost=t.lost,
        out_of_sync=t.out_of_sync,
        samples=entry.samples,
        stock_snapshot_seq=entry.stock_snapshot_seq,
    )


def _view(entry: NodeEntry, *, with_signals: bool) -> NodeView:
    t = entry.tracker
    signals: tuple[SignalValue, ...] = ()
    if with_signals:
        signals = tuple(
            SignalValue(
                name=name,
                unit=entry.units.get(name, ""),
                ts_ms=ts,
                value=value,
                stale=not entry.online,
            )
            for name, (ts, value) in sorted(entry.latest.items())
        )
    return NodeView(
        site=entry.site,
        node=entry.node,
        kind=entry.kind,
        firmware=entry.firmware,
        online=entry.online,
        offline_reason=entry.offline_reason,
        birth_seen=entry.birth_seen,
        out_of_sync=t.out_of_sync,
        last_seen_ms=entry.last_seen_ms,
        bd_seq=entry.bd_seq,
        last_seq=t.high if t.high >= 0 else None,
        counters=NodeCounters(
            received=t.received,
            duplicates=t.duplicates,
            gaps_seen=t.gaps_seen,
            lost=t.lost,
            missing=t.missing,
            samples=entry.samples,
        ),
        capabilities=entry.capabilities,
        signals=signals,
    )


__all__ = ["FleetTwin", "record_of"]
