"""Hourly and event-aware daily forecasts from the daily forecast and the announced streams.

Pure apart from the `EventHeadRunner` it is given (onnxruntime's `EventHeadModel` in
production, `NumpyEventHead` where a test wants the reference).

1. **Hourly base.** Each hour of the next `hours` (from the start of the next hour) takes
   its day's daily forecast (the first forecast day for what is left of today) times the
   series' share of the day's sales in that hour of the day (`hour_share`, UTC; flat when
   unknown). Its P10/P50/P90 read the day's dispersion φ = max(σ²/mean, 1) from the daily
   P10–P90 range and give the hour σ = √(φ · mean), as counts of a process with that
   dispersion would.
2. **Events.** The event head (`coordinator.forecast.events.head`) adds what the streams
   featuring each SKU will sell, hour by hour.
3. **Daily.** Every day of the daily horizon gets the sum of its hours' event units and
   their variance, from the head run over all the hours of the horizon for the series
   a stream features (the others keep their daily forecast as it is).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

import numpy as np

from coordinator.forecast.events.features import HOUR_MS, StreamEvent, event_features
from coordinator.forecast.events.head import Z90, EventHeadParams, apply_event_head
from coordinator.forecast.model.panel import FloatArray, IntArray

DAY_MS: Final = 24 * HOUR_MS
HOURLY_STEPS: Final = 72
_Z: Final = np.array([-Z90, 0.0, Z90])


class EventHeadRunner(Protocol):
    """A loaded event head: `run(base, events, params) -> [n, 6]`."""

    def run(self, base: np.ndarray, events: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Head rows for a batch."""
        ...


class NumpyEventHead:
    """The event head's numpy reference as a runner (tests, tools)."""

    def run(self, base: np.ndarray, events: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Head rows through `apply_event_head`."""
        p = EventHeadParams(*(float(v) for v in np.asarray(params).ravel()))
        return apply_event_head(base, events, p)


@dataclass(frozen=True)
class DailyInput:
    """The daily forecast of each series: `mean` `[n, h]`, `quantiles` `[n, h, 3]`."""

    skus: tuple[str, ...]
    first_days: IntArray
    mean: FloatArray
    quantiles: FloatArray


def hour_shares(
    locations: Sequence[str | None], profiles: Mapping[str, Sequence[float]], *, prior: float = 24.0
) -> FloatArray:
    """Each series' share of a day's sales per UTC hour `[n, 24]`: its location's units
    picked per hour of the day (`profiles`), with `prior` units spread evenly added, so a
    location with little history stays near flat and one without any is flat."""
    out = np.full((len(locations), 24), 1 / 24)
    for s, location in enumerate(locations):
        counts = None if location is None else profiles.get(location)
        if counts is not None and len(counts) == 24:
            c = np.maximum(np.asarray(counts, dtype=np.float64), 0.0) + prior / 24
            out[s] = c / c.sum()
    return out


@dataclass(frozen=True)
class EventContext:
    """What the head needs besides the forecast: streams, past uplifts, families, and the
    hourly sales profile per location (24 counts; flat where missing)."""

    streams: Sequence[StreamEvent] = ()
    uplift_sku: Mapping[str, float] | None = None
    uplift_family: Mapping[str, float] | None = None
    family_of: Mapping[str, str] | None = None
    params: EventHeadParams = field(default_factory=EventHeadParams)
    hour_profiles: Mapping[str, Sequence[float]] | None = None


@dataclass(frozen=True)
class EventForecast:
    """Hourly forecasts (`[n, hours]`, quantiles `[n, hours, 3]`, from `first_hour_ms`) and
    the event-aware daily ones (`[n, h]`); `*_event_units` is what the streams add."""

    first_hour_ms: int
    hourly_mean: FloatArray
    hourly_quantiles: FloatArray
    hourly_event_units: FloatArray
    daily_mean: FloatArray
    daily_quantiles: FloatArray
    daily_event_units: FloatArray


def hourly_base(
    daily: DailyInput, *, first_hour_ms: int, hours: int, hour_share: FloatArray | None
) -> FloatArray:
    """The no-stream hourly forecast `[n, hours, 4]` (mean, P10, P50, P90); see step 1."""
    n, horizon = daily.mean.shape
    starts = first_hour_ms + np.arange(hours, dtype=np.int64) * HOUR_MS
    day_index = starts[None, :] // DAY_MS - daily.first_days.astype(np.int64)[:, None]
    day_index = np.clip(day_index, 0, horizon - 1)
    rows = np.arange(n)[:, None]
    mean_d = np.maximum(daily.mean, 0.0)
    sigma_d = np.maximum(daily.quantiles[:, :, 2] - daily.quantiles[:, :, 0], 0.0) / (2 * Z90)
    phi_d = np.maximum(sigma_d**2 / np.maximum(mean_d, 1e-6), 1.0)
    hour_of_day = (starts // HOUR_MS) % 24
    share = (
        np.full((n, 24), 1 / 24) if hour_share is None else np.asarray(hour_share, dtype=np.float64)
    )
    mean_h = mean_d[rows, day_index] * share[:, hour_of_day]
    sigma_h = np.sqrt(phi_d[rows, day_index] * mean_h)
    out = np.empty((n, hours, 4))
    out[:, :, 0] = mean_h
    out[:, :, 1:4] = np.maximum(mean_h[:, :, None] + _Z * sigma_h[:, :, None], 0.0)
    return out


def _run_head(
    runner: EventHeadRunner, base: np.ndarray, events: np.ndarray, params: EventHeadParams
) -> FloatArray:
    n, steps = base.shape[:2]
    out = runner.run(base.reshape(n * steps, 4), events.reshape(n * steps, -1), params.as_row())
    return np.asarray(out, dtype=np.float64).reshape(n, steps, -1)


def event_forecast(
    daily: DailyInput,
    *,
    now_ms: int,
    runner: EventHeadRunner,
    context: EventContext,
    hour_share: FloatArray | None = None,
    hours: int = HOURLY_STEPS,
) -> EventForecast:
    """Hourly forecasts for the next `hours` and event-aware daily ones (see the module)."""
    first_hour = (now_ms // HOUR_MS + 1) * HOUR_MS

    def features(skus: tuple[str, ...], first_ms: int, steps: int) -> np.ndarray:
        return event_features(
            skus,
            first_step_ms=first_ms,
            n_steps=steps,
            streams=context.streams,
            uplift_sku=context.uplift_sku or {},
            uplift_family=context.uplift_family or {},
            family_of=context.family_of or {},
        )

    base = hourly_base(daily, first_hour_ms=first_hour, hours=hours, hour_share=hour_share)
    events = features(daily.skus, first_hour, hours)
    head = _run_head(runner, base, events, context.params)
    n, horizon = daily.mean.shape
    daily_mean = daily.mean.astype(np.float64).copy()
    daily_q = daily.quantiles.astype(np.float64).copy()
    daily_units = np.zeros((n, horizon))
    featured = {sku for e in context.streams for sku in e.featured_skus}
    picked = np.array([s for s, sku in enumerate(daily.skus) if sku in featured], dtype=np.int64)
    day0 = daily.first_days.astype(np.int64)
    for first in sorted({int(d) for d in day0[picked]}):
        group = picked[day0[picked] == first]
        sub = DailyInput(
            tuple(daily.skus[s] for s in group),
            day0[group],
            daily.mean[group],
            daily.quantiles[group],
        )
        start = first * DAY_MS
        all_hours = horizon * 24
        shares = None if hour_share is None else np.asarray(hour_share)[group]
        sub_base = hourly_base(sub, first_hour_ms=start, hours=all_hours, hour_share=shares)
        sub_events = features(sub.skus, start, all_hours)
        sub_head = _run_head(runner, sub_base, sub_events, context.params)
        units = sub_head[:, :, 4].reshape(len(group), horizon, 24).sum(axis=2)
        var = sub_head[:, :, 5].reshape(len(group), horizon, 24).sum(axis=2)
        q = daily_q[group]
        sigma = np.maximum(q[:, :, 2] - q[:, :, 0], 0.0) / (2 * Z90)
        widen = np.sqrt(sigma**2 + var) - sigma
        daily_q[group] = np.maximum(q + units[:, :, None] + _Z * widen[:, :, None], 0.0)
        daily_mean[group] = np.maximum(daily_mean[group] + units, 0.0)
        daily_units[group] = units
    return EventForecast(
        first_hour_ms=first_hour,
        hourly_mean=head[:, :, 0],
        hourly_quantiles=head[:, :, 1:4],
        hourly_event_units=head[:, :, 4],
        daily_mean=daily_mean,
        daily_quantiles=daily_q,
        daily_event_units=daily_units,
    )


__all__ = [
    "DAY_MS",
    "HOURLY_STEPS",
    "DailyInput",
    "EventContext",
    "EventForecast",
    "EventHeadRunner",
    "NumpyEventHead",
    "event_forecast",
    "hour_shares",
    "hourly_base",
]
