"""Response bodies of the coordinator core's HTTP API."""

from __future__ import annotations

import base64
from typing import Any, Literal

from pydantic import BaseModel, Field

from coordinator.fleet.views import NodeView, SignalValue, StockItem
from coordinator.forecast.model.baselines import QUANTILES
from coordinator.forecast.serving.service import Forecast
from coordinator.store.port import DeadLetterRow, TelemetrySeries


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


class StockOut(BaseModel):
    """Stock of one SKU at one micro-warehouse."""

    site: str
    node: str
    sku: str
    qty: int

    @classmethod
    def of(cls, s: StockItem) -> StockOut:
        """From a twin view."""
        return cls(site=s.site, node=s.node, sku=s.sku, qty=s.qty)


class StockCoverOut(BaseModel):
    """How long one SKU's stock at one micro-warehouse lasts against its forecast."""

    sku: str
    location: str = Field(description="The micro-warehouse, `site/node`")
    stock: int
    horizon_days: int = Field(description="Days the forecast covers, from tomorrow")
    expected_days: int | None = Field(
        description="First day the mean demand from tomorrow exceeds the stock (None: not"
        " within the horizon)"
    )
    p90_days: int | None = Field(
        description="First day the P90 of the demand from tomorrow exceeds the stock"
    )
    at_risk: bool = Field(description="p90_days within the replenishment lead time")
    order_up_to: int = Field(description="P90 demand over lead time plus review period")
    proposed: int = Field(description="Units to replenish now to reach order_up_to")
    method: str = Field(description="What made the forecast (model version or baseline)")


class StockCoverListOut(BaseModel):
    """Stock cover of every SKU that has both a forecast and a stock level."""

    lead_time_days: float
    review_days: float
    checked_ms: int | None = Field(description="When the covers were last computed")
    count: int
    covers: list[StockCoverOut]


class DeadLetterOut(BaseModel):
    """A message that failed decoding."""

    id: int
    received_ms: int
    topic: str
    reason: str
    error: str
    payload_size: int
    payload_prefix: str = Field(description="the first bytes, as text (undecodable bytes escaped)")
    payload_prefix_base64: str

    @classmethod
    def of(cls, d: DeadLetterRow) -> DeadLetterOut:
        """From a store row."""
        return cls(
            id=d.id,
            received_ms=d.received_ms,
            topic=d.topic,
            reason=d.reason,
            error=d.error,
            payload_size=d.payload_size,
            payload_prefix=d.payload_prefix.decode("utf-8", "backslashreplace"),
            payload_prefix_base64=base64.b64encode(d.payload_prefix).decode(),
        )


class DeadLetterPage(BaseModel):
    """One page of dead letters, newest first, and how many are stored."""

    total: int
    items: list[DeadLetterOut]


class HealthOut(BaseModel):
    """Liveness of the service's parts."""

    status: str
    broker_connected: bool
    broker_error: str = Field(
        default="",
        description="Why the broker connection last failed (refused login, TLS, unreachable); "
        "empty while connected",
    )
    ingest_running: bool
    queue_depth: int
    nodes_online: int
    last_error: str


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


class QuantilesOut(BaseModel):
    """Daily P10 / P50 / P90 of demand, one value per forecast day."""

    p10: list[float]
    p50: list[float]
    p90: list[float]


class ForecastOut(BaseModel):
    """One SKU × location's forecast.

    `method` is the model version, or the baseline's name when `fallback` is true;
    `reason` then says why (too little history, or no model loaded).
    """

    sku: str
    location: str | None
    horizon_days: int
    dates: list[str]
    mean: list[float]
    quantiles: QuantilesOut
    model_version: str
    method: str
    fallback: bool
    reason: str
    generated_at_ms: int

    @classmethod
    def of(cls, f: Forecast) -> ForecastOut:
        """From a stored forecast (values rounded to 4 decimals)."""
        doc = f.to_json()
        doc.pop("unique_id")
        return cls(**doc)


class ForecastStatusOut(BaseModel):
    """What the forecasts come from and how the last refresh went."""

    source: Literal["model", "baselines"]
    model_version: str
    model_dir: str | None
    model_error: str | None = Field(description="why the newest model was refused, if it was")
    horizon_days: int
    refresh_interval_s: float
    last_refresh_ms: int | None
    last_refresh_error: str | None
    series: int


class ForecastListOut(BaseModel):
    """Stored forecasts with the serving status."""

    status: ForecastStatusOut
    quantile_levels: list[float]
    count: int
    forecasts: list[ForecastOut]

    @classmethod
    def of(cls, status: dict[str, Any], forecasts: list[Forecast]) -> ForecastListOut:
        """From the job's status and stored forecasts."""
        return cls(
            status=ForecastStatusOut(**status),
            quantile_levels=list(QUANTILES),
            count=len(forecasts),
            forecasts=[ForecastOut.of(f) for f in forecasts],
        )


class ForecastRefreshOut(BaseModel):
    """The outcome of an on-demand refresh."""

    status: ForecastStatusOut
    count: int


__all__ = [
    "CountersOut",
    "DeadLetterOut",
    "DeadLetterPage",
    "ForecastListOut",
    "ForecastOut",
    "ForecastRefreshOut",
    "ForecastStatusOut",
    "HealthOut",
    "NodeDetailOut",
    "NodeOut",
    "PointOut",
    "QuantilesOut",
    "SignalOut",
    "StockOut",
    "TelemetryOut",
]
