"""The refresh's event step: the daily forecasts plus announced streams → hourly forecasts
for the next 72 h and event-aware daily ones (`coordinator.forecast.events.hourly`).

`apply_events` also says what the model expects each stream to sell of each featured SKU
(`StreamUnits`), the figure the stock plan pre-positions for: the event units of the
hours the stream is on, summed over the SKU's locations (hours two streams of one SKU
share count for both).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from coordinator.forecast.events.features import HOUR_MS, StreamEvent
from coordinator.forecast.events.hourly import (
    DAY_MS,
    DailyInput,
    EventContext,
    EventHeadRunner,
    event_forecast,
    hour_shares,
)
from coordinator.forecast.model.csv_input import parse_date
from coordinator.forecast.serving.service import Forecast

StreamUnits = dict[tuple[str, str], float]  # (stream id, SKU) -> units the model expects


@dataclass(frozen=True)
class HourlyForecast:
    """One series' hourly forecast from `first_hour_ms`, one value per hour."""

    unique_id: str
    sku: str
    location: str | None
    first_hour_ms: int
    mean: tuple[float, ...]
    p10: tuple[float, ...]
    p50: tuple[float, ...]
    p90: tuple[float, ...]
    event_units: tuple[float, ...]
    generated_at_ms: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (values rounded to 4 decimals)."""

        def r(values: tuple[float, ...]) -> list[float]:
            return [round(v, 4) for v in values]

        return {
            "unique_id": self.unique_id,
            "sku": self.sku,
            "location": self.location,
            "first_hour_ms": self.first_hour_ms,
            "hours": len(self.mean),
            "mean": r(self.mean),
            "quantiles": {"p10": r(self.p10), "p50": r(self.p50), "p90": r(self.p90)},
            "event_units": r(self.event_units),
            "generated_at_ms": self.generated_at_ms,
        }


@dataclass(frozen=True)
class EventStep:
    """What the event step made of one refresh."""

    daily: list[Forecast]
    hourly: list[HourlyForecast]
    stream_units: StreamUnits
    streams: tuple[StreamEvent, ...]


def _tuple(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def apply_events(
    forecasts: Sequence[Forecast],
    *,
    now_ms: int,
    runner: EventHeadRunner,
    context: EventContext,
    stamp_ms: int,
) -> EventStep:
    """Hourly and event-aware daily forecasts of every series (see the module)."""
    usable = [f for f in forecasts if f.horizon_days > 0]
    horizon = max((f.horizon_days for f in usable), default=0)
    usable = [f for f in usable if f.horizon_days == horizon]
    if not usable:
        return EventStep(list(forecasts), [], {}, tuple(context.streams))
    daily = DailyInput(
        skus=tuple(f.sku for f in usable),
        first_days=np.array([parse_date(f.dates[0]) for f in usable], dtype=np.int64),
        mean=np.array([f.mean for f in usable], dtype=np.float64),
        quantiles=np.stack(
            [
                np.array([f.p10 for f in usable]),
                np.array([f.p50 for f in usable]),
                np.array([f.p90 for f in usable]),
            ],
            axis=2,
        ).astype(np.float64),
    )
    shares = None
    if context.hour_profiles:
        shares = hour_shares([f.location for f in usable], context.hour_profiles)
    out = event_forecast(daily, now_ms=now_ms, runner=runner, context=context, hour_share=shares)
    changed = {f.unique_id: s for s, f in enumerate(usable)}
    new_daily = []
    for f in forecasts:
        s = changed.get(f.unique_id)
        if s is None or not out.daily_event_units[s].any():
            new_daily.append(f)
            continue
        q = out.daily_quantiles[s]
        new_daily.append(
            replace(
                f,
                mean=_tuple(out.daily_mean[s]),
                p10=_tuple(q[:, 0]),
                p50=_tuple(q[:, 1]),
                p90=_tuple(q[:, 2]),
                event_units=_tuple(out.daily_event_units[s]),
            )
        )
    hourly = [
        HourlyForecast(
            unique_id=f.unique_id,
            sku=f.sku,
            location=f.location,
            first_hour_ms=out.first_hour_ms,
            mean=_tuple(out.hourly_mean[s]),
            p10=_tuple(out.hourly_quantiles[s, :, 0]),
            p50=_tuple(out.hourly_quantiles[s, :, 1]),
            p90=_tuple(out.hourly_quantiles[s, :, 2]),
            event_units=_tuple(out.hourly_event_units[s]),
            generated_at_ms=stamp_ms,
        )
        for s, f in enumerate(usable)
    ]
    return EventStep(
        new_daily,
        hourly,
        _stream_units(usable, out.first_hour_ms, out.hourly_event_units, context.streams),
        tuple(context.streams),
    )


def _stream_units(
    forecasts: Sequence[Forecast],
    first_hour_ms: int,
    units: np.ndarray,
    streams: Sequence[StreamEvent],
) -> StreamUnits:
    hours = units.shape[1]
    starts = first_hour_ms + np.arange(hours, dtype=np.int64) * HOUR_MS
    rows_of: dict[str, list[int]] = {}
    for s, f in enumerate(forecasts):
        rows_of.setdefault(f.sku, []).append(s)
    out: StreamUnits = {}
    for event in streams:
        on = (starts + HOUR_MS > event.start_ms) & (starts < event.end_ms)
        if not on.any():
            continue
        for sku in event.featured_skus:
            rows = rows_of.get(sku)
            if rows:
                out[event.stream_id, sku] = float(units[np.asarray(rows)][:, on].sum())
    return out


__all__ = ["DAY_MS", "EventStep", "HourlyForecast", "StreamUnits", "apply_events"]
