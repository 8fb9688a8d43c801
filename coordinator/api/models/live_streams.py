"""Bodies of the live-stream routes (`coordinator.api.routes.live_streams`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from coordinator.stock.live_streams import MAX_DURATION_S, MAX_FEATURED_SKUS, LiveStream
from coordinator.stock.stream_uplift import RealisedUplift
from protocol.topics import ID_PATTERN, NAME_PATTERN

Sku = Annotated[str, Field(pattern=NAME_PATTERN)]


class LiveStreamIn(BaseModel):
    """An announced live stream."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN, max_length=64)
    start: AwareDatetime = Field(description="When it starts (ISO 8601 with a time zone)")
    duration_s: int = Field(gt=0, le=MAX_DURATION_S, description="At most 24 h")
    channel: str = Field(pattern=ID_PATTERN, max_length=64)
    featured_skus: list[Sku] = Field(min_length=1, max_length=MAX_FEATURED_SKUS)
    expected_audience: int | None = Field(default=None, ge=0, le=10**10)
    expected_orders: int | None = Field(default=None, ge=0, le=10**9)

    def to_stream(self) -> LiveStream:
        """The domain form."""
        return LiveStream(
            id=self.id,
            start_ms=int(self.start.timestamp() * 1000),
            duration_s=self.duration_s,
            channel=self.channel,
            featured_skus=tuple(self.featured_skus),
            expected_audience=self.expected_audience,
            expected_orders=self.expected_orders,
        )


class SkuUpliftOut(BaseModel):
    """What a past stream sold of one featured SKU against its usual rate."""

    sku: str
    units: float = Field(description="sold at every warehouse while on air")
    baseline_units: float = Field(description="what the usual rate sells in as many hours")
    uplift: float | None = Field(
        description="units ÷ baseline_units − 1; null without sales before"
    )
    pre_units: float = Field(description="sold in the hours before the stream")
    pre_baseline_units: float
    pre_uplift: float | None


class RealisedUpliftOut(BaseModel):
    """A past stream's realised uplift, measured once after it ended."""

    on_air_start_ms: int
    on_air_end_ms: int
    on_air_source: Literal["live_stream flag", "announced"]
    measured_ms: int
    skus: list[SkuUpliftOut]

    @classmethod
    def of(cls, m: RealisedUplift) -> RealisedUpliftOut:
        """From the meter's measurement."""
        return cls(
            on_air_start_ms=m.on_air_start_ms,
            on_air_end_ms=m.on_air_end_ms,
            on_air_source=m.on_air_source,
            measured_ms=m.measured_ms,
            skus=[
                SkuUpliftOut(
                    sku=s.sku,
                    units=s.units,
                    baseline_units=round(s.baseline_units, 4),
                    uplift=None if s.uplift is None else round(s.uplift, 4),
                    pre_units=s.pre_units,
                    pre_baseline_units=round(s.pre_baseline_units, 4),
                    pre_uplift=None if s.pre_uplift is None else round(s.pre_uplift, 4),
                )
                for s in m.skus
            ],
        )


class LiveStreamOut(BaseModel):
    """A stored live stream."""

    id: str
    start: datetime
    start_ms: int
    duration_s: int
    channel: str
    featured_skus: list[str]
    expected_audience: int | None
    expected_orders: int | None
    status: Literal["announced", "live", "ended"]
    created_ms: int
    updated_ms: int
    outcome: Literal["created", "unchanged", "updated"] | None = Field(
        default=None, description="On POST: what the post did"
    )
    realised: RealisedUpliftOut | None = Field(
        default=None,
        description="On GET of one stream, once it has ended and been measured: its uplift",
    )


class LiveStreamListOut(BaseModel):
    """Live streams by start time."""

    count: int
    streams: list[LiveStreamOut]


__all__ = [
    "LiveStreamIn",
    "LiveStreamListOut",
    "LiveStreamOut",
    "RealisedUpliftOut",
    "SkuUpliftOut",
]
