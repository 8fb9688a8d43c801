"""The M5 evaluation harness: the model and every baseline scored side by side.

A window is a cut: train on each series' days before it, forecast the next `horizon`
days, score RMSSE and MASE (see `metrics`), scaled pinball loss over P10/P50/P90 and
the share of actuals at or below P10 and P90. The model is always served through the
onnxruntime adapter, exactly as the coordinator serves it. A backtest repeats this on
the last `n_windows` consecutive windows, refitting the model before each cut on data
before it only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from coordinator.forecast.errors import DataError
from coordinator.forecast.model.baselines import BASELINES, QUANTILES, baseline_quantiles
from coordinator.forecast.model.panel import FloatArray, SeriesPanel
from coordinator.forecast.training.metrics import coverage, mase, rmsse, scaled_pinball

MODEL = "Model"
METRICS = ("rmsse", "mase", "spl", "cov_p10", "cov_p90")


@dataclass(frozen=True)
class MethodScores:
    """Per-series scores of one method on one window (each array `[n_series]`)."""

    rmsse: FloatArray
    mase: FloatArray
    spl: FloatArray
    cov_p10: FloatArray
    cov_p90: FloatArray

    def means(self) -> dict[str, float]:
        """Mean of each score over the series that have a defined scale."""
        return {m: float(np.nanmean(getattr(self, m))) for m in METRICS}


@dataclass(frozen=True)
class WindowResult:
    """All methods' scores on one forecast window."""

    cut: int
    horizon: int
    ids: tuple[str, ...]
    scores: dict[str, MethodScores]
    left_out: tuple[str, ...] = ()  # series without data over the whole window

    def summary(self) -> dict[str, Any]:
        """JSON-able mean scores per method."""
        return {name: s.means() for name, s in self.scores.items()}

    def unscored(self) -> tuple[str, ...]:
        """The series scored by no method: their M5 scale is 0 or undefined (no two
        different days from their first sale to the window), so the means leave them out."""
        first = next(iter(self.scores.values()), None)
        if first is None:
            return ()
        return tuple(self.ids[int(s)] for s in np.flatnonzero(np.isnan(first.rmsse)))

    def best_baseline(self) -> str:
        """The baseline with the lowest mean RMSSE on this window."""
        means = {n: s.means()["rmsse"] for n, s in self.scores.items() if n in BASELINES}
        return min(means, key=lambda n: (means[n], n))


def score(
    train: FloatArray, actual: FloatArray, point: FloatArray, quantiles: FloatArray
) -> MethodScores:
    """Score one method's point forecast and P10/P50/P90 `[n, h, 3]` against `actual`."""
    return MethodScores(
        rmsse=rmsse(train, actual, point),
        mase=mase(train, actual, point),
        spl=scaled_pinball(train, actual, quantiles, QUANTILES),
        cov_p10=coverage(actual, quantiles[:, :, 0]),
        cov_p90=coverage(actual, quantiles[:, :, 2]),
    )


def evaluate_window(
    panel: SeriesPanel, *, cut: int, horizon: int, model: Any | None
) -> WindowResult:
    """Scores on the window `[cut, cut + horizon)` of the panel's columns.

    `model` is an `ExportedModel` (trained on data before `cut`) or None for
    baselines only. Series without data on every day of the window (too short: they
    start inside it or after it) are left out of it and listed in `left_out`.
    """
    if not 0 < cut <= panel.n_days - horizon:
        raise DataError(f"window at column {cut} + {horizon} days does not fit the data")
    complete = np.isfinite(panel.y[:, cut : cut + horizon]).all(axis=1)
    if not complete.any():
        raise DataError(f"no series has data over the whole window at column {cut}")
    left_out = tuple(panel.ids[int(s)] for s in np.flatnonzero(~complete))
    if left_out:
        panel = panel.select(np.flatnonzero(complete))
    history = panel.head(cut)
    train = history.y
    actual = panel.y[:, cut : cut + horizon]
    scores: dict[str, MethodScores] = {}
    for name, fit in BASELINES.items():
        forecast = fit(train, horizon)
        scores[name] = score(train, actual, forecast.point, baseline_quantiles(forecast, train))
    if model is not None:
        from coordinator.forecast.serving.predictor import forecast_with_model
        from coordinator.forecast.serving.runtime import OnnxModel

        runner = OnnxModel.from_bytes(model.onnx_bytes, model.card)
        result = forecast_with_model(
            runner, history, horizon=horizon, future_exog=panel.future_exog(cut, horizon)
        )
        scores[MODEL] = score(train, actual, result.mean, result.quantiles)
    return WindowResult(cut=cut, horizon=horizon, ids=panel.ids, scores=scores, left_out=left_out)


def backtest(
    panel: SeriesPanel,
    *,
    horizon: int,
    n_windows: int,
    train: Callable[[SeriesPanel], Any] | None,
    progress: Callable[[str], None] | None = None,
) -> list[WindowResult]:
    """Rolling-origin backtest over the last `n_windows` windows of `horizon` days.

    `train(history)` fits a model on the history before each cut (None: baselines only).
    Raises `DataError` when there is no window or the windows leave no history before
    the first.
    """
    if n_windows < 1:
        raise DataError(f"the backtest needs at least 1 window, got {n_windows}")
    if n_windows * horizon >= panel.n_days:
        raise DataError(
            f"{n_windows} windows of {horizon} days leave no history before the first:"
            f" the data spans {panel.n_days} days"
        )
    results = []
    for k in range(n_windows, 0, -1):
        cut = panel.n_days - k * horizon
        model = train(panel.head(cut)) if train is not None else None
        results.append(evaluate_window(panel, cut=cut, horizon=horizon, model=model))
        if progress is not None:
            left = results[-1].left_out
            note = f" ({len(left)} series too short for it left out)" if left else ""
            progress(f"window ending {k - 1} x {horizon} days before the end done{note}")
    return results


def pooled(results: list[WindowResult]) -> dict[str, dict[str, float]]:
    """Mean of each method's mean scores over several windows."""
    names = list(results[0].scores)
    return {
        n: {m: float(np.mean([r.scores[n].means()[m] for r in results])) for m in METRICS}
        for n in names
    }
