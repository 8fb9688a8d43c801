"""Large panels: the training rows stay within the row budget, small panels are untouched."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from coordinator.forecast.errors import DataError
from coordinator.forecast.model.panel import SeriesPanel
from coordinator.forecast.serving.predictor import forecast_with_model
from coordinator.forecast.serving.runtime import OnnxModel
from coordinator.forecast.training.fit import TrainConfig, train_model, train_with_holdout
from coordinator.forecast.training.training_rows import sample_windows, training_rows
from tests.coordinator.forecast.forecast_support import TINY_CONFIG


def _many_series(n_series: int, n_days: int, seed: int = 3) -> SeriesPanel:
    """Poisson series of different volumes and start days, with one price column."""
    rng = np.random.default_rng(seed)
    rate = rng.lognormal(0.0, 1.0, size=(n_series, 1)) * (1 + 0.3 * (np.arange(n_days) % 7 == 5))
    y = rng.poisson(rate).astype(np.float64)
    start = rng.integers(0, n_days // 2, size=n_series)
    y[np.arange(n_days)[None, :] < start[:, None]] = np.nan
    price = np.repeat(rng.uniform(1, 5, size=(n_series, 1, 1)), n_days, axis=1)
    return SeriesPanel(
        ids=tuple(f"S{i}@L" for i in range(n_series)),
        y=y,
        exog=price,
        exog_names=("sell_price",),
        end_days=np.full(n_series, 19_000, dtype=np.int64),
        lengths=(n_days - start).astype(np.int64),
    )


@pytest.fixture(scope="module")
def big() -> SeriesPanel:
    """1,500 series × 200 days: ~100,000 windows at stride 1, ~700,000 rows unbudgeted."""
    return _many_series(1500, 200)


def test_rows_of_a_large_panel_stay_within_the_budget(big: SeriesPanel) -> None:
    """A seeded sample of windows fills the budget, drawn from across the panel."""
    kwargs = {"horizon": 7, "origin_stride_days": 1, "min_history_days": 28}
    rows = training_rows(big, max_rows=7_000, seed=0, **kwargs)
    assert len(rows.target) == 7_000  # 1,000 whole windows of 7 days
    assert rows.x.shape[0] == 7_000
    again = training_rows(big, max_rows=7_000, seed=0, **kwargs)
    other = training_rows(big, max_rows=7_000, seed=1, **kwargs)
    assert np.array_equal(rows.x, again.x)
    assert not np.array_equal(rows.x, other.x)
    picked = sample_windows(100_000, 1_000, seed=0)
    assert len(np.unique(picked)) == 1_000
    assert np.all(np.diff(picked) > 0)
    assert picked.max() > 90_000
    assert picked.min() < 10_000


def test_a_panel_within_the_budget_keeps_every_window() -> None:
    """The budget changes nothing for a panel below it (the M5 subset trains as before)."""
    small = _many_series(6, 150)
    kwargs = {"horizon": 7, "origin_stride_days": 3, "min_history_days": 28}
    unbounded = training_rows(small, **kwargs)
    budgeted = training_rows(small, max_rows=len(unbounded.target), seed=5, **kwargs)
    for a, b in zip(
        (unbounded.x, unbounded.target, unbounded.mse_weight),
        (budgeted.x, budgeted.target, budgeted.mse_weight),
        strict=True,
    ):
        assert np.array_equal(a, b)
    fewer = training_rows(small, max_rows=len(unbounded.target) - 7, seed=5, **kwargs)
    assert len(fewer.target) == len(unbounded.target) - 7


def test_model_trained_on_many_series_respects_the_budget(big: SeriesPanel) -> None:
    """End to end: the card records at most the budget, and all series are forecast."""
    config = replace(TINY_CONFIG, max_training_rows=3_500, calibration_windows=2)
    model = train_model(big, config)
    assert model.card.training_window["n_training_rows"] == 3_500
    assert model.card.training_window["n_available_rows"] > 80 * 3_500
    assert model.card.training_window["n_series"] == 1500
    assert model.card.config["max_training_rows"] == 3_500
    runner = OnnxModel.from_bytes(model.onnx_bytes, model.card)
    result = forecast_with_model(runner, big, horizon=7)
    assert result.mean.shape == (1500, 7)
    assert np.isfinite(result.quantiles).all()


def test_holdout_is_scored_without_the_series_too_short_for_it() -> None:
    """One new series no longer turns off the holdout scores of a whole panel."""
    panel = _many_series(12, 200)
    short = replace(panel, lengths=panel.lengths.copy(), y=panel.y.copy())
    short.y[0, :-20] = np.nan  # 20 days, shorter than the 28-day holdout
    short.lengths[0] = 20
    model = train_with_holdout(short, replace(TINY_CONFIG, horizon_days=28))
    holdout = model.card.metrics["holdout"]
    assert set(holdout) >= {"MA28", "TSB", "Model"}
    assert model.card.fallback_baseline in holdout


def test_budget_below_one_window_is_refused() -> None:
    """A budget that cannot hold one horizon window is a configuration error."""
    with pytest.raises(DataError, match="max_training_rows"):
        TrainConfig(horizon_days=28, max_training_rows=27)
