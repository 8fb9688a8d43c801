"""Bodies of the node routes (`coordinator.api.routes.nodes`): nodes, their latest values,
their ingest counters and a signal's stored telemetry."""

from __future__ import annotations

from pydantic import BaseModel, Field

from coordinator.fleet.views import NodeView, SignalValue
from coordinator.store.port import TelemetrySeries


class CountersOut(BaseModel):
    """Per-node ingest counters."""

    received: int
    duplicates: int
    gaps_seen: int
    lost: int
    missing: int
    samples: int


class SignalOut(BaseModel):
    """Latest value of one signal; `stale` when the node is offline."""

    name: str
    unit: str
    ts_ms: int
    value: float
    stale: bool


class NodeOut(BaseModel):
    """A node as listed."""

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
    counters: CountersOut

    @classmethod
    def of(cls, v: NodeView) -> NodeOut:
        """From a twin view."""
        return cls(**_node_fields(v))


class NodeDetailOut(NodeOut):
    """A node with its capabilities and latest signal values."""

    capabilities: list[str]
    signals: list[SignalOut]

    @classmethod
    def of(cls, v: NodeView) -> NodeDetailOut:
        """From a twin view (with signals)."""
        return cls(
            **_node_fields(v),
            capabilities=list(v.capabilities),
            signals=[_signal(s) for s in v.signals],
        )


class PointOut(BaseModel):
    """A raw sample (min = max = value, count 1) or a 1-minute rollup (value = mean)."""

    ts_ms: int
    value: float
    min: float
    max: float
    count: int


class TelemetryOut(BaseModel):
    """Points of one signal between start_ms and end_ms."""

    site: str
    node: str
    signal: str
    resolution: str = Field(description="raw or 1m")
    start_ms: int
    end_ms: int
    truncated: bool
    points: list[PointOut]

    @classmethod
    def of(cls, t: TelemetrySeries) -> TelemetryOut:
        """From a store result."""
        return cls(
            site=t.site,
            node=t.node,
            signal=t.signal,
            resolution=t.resolution,
            start_ms=t.start_ms,
            end_ms=t.end_ms,
            truncated=t.truncated,
            points=[
                PointOut(ts_ms=p.ts_ms, value=p.value, min=p.min, max=p.max, count=p.count)
                for p in t.points
            ],
        )


def _signal(s: SignalValue) -> SignalOut:
    return SignalOut(name=s.name, unit=s.unit, ts_ms=s.ts_ms, value=s.value, stale=s.stale)


def _node_fields(v: NodeView) -> dict[str, object]:
    c = v.counters
    return {
        "site": v.site,
        "node": v.node,
        "kind": v.kind,
        "firmware": v.firmware,
        "online": v.online,
        "offline_reason": v.offline_reason,
        "birth_seen": v.birth_seen,
        "out_of_sync": v.out_of_sync,
        "last_seen_ms": v.last_seen_ms,
        "bd_seq": v.bd_seq,
        "last_seq": v.last_seq,
        "counters": CountersOut(
            received=c.received,
            duplicates=c.duplicates,
            gaps_seen=c.gaps_seen,
            lost=c.lost,
            missing=c.missing,
            samples=c.samples,
        ),
    }


__all__ = [
    "CountersOut",
    "NodeDetailOut",
    "NodeOut",
    "PointOut",
    "SignalOut",
    "TelemetryOut",
]
