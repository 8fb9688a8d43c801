"""Inner validation: quantile factors, blends chosen on the training data only."""

from __future__ import annotations

import numpy as np
import pytest

from coordinator.forecast.model.calibration import SCALE_GRID, pinball_scale
from coordinator.forecast.model.panel import SeriesPanel
from coordinator.forecast.training.fit import BLEND_GRID, fit_head, train_model
from tests.coordinator.forecast.forecast_support import TINY_CONFIG, synthetic_rows


def test_pinball_scale_moves_a_narrow_p90_to_the_true_quantile() -> None:
    """A P90 forecast of 2 for Poisson(3) demand is scaled to about the true P90 (5)."""
    rng = np.random.default_rng(3)
    actual = rng.poisson(3.0, 20_000).astype(np.float64)
    factor = pinball_scale(actual, np.full(actual.size, 2.0), 0.9, np.ones(actual.size))
    assert 2.0 <= factor <= 2.75
    assert 0.88 <= float(np.mean(actual <= factor * 2.0)) <= 0.97


def test_pinball_scale_keeps_a_calibrated_quantile() -> None:
    """A quantile that is already right keeps a factor of 1."""
    actual = np.tile(np.arange(10, dtype=np.float64), 50)  # 0..9 uniformly
    factor = pinball_scale(actual, np.full(actual.size, 4.5), 0.5, np.ones(actual.size))
    assert factor == 1.0
    assert 1.0 in SCALE_GRID


def test_pinball_scale_can_lower_an_intermittent_p10_to_zero() -> None:
    """Mostly-zero demand: the best P10 is 0, below the factors the grid used to stop at."""
    actual = np.tile(np.array([0.0] * 17 + [3.0] * 3), 100)
    factor = pinball_scale(actual, np.full(actual.size, 1.0), 0.1, np.ones(actual.size))
    assert factor == 0.0


def _panel(rows: list[tuple[str, str, float, float, int]]) -> SeriesPanel:
    from coordinator.forecast.model.csv_input import parse_csv_text

    lines = ["unique_id,ds,y,sell_price,event_flag"]
    lines += [f"{u},{d},{y:g},{p:g},{e}" for u, d, y, p, e in rows]
    return parse_csv_text("\n".join(lines) + "\n")


def test_head_is_fitted_on_inner_windows_and_recorded() -> None:
    """The blends come from the grid, the factors are positive, and the card says so."""
    panel = _panel(synthetic_rows(n_series=4, n_days=150, short_days=120))
    head, info = fit_head(panel, TINY_CONFIG)
    assert info["windows"] == TINY_CONFIG.calibration_windows
    assert head.mean_blend in BLEND_GRID
    assert head.quantile_blend in BLEND_GRID
    assert all(c > 0 for c in head.quantile_scale)
    model = train_model(panel, TINY_CONFIG)
    assert model.card.metrics["calibration"]["quantile_scale"] == list(head.quantile_scale)


def test_training_never_reads_past_its_cut() -> None:
    """A model trained on the days before a cut is byte-identical whatever follows the cut,
    inner validation included (no leakage from the test window)."""
    rows = synthetic_rows(n_series=4, n_days=150, short_days=120)
    changed = [(u, d, y * 3 + 5 if d >= "2023-05-02" else y, p, e) for u, d, y, p, e in rows]
    a, b = _panel(rows), _panel(changed)
    assert not np.array_equal(np.nan_to_num(a.y), np.nan_to_num(b.y))
    cut = a.n_days - 30
    assert (
        a.head(cut).y[np.isfinite(a.head(cut).y)] == b.head(cut).y[np.isfinite(b.head(cut).y)]
    ).all()
    first = train_model(a.head(cut), TINY_CONFIG)
    second = train_model(b.head(cut), TINY_CONFIG)
    assert first.onnx_bytes == second.onnx_bytes


@pytest.mark.parametrize("windows", [0])
def test_without_inner_windows_the_configured_blend_is_used(windows: int) -> None:
    """With calibration switched off the head is the configured blend with factors 1."""
    from dataclasses import replace

    panel = _panel(synthetic_rows(n_series=3, n_days=120, short_days=100))
    head, info = fit_head(panel, replace(TINY_CONFIG, calibration_windows=windows))
    assert info == {"windows": 0}
    assert head.mean_blend == TINY_CONFIG.mean_blend
    assert head.quantile_scale == (1.0, 1.0, 1.0)


def test_a_shop_closed_on_saturdays_gets_the_weekday_shape() -> None:
    """Series that never sell on Saturdays: the inner windows choose the weekday-shaped
    statistical forecasts, and the exported shape is 0 on Saturday."""
    rng = np.random.default_rng(11)
    start = np.datetime64("2023-01-02")  # a Monday
    profile = np.array([1.4, 1.2, 1.1, 1.6, 1.0, 0.0, 0.7])
    rows = []
    for s in range(12):
        rate = 2.0 + s
        for d in range(200):
            y = float(rng.poisson(rate * profile[d % 7]))
            rows.append((f"s{s}", str(start + d), y, 1.0, 0))
    head, info = fit_head(_panel(rows), TINY_CONFIG)
    assert info["mean_weekday"] is True
    assert head.mean_weekday
    assert head.weekday_shape[5] == 0.0
    assert head.weekday_shape[3] == max(head.weekday_shape)
    assert info["weekday_shape"] == [round(v, 5) for v in head.weekday_shape]


def test_bulk_orders_make_the_head_choose_the_winsorised_level() -> None:
    """Steady series with rare bulk orders (50 times a day's demand): offered both, the
    inner windows choose the winsorised level as the statistical part, and the card
    records the choice; offered only the ensemble, the head keeps it."""
    from dataclasses import replace

    rng = np.random.default_rng(5)
    start = np.datetime64("2023-01-02")
    rows = []
    for s in range(10):
        rate = 2.0 + s
        for d in range(220):
            y = float(rng.poisson(rate)) + (50 * rate if rng.random() < 0.03 else 0.0)
            rows.append((f"s{s}", str(start + d), y, 1.0, 0))
    panel = _panel(rows)
    both = replace(TINY_CONFIG, stat_parts=("ensemble", "winsorised"))
    head, info = fit_head(panel, both)
    assert head.stat_part == "winsorised"
    assert info["stat_part"] == "winsorised"
    assert head.mean_blend < 1.0  # the statistical part is used at all
    only, _ = fit_head(panel, replace(TINY_CONFIG, stat_parts=("ensemble",)))
    assert only.stat_part == "ensemble"


def test_an_unknown_statistical_part_is_refused() -> None:
    """stat_parts must name known parts and at least one."""
    from dataclasses import replace

    from coordinator.forecast.errors import DataError

    with pytest.raises(DataError, match="stat_parts"):
        replace(TINY_CONFIG, stat_parts=("median",))
    with pytest.raises(DataError, match="stat_parts"):
        replace(TINY_CONFIG, stat_parts=())
