"""Frozen, read-only views of the fleet twin, as the API and metrics see it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NodeCounters:
    """Per-node ingest counters."""

    received: int
    duplicates: int
    gaps_seen: int
    lost: int
    missing: int
    samples: int


@dataclass(frozen=True, slots=True)
class SignalValue:
    """The latest value of one signal; `stale` when its node is offline."""

    name: str
    unit: str
    ts_ms: int
    value: float
    stale: bool


@dataclass(frozen=True, slots=True)
class NodeView:
    """One node: identity, liveness, session, seq position and counters."""

    site: str
    node: str
    kind: str
    firmware: str
    online: bool
    offline_reason: str
    birth_seen: bool
    out_of_sync: bool
    last_seen_ms: int | None
    bd_seq: int | None
    last_seq: int | None
    counters: NodeCounters
    capabilities: tuple[str, ...] = ()
    signals: tuple[SignalValue, ...] = ()


@dataclass(frozen=True, slots=True)
class StockItem:
    """Stock of one SKU in one micro-warehouse."""

    site: str
    node: str
    sku: str
    qty: int


__all__ = ["NodeCounters", "NodeView", "SignalValue", "StockItem"]
