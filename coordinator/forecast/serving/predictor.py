"""Turn a panel of histories into forecasts with a loaded model, falling back to a
baseline for series too short for the model.

Pure apart from the `ModelRunner` it is given (the onnxruntime adapter in production,
anything with `card` and `run` in tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from coordinator.forecast.errors import DataError
from coordinator.forecast.model.baselines import BASELINES, QUANTILES, baseline_quantiles
from coordinator.forecast.model.closures import CALENDAR_DAYS, calendar_of, closures_ahead
from coordinator.forecast.model.features import FeatureRows, build_features, closed_days
from coordinator.forecast.model.model_card import ModelCard
from coordinator.forecast.model.panel import FloatArray, IntArray, SeriesPanel


class ModelRunner(Protocol):
    """A loaded model: its card and a batch `run(features, level) -> [n, outputs]`."""

    card: ModelCard

    def run(self, features: np.ndarray, level: np.ndarray) -> np.ndarray:
        """Forecast rows for a batch of feature rows."""
        ...


@dataclass(frozen=True)
class PanelForecast:
    """Forecasts for every series of a panel.

    `mean` is `[n, h]` (the point forecast), `quantiles` `[n, h, 3]` at `levels`;
    `first_days` the first forecast day per series (days since 1970-01-01);
    `method[s]` names what produced series s and `fallback[s]` is True when that was a
    baseline instead of the model; `reasons[s]` then says why (empty when not given).
    """

    ids: tuple[str, ...]
    first_days: IntArray
    mean: FloatArray
    quantiles: FloatArray
    method: tuple[str, ...]
    fallback: tuple[bool, ...]
    model_version: str
    levels: tuple[float, ...] = QUANTILES
    reasons: tuple[str, ...] = ()

    def reason(self, s: int) -> str:
        """Why series `s` got a baseline ("" when it got the model or no reason was given)."""
        return self.reasons[s] if s < len(self.reasons) else ""

    @property
    def horizon(self) -> int:
        """Days ahead in each forecast."""
        return int(self.mean.shape[1])


def exog_columns(panel: SeriesPanel, names: tuple[str, ...]) -> list[int]:
    """Indices of the exogenous columns `names` in the panel (raises if one is missing)."""
    missing = [n for n in names if n not in panel.exog_names]
    if missing:
        raise DataError(f"data lacks exogenous column(s) {missing} the model was trained with")
    return [panel.exog_names.index(n) for n in names]


def panel_features(
    panel: SeriesPanel,
    *,
    horizon: int,
    window_days: int,
    exog_names: tuple[str, ...],
    future: FloatArray,
) -> FeatureRows:
    """Feature rows for the `horizon` days after each series' last day (series-major).

    `future` `[n, horizon, e]` holds the exogenous values of those days in the panel's
    column order; only the columns in `exog_names` are used, in that order. The closure
    calendar (`closures`) reads the last `CALENDAR_DAYS` of the panel.
    """
    idx = exog_columns(panel, exog_names)
    recent = panel.y[:, -CALENDAR_DAYS:]
    observed = np.isfinite(recent)
    filled = np.where(observed, recent, 0.0)
    closed = closed_days(filled, observed, panel.end_days)
    calendar = calendar_of(closed, observed, filled, panel.end_days)
    window = panel.y[:, -window_days:]
    exog_window = np.nan_to_num(panel.exog[:, -window_days:, :][:, :, idx])
    if window.shape[1] < window_days:
        pad = window_days - window.shape[1]
        window = np.pad(window, ((0, 0), (pad, 0)), constant_values=np.nan)
        exog_window = np.pad(exog_window, ((0, 0), (pad, 0), (0, 0)))
    return build_features(
        window,
        panel.end_days,
        horizon,
        exog_window,
        future[:, :, idx],
        closed_ahead=closures_ahead(calendar, panel.end_days, horizon),
    )


def forecast_with_model(
    runner: ModelRunner,
    panel: SeriesPanel,
    *,
    horizon: int,
    future_exog: FloatArray | None = None,
) -> PanelForecast:
    """Forecast `horizon` days after each series' last day, all series in one batch.

    `future_exog` `[n, horizon, e]` holds known exogenous values of the forecast days in
    the panel's column order; without it, `SeriesPanel.carried_exog` is assumed.
    """
    card = runner.card
    if not 1 <= horizon <= card.horizon_days:
        raise DataError(
            f"horizon {horizon} outside 1..{card.horizon_days} the model was trained for"
        )
    future = panel.carried_exog(horizon) if future_exog is None else future_exog
    if future.shape != (panel.n_series, horizon, len(panel.exog_names)):
        raise DataError(f"future exogenous values have shape {future.shape}")
    rows = panel_features(
        panel,
        horizon=horizon,
        window_days=card.window_days,
        exog_names=card.exog_names,
        future=future,
    )
    raw = runner.run(rows.x, rows.level.astype(np.float32)[:, None]).astype(np.float64)
    raw = raw.reshape(panel.n_series, horizon, -1)
    mean = np.maximum(raw[:, :, 0], 0.0)
    quantiles = np.sort(np.maximum(raw[:, :, 1:4], 0.0), axis=2)
    short = panel.lengths < card.min_history_days
    method = [card.model_version] * panel.n_series
    reasons = [""] * panel.n_series
    if short.any():
        baseline = BASELINES[card.fallback_baseline](panel.y[short], horizon)
        mean[short] = baseline.point
        quantiles[short] = baseline_quantiles(baseline, panel.y[short])
        for s in np.flatnonzero(short):
            method[s] = card.fallback_baseline
            reasons[s] = (
                f"too little history: {panel.lengths[s]} days, the model needs"
                f" {card.min_history_days}; baseline {card.fallback_baseline} instead"
            )
    return PanelForecast(
        ids=panel.ids,
        first_days=(panel.end_days + 1).astype(np.int64),
        mean=mean,
        quantiles=quantiles,
        method=tuple(method),
        fallback=tuple(bool(v) for v in short),
        model_version=card.model_version,
        reasons=tuple(reasons),
    )
