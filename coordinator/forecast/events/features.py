"""Event features of announced live streams, per series and forecast step (pure numpy).

A step is an interval `[t, t + step)` (an hour, for the hourly forecast). For each series
(a SKU at a location) and step, `event_features` gives the columns of `EVENT_FEATURES`:

- `stream_on`: the share of the step during which a stream featuring the SKU is on;
- `featured`: 1 when the SKU is featured in an announced stream that has not ended;
- `hours_to_stream`: hours from the step's start to the start of the next stream
  featuring the SKU (0 while one is on; `MAX_HOURS_TO_STREAM` when there is none);
- `audience_units_h`: what that stream's announcement expects of this series per stream
  hour: its expected orders (else its expected audience × `orders_per_viewer`), split
  evenly over the stream's featured SKUs and the SKU's locations and spread over its hours;
- `uplift_sku`, `uplift_family`: the realised uplift of the SKU, and of its family, in past
  streams (sales during the stream ÷ the usual rate − 1; NaN when never measured).

The event head (`coordinator.forecast.events.head`) turns them into the uplift of the
forecast; a series no stream features gets the neutral row (no stream, no uplift).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

Float32Array = np.ndarray[tuple[int, ...], np.dtype[np.float32]]

EVENT_FEATURES: Final = (
    "stream_on",
    "featured",
    "hours_to_stream",
    "audience_units_h",
    "uplift_sku",
    "uplift_family",
)
STREAM_ON, FEATURED, HOURS_TO_STREAM, AUDIENCE_UNITS_H, UPLIFT_SKU, UPLIFT_FAMILY = range(6)
MAX_HOURS_TO_STREAM: Final = 72.0
HOUR_MS: Final = 3_600_000


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """What the forecast needs of one announced stream."""

    stream_id: str
    start_ms: int
    end_ms: int
    featured_skus: tuple[str, ...]
    expected_orders: float  # the announced orders, or audience × orders per viewer

    @property
    def hours(self) -> float:
        """The stream's length in hours."""
        return (self.end_ms - self.start_ms) / HOUR_MS


def neutral_rows(n_series: int, n_steps: int) -> Float32Array:
    """Event features of series no stream features: `[n_series, n_steps, 6]`."""
    rows = np.zeros((n_series, n_steps, len(EVENT_FEATURES)), np.float32)
    rows[:, :, HOURS_TO_STREAM] = MAX_HOURS_TO_STREAM
    rows[:, :, UPLIFT_SKU] = np.nan
    rows[:, :, UPLIFT_FAMILY] = np.nan
    return rows


def event_features(
    skus: Sequence[str],
    *,
    first_step_ms: int,
    n_steps: int,
    streams: Sequence[StreamEvent],
    uplift_sku: Mapping[str, float],
    uplift_family: Mapping[str, float],
    family_of: Mapping[str, str],
    step_ms: int = HOUR_MS,
) -> Float32Array:
    """The `[len(skus), n_steps, 6]` event features of the steps from `first_step_ms`.

    `skus[s]` is series s's SKU (a SKU at several locations appears once per location);
    streams that ended before the first step are ignored.
    """
    rows = neutral_rows(len(skus), n_steps)
    live = [e for e in streams if e.end_ms > first_step_ms and e.end_ms > e.start_ms]
    if not live:
        return rows
    series_of: dict[str, list[int]] = {}
    for s, sku in enumerate(skus):
        series_of.setdefault(sku, []).append(s)
    starts = first_step_ms + np.arange(n_steps, dtype=np.int64) * step_ms
    ends = starts + step_ms
    best_hours = np.full((len(skus), n_steps), np.inf)
    for event in sorted(live, key=lambda e: (e.start_ms, e.stream_id)):
        overlap = np.minimum(ends, event.end_ms) - np.maximum(starts, event.start_ms)
        on = np.clip(overlap / step_ms, 0.0, 1.0)
        to_start = np.where(
            starts < event.end_ms, np.maximum(event.start_ms - starts, 0) / HOUR_MS, np.inf
        )
        per_sku = event.expected_orders / max(len(event.featured_skus), 1)
        for sku in event.featured_skus:
            idx = series_of.get(sku)
            if not idx:
                continue
            units_h = per_sku / len(idx) / max(event.hours, 1e-9)
            block = rows[idx]
            block[:, :, STREAM_ON] = np.maximum(block[:, :, STREAM_ON], on)
            block[:, :, FEATURED] = 1.0
            best = best_hours[idx]
            soon = np.broadcast_to(to_start[None, :], best.shape)
            units = block[:, :, AUDIENCE_UNITS_H]
            block[:, :, AUDIENCE_UNITS_H] = np.where(
                soon < best,
                units_h,
                np.where((soon == best) & np.isfinite(soon), np.maximum(units, units_h), units),
            )
            best_hours[idx] = np.minimum(best, soon)
            rows[idx] = block
    hours = np.minimum(best_hours, MAX_HOURS_TO_STREAM)
    rows[:, :, HOURS_TO_STREAM] = hours
    for sku in {sku for e in live for sku in e.featured_skus}:
        idx = series_of.get(sku)
        if not idx:
            continue
        if sku in uplift_sku:
            rows[idx, :, UPLIFT_SKU] = uplift_sku[sku]
        family = family_of.get(sku)
        if family is not None and family in uplift_family:
            rows[idx, :, UPLIFT_FAMILY] = uplift_family[family]
    return rows


__all__ = [
    "AUDIENCE_UNITS_H",
    "EVENT_FEATURES",
    "FEATURED",
    "HOURS_TO_STREAM",
    "MAX_HOURS_TO_STREAM",
    "STREAM_ON",
    "UPLIFT_FAMILY",
    "UPLIFT_SKU",
    "Float32Array",
    "StreamEvent",
    "event_features",
    "neutral_rows",
]
