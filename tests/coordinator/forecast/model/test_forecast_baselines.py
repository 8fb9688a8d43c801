"""Baselines and metrics on worked examples."""

from __future__ import annotations

import numpy as np
import pytest

from coordinator.forecast.errors import DataError
from coordinator.forecast.model import baselines as b
from coordinator.forecast.training import metrics as m

NAN = np.nan


def test_naive_repeats_last_value() -> None:
    """Naive forecasts the last observed value, also behind NaN padding."""
    y = np.array([[NAN, 1.0, 3.0], [2.0, 5.0, 4.0]])
    assert b.naive(y, 3).point.tolist() == [[3.0] * 3, [4.0] * 3]


def test_seasonal_naive_repeats_last_week() -> None:
    """Seasonal naive(7) repeats the last seven days in order."""
    y = np.arange(14, dtype=float)[None, :]
    assert b.seasonal_naive(y, 9).point.tolist() == [[7, 8, 9, 10, 11, 12, 13, 7, 8]]


def test_moving_average_uses_last_window() -> None:
    """MA(k) is the mean of the last k observed days; fitted values lag by one day."""
    y = np.array([[NAN, 0.0, 2.0, 4.0, 6.0]])
    f = b.moving_average(y, 2, window_days=2)
    assert f.point.tolist() == [[5.0, 5.0]]
    assert f.fitted[0, 4] == pytest.approx(3.0)


def test_ses_worked_value() -> None:
    """SES(0.5) on [2, 4] starts at 2 and moves half-way to 4."""
    assert b.ses(np.array([[2.0, 4.0]]), 1, alpha=0.5).point[0, 0] == pytest.approx(3.0)


def test_croston_worked_value() -> None:
    """Croston(0.5) on [0, 2, 0, 4]: size 3, interval 2, forecast 1.5."""
    f = b.croston(np.array([[0.0, 2.0, 0.0, 4.0]]), 2, alpha=0.5)
    assert f.point.tolist() == [[1.5, 1.5]]


def test_tsb_worked_value() -> None:
    """TSB(0.5, 0.5) on [0, 2, 0, 4]: probability 0.625, size 3, forecast 1.875."""
    f = b.tsb(np.array([[0.0, 2.0, 0.0, 4.0]]), 1, alpha_size=0.5, alpha_prob=0.5)
    assert f.point[0, 0] == pytest.approx(1.875)


def test_intermittent_without_demand_forecasts_zero() -> None:
    """A series that never sold gets a zero forecast from Croston and TSB."""
    y = np.zeros((1, 10))
    assert b.croston(y, 2).point.tolist() == [[0.0, 0.0]]
    assert b.tsb(y, 2).point.tolist() == [[0.0, 0.0]]


def test_baseline_quantiles_are_ordered_and_non_negative() -> None:
    """Baseline P10 ≤ P50 ≤ P90 and no quantile below zero."""
    rng = np.random.default_rng(0)
    y = rng.poisson(2.0, size=(3, 100)).astype(float)
    q = b.baseline_quantiles(b.moving_average(y, 5), y)
    assert q.shape == (3, 5, 3)
    assert (np.diff(q, axis=2) >= 0).all()
    assert (q >= 0).all()


def test_bad_horizon_is_a_data_error() -> None:
    """A horizon below one is refused with the package's own error."""
    with pytest.raises(DataError):
        b.naive(np.ones((1, 3)), 0)


def test_rmsse_scale_starts_at_first_sale() -> None:
    """RMSSE ignores leading zeros in the scale; MASE uses the whole history."""
    train = np.array([[0.0, 0.0, 1.0, 3.0]])
    actual = np.array([[2.0, 2.0]])
    forecast = np.zeros((1, 2))
    assert m.rmsse(train, actual, forecast)[0] == pytest.approx(1.0)  # mse 4 / scale 4
    assert m.mase(train, actual, forecast)[0] == pytest.approx(2.0)  # mae 2 / scale 1


def test_pinball_and_coverage_worked_values() -> None:
    """Pinball at q=0.9 costs 0.9 per unit under and 0.1 per unit over; coverage counts."""
    actual = np.array([[1.0, 3.0]])
    q = np.array([[[2.0], [2.0]]])
    assert m.pinball(actual, q, (0.9,))[0] == pytest.approx((0.1 * 1 + 0.9 * 1) / 2)
    assert m.coverage(actual, q[:, :, 0])[0] == pytest.approx(0.5)
