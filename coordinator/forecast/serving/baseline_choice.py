"""The forecaster used when no model is loaded: the best baseline per series.

Each series is forecast by the baseline (`baselines.BASELINES`) with the lowest squared
error on its own last `horizon` days, fitted on the days before them — the per-series
version of how `train_with_holdout` picks a model's fallback. A series too short for
that holdout gets MA28 (the mean of the days it has). Every forecast is flagged
`fallback` with the baseline's name as its method and a reason saying why.
"""

from __future__ import annotations

import numpy as np

from coordinator.forecast.errors import DataError
from coordinator.forecast.model.baselines import (
    BASELINES,
    QUANTILES,
    BaselineForecast,
    baseline_quantiles,
)
from coordinator.forecast.model.panel import FloatArray, SeriesPanel
from coordinator.forecast.serving.predictor import PanelForecast

BASELINES_VERSION = "baselines"
SHORT_BASELINE = "MA28"
MIN_FIT_DAYS = 14


class BestBaselineForecaster:
    """A `Forecaster` without a model: per series, the baseline that did best lately.

    `why` prefixes every reason (e.g. "no forecast model configured").
    """

    def __init__(self, *, why: str = "no forecast model loaded") -> None:
        self.why = why

    @property
    def model_version(self) -> str:
        """Always `baselines`: no model is involved."""
        return BASELINES_VERSION

    def forecast(self, panel: SeriesPanel, *, horizon: int) -> PanelForecast:
        """Forecast `horizon` days after each series' last day, every series by a baseline."""
        if horizon < 1:
            raise DataError(f"horizon must be ≥ 1, got {horizon}")
        names = list(BASELINES)
        choice = choose_baselines(panel, horizon=horizon)
        n = panel.n_series
        mean = np.zeros((n, horizon))
        quantiles = np.zeros((n, horizon, len(QUANTILES)))
        for k, name in enumerate(names):
            rows = np.flatnonzero(choice == k)
            if rows.size == 0:
                continue
            full = BASELINES[name](panel.y[rows], horizon)
            mean[rows] = np.maximum(full.point, 0.0)
            quantiles[rows] = baseline_quantiles(full, panel.y[rows])
        short = panel.lengths < horizon + MIN_FIT_DAYS  # always SHORT_BASELINE
        reasons = tuple(
            f"{self.why}; {int(panel.lengths[s])} days of history, too few to compare"
            f" baselines: {SHORT_BASELINE}"
            if short[s]
            else f"{self.why}; {names[choice[s]]} had the lowest error on the last {horizon} days"
            for s in range(n)
        )
        return PanelForecast(
            ids=panel.ids,
            first_days=(panel.end_days + 1).astype(np.int64),
            mean=mean,
            quantiles=quantiles,
            method=tuple(names[k] for k in choice),
            fallback=(True,) * n,
            model_version=BASELINES_VERSION,
            reasons=reasons,
        )


def choose_baselines(panel: SeriesPanel, *, horizon: int) -> np.ndarray:
    """Index into `BASELINES` of the baseline each series should use.

    Series with at least `horizon + MIN_FIT_DAYS` days are scored on their last
    `horizon` days (mean squared error, ties to the earlier baseline); shorter ones get
    `SHORT_BASELINE`.
    """
    names = list(BASELINES)
    choice = np.full(panel.n_series, names.index(SHORT_BASELINE), dtype=np.int64)
    long_enough = np.flatnonzero(panel.lengths >= horizon + MIN_FIT_DAYS)
    if long_enough.size == 0 or panel.n_days <= horizon:
        return choice
    y = panel.y[long_enough]
    train, actual = y[:, :-horizon], y[:, -horizon:]
    errors = np.stack([_mse(BASELINES[name](train, horizon), actual) for name in names], axis=1)
    choice[long_enough] = np.argmin(errors, axis=1)
    return choice


def _mse(forecast: BaselineForecast, actual: FloatArray) -> FloatArray:
    return np.asarray(np.mean((forecast.point - actual) ** 2, axis=1), dtype=np.float64)


__all__ = ["BASELINES_VERSION", "BestBaselineForecaster", "choose_baselines"]
