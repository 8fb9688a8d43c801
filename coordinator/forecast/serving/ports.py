"""The `Forecaster` port and its in-memory double.

The service and the scheduler depend on this small protocol only; production passes an
`OnnxForecaster` (see `model_store`), tests pass `InMemoryForecaster`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from coordinator.forecast.errors import DataError
from coordinator.forecast.model.baselines import QUANTILES
from coordinator.forecast.model.panel import SeriesPanel
from coordinator.forecast.serving.predictor import PanelForecast


class Forecaster(Protocol):
    """Anything that turns a panel of daily histories into quantile forecasts."""

    @property
    def model_version(self) -> str:
        """Version of the model currently used."""
        ...

    def forecast(self, panel: SeriesPanel, *, horizon: int) -> PanelForecast:
        """Forecast `horizon` days after each series' last day."""
        ...


class InMemoryForecaster:
    """A deterministic double: the last-7-day mean, with P10/P90 at ±`spread` of it.

    Records every panel it was asked about in `calls`, so tests can check what the
    service fed it.
    """

    def __init__(self, *, version: str = "in-memory", spread: float = 0.5) -> None:
        self._version = version
        self.spread = spread
        self.calls: list[tuple[SeriesPanel, int]] = []

    @property
    def model_version(self) -> str:
        """The fixed version string given at construction."""
        return self._version

    def forecast(self, panel: SeriesPanel, *, horizon: int) -> PanelForecast:
        """Flat forecasts from the mean of each series' last 7 observed days."""
        if horizon < 1:
            raise DataError(f"horizon must be ≥ 1, got {horizon}")
        self.calls.append((panel, horizon))
        last = panel.y[:, -7:]
        level = np.where(np.isfinite(last).any(axis=1), np.nanmean(np.nan_to_num(last), axis=1), 0)
        mean = np.repeat(level[:, None], horizon, axis=1)
        factors = np.array([1 - self.spread, 1.0, 1 + self.spread])
        quantiles = np.maximum(mean[:, :, None] * factors[None, None, :], 0.0)
        return PanelForecast(
            ids=panel.ids,
            first_days=(panel.end_days + 1).astype(np.int64),
            mean=mean,
            quantiles=quantiles,
            method=(self._version,) * panel.n_series,
            fallback=(False,) * panel.n_series,
            model_version=self._version,
            levels=QUANTILES,
        )
