"""The forecast service the coordinator API and scheduler call.

`refresh(history)` forecasts every SKU × location in one batch and keeps the result;
`latest()`, `get()` and `to_json()` serve it (`/api/v1/forecasts`). `RefreshSchedule`
decides when the next scheduled refresh is due on any `Clock`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from coordinator.forecast.errors import DataError
from coordinator.forecast.model.csv_input import day_to_iso
from coordinator.forecast.model.history import split_series_id
from coordinator.forecast.model.panel import SeriesPanel
from coordinator.forecast.serving.ports import Forecaster
from fleet_runtime.clock import Clock, now_ms


@dataclass(frozen=True)
class Forecast:
    """One series' forecast, ready to serve as JSON."""

    unique_id: str
    sku: str
    location: str | None
    dates: tuple[str, ...]
    mean: tuple[float, ...]
    p10: tuple[float, ...]
    p50: tuple[float, ...]
    p90: tuple[float, ...]
    model_version: str
    method: str
    fallback: bool
    generated_at_ms: int
    reason: str = ""
    event_units: tuple[float, ...] = ()  # what announced streams add to each day (in mean)

    @property
    def horizon_days(self) -> int:
        """Days ahead covered."""
        return len(self.dates)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (lists of floats rounded to 4 decimals)."""
        return {
            "unique_id": self.unique_id,
            "sku": self.sku,
            "location": self.location,
            "horizon_days": self.horizon_days,
            "dates": list(self.dates),
            "mean": [round(v, 4) for v in self.mean],
            "quantiles": {
                "p10": [round(v, 4) for v in self.p10],
                "p50": [round(v, 4) for v in self.p50],
                "p90": [round(v, 4) for v in self.p90],
            },
            "model_version": self.model_version,
            "method": self.method,
            "fallback": self.fallback,
            "reason": self.reason,
            "generated_at_ms": self.generated_at_ms,
            "event_units": [round(v, 4) for v in self.event_units],
        }


class ForecastService:
    """Forecasts all series on demand and keeps the latest result."""

    def __init__(self, forecaster: Forecaster, *, clock: Clock, horizon_days: int = 28) -> None:
        if horizon_days < 1:
            raise DataError(f"horizon must be ≥ 1, got {horizon_days}")
        self._forecaster = forecaster
        self._clock = clock
        self.horizon_days = horizon_days
        self._lock = threading.Lock()
        self._latest: dict[str, Forecast] = {}

    def refresh(self, history: SeriesPanel) -> list[Forecast]:
        """Forecast every series of `history` in one batch and serve the result."""
        out = self.forecast(history)
        self.publish(out)
        return out

    def forecast(self, history: SeriesPanel) -> list[Forecast]:
        """Forecast every series of `history` in one batch (not served yet: `publish`)."""
        result = self._forecaster.forecast(history, horizon=self.horizon_days)
        stamp = now_ms(self._clock)
        out = []
        for s, uid in enumerate(result.ids):
            sku, location = split_series_id(uid)
            first = int(result.first_days[s])
            q = result.quantiles[s]
            out.append(
                Forecast(
                    unique_id=uid,
                    sku=sku,
                    location=location,
                    dates=tuple(day_to_iso(first + h) for h in range(result.horizon)),
                    mean=tuple(float(v) for v in result.mean[s]),
                    p10=tuple(float(v) for v in q[:, 0]),
                    p50=tuple(float(v) for v in q[:, 1]),
                    p90=tuple(float(v) for v in q[:, 2]),
                    model_version=result.model_version,
                    method=result.method[s],
                    fallback=result.fallback[s],
                    generated_at_ms=stamp,
                    reason=result.reason(s),
                )
            )
        return out

    def publish(self, forecasts: list[Forecast]) -> None:
        """Serve `forecasts` as the latest (the refresh's event step replaces its own)."""
        with self._lock:
            self._latest = {f.unique_id: f for f in forecasts}

    def latest(self) -> list[Forecast]:
        """The forecasts of the last refresh, sorted by series id."""
        with self._lock:
            return [self._latest[k] for k in sorted(self._latest)]

    def get(self, unique_id: str) -> Forecast | None:
        """One series' latest forecast, or None."""
        with self._lock:
            return self._latest.get(unique_id)

    def to_json(self) -> dict[str, Any]:
        """The latest forecasts as one JSON-able document."""
        items = self.latest()
        return {
            "horizon_days": self.horizon_days,
            "quantile_levels": [0.1, 0.5, 0.9],
            "count": len(items),
            "forecasts": [f.to_json() for f in items],
        }


class RefreshSchedule:
    """When to refresh: every `interval_s` on the clock's monotonic time, or on request."""

    def __init__(self, *, clock: Clock, interval_s: float) -> None:
        if interval_s <= 0:
            raise DataError(f"interval must be > 0 s, got {interval_s}")
        self._clock = clock
        self.interval_s = interval_s
        self._last: float | None = None
        self._requested = False

    def request(self) -> None:
        """Ask for a refresh at the next check (on-demand refresh)."""
        self._requested = True

    def due(self) -> bool:
        """True when a refresh was requested or the interval has passed since the last."""
        if self._requested or self._last is None:
            return True
        return self._clock.monotonic() - self._last >= self.interval_s

    def mark_done(self) -> None:
        """Record that a refresh just happened."""
        self._last = self._clock.monotonic()
        self._requested = False
