"""A past stream's realised uplift, and the past uplifts the forecast reads (pure).

When did the stream really run? The warehouses' `live_stream` flag says: the first to
the last sample with the flag on between an hour before the announced start and an hour
after the announced end. Without flag samples in that span, the announced times count.

For each featured SKU, over all warehouses:

    usual rate   = units sold in the `baseline_days` whole days before the stream's day
                   ÷ (baseline_days × 24)                                   (per hour)
    uplift       = units sold while on air ÷ (usual rate × hours on air) − 1
    pre-uplift   = units sold in the `pre_hours` before it ÷ (usual rate × pre_hours) − 1

Both are None when the SKU sold nothing in the baseline days (no rate to compare with).

`past_uplifts` gives the forecast's `uplift_sku` (the mean of a SKU's last `last`
uplifts), `uplift_family` (the median over a family's SKUs of theirs) and the event
head's `pre_uplift` (the median of the pre-uplifts measured, 0 when none).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from coordinator.stock.live_streams import LiveStream

HOUR_MS: Final = 3_600_000
DAY_MS: Final = 24 * HOUR_MS
FLAG_MARGIN_MS: Final = HOUR_MS
OnAirSource = Literal["live_stream flag", "announced"]


@dataclass(frozen=True, slots=True)
class SkuUplift:
    """One featured SKU's sales in a past stream against its usual rate."""

    sku: str
    units: float
    baseline_units: float
    uplift: float | None
    pre_units: float
    pre_baseline_units: float
    pre_uplift: float | None


@dataclass(frozen=True, slots=True)
class RealisedUplift:
    """What a past stream sold of each featured SKU, measured once after it ended."""

    stream_id: str
    on_air_start_ms: int
    on_air_end_ms: int
    on_air_source: OnAirSource
    skus: tuple[SkuUplift, ...]
    measured_ms: int


def on_air(stream: LiveStream, flag: Sequence[tuple[int, float]]) -> tuple[int, int, OnAirSource]:
    """When the stream ran: from the `live_stream` flag samples `(ts_ms, value)` near its
    announced times, else the announced times (see the module)."""
    lo, hi = stream.start_ms - FLAG_MARGIN_MS, stream.end_ms + FLAG_MARGIN_MS
    near = [(t, v) for t, v in flag if lo <= t <= hi]
    on = [t for t, v in near if v >= 0.5]
    if len(on) >= 2:
        return min(on), max(on), "live_stream flag"
    return stream.start_ms, stream.end_ms, "announced"


def ratio_uplift(units: float, expected: float) -> float | None:
    """units ÷ expected − 1, None without an expectation."""
    return None if expected <= 0 else units / expected - 1.0


def measure(
    stream: LiveStream,
    *,
    window: tuple[int, int, OnAirSource],
    units: Mapping[str, float],
    pre_units: Mapping[str, float],
    baseline_units: Mapping[str, float],
    baseline_days: int,
    pre_hours: float,
    measured_ms: int,
) -> RealisedUplift:
    """The stream's realised uplift per featured SKU from its sales (see the module)."""
    start, end, source = window
    hours = max(end - start, 0) / HOUR_MS
    skus = []
    for sku in stream.featured_skus:
        rate = baseline_units.get(sku, 0.0) / (baseline_days * 24)
        during, before = units.get(sku, 0.0), pre_units.get(sku, 0.0)
        skus.append(
            SkuUplift(
                sku=sku,
                units=during,
                baseline_units=rate * hours,
                uplift=ratio_uplift(during, rate * hours),
                pre_units=before,
                pre_baseline_units=rate * pre_hours,
                pre_uplift=ratio_uplift(before, rate * pre_hours),
            )
        )
    return RealisedUplift(stream.id, start, end, source, tuple(skus), measured_ms)


@dataclass(frozen=True, slots=True)
class PastUplifts:
    """What the forecast reads of past streams."""

    sku: Mapping[str, float]
    family: Mapping[str, float]
    pre_uplift: float


def past_uplifts(
    measured: Sequence[RealisedUplift], family_of: Mapping[str, str], *, last: int = 5
) -> PastUplifts:
    """Per SKU, per family and before streams, from the measurements (newest first)."""
    by_sku: dict[str, list[float]] = {}
    pre: list[float] = []
    for m in measured:
        for s in m.skus:
            if s.uplift is not None and len(by_sku.setdefault(s.sku, [])) < last:
                by_sku[s.sku].append(s.uplift)
            if s.pre_uplift is not None:
                pre.append(s.pre_uplift)
    sku = {k: statistics.fmean(v) for k, v in by_sku.items() if v}
    families: dict[str, list[float]] = {}
    for k, v in sku.items():
        if k in family_of:
            families.setdefault(family_of[k], []).append(v)
    family = {f: statistics.median(v) for f, v in families.items()}
    pre_uplift = min(max(statistics.median(pre), -1.0), 100.0) if pre else 0.0
    return PastUplifts(sku, family, pre_uplift)


__all__ = [
    "OnAirSource",
    "PastUplifts",
    "RealisedUplift",
    "SkuUplift",
    "measure",
    "on_air",
    "past_uplifts",
    "ratio_uplift",
]
