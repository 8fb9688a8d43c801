"""The panel's pooled weekday shape, on hand-computed panels."""

from __future__ import annotations

import numpy as np
import pytest

from coordinator.forecast.model.panel import SeriesPanel
from coordinator.forecast.model.weekday import FLAT, pooled_weekday_shape, weekday_of

MONDAY = 19_723  # 2024-01-01


def _panel(y: np.ndarray, end_day: int) -> SeriesPanel:
    n, t = y.shape
    return SeriesPanel(
        ids=tuple(f"s{i}" for i in range(n)),
        y=y,
        exog=np.zeros((n, t, 0)),
        exog_names=(),
        end_days=np.full(n, end_day, dtype=np.int64),
        lengths=np.isfinite(y).sum(axis=1).astype(np.int64),
    )


def test_weekday_of_counts_from_monday() -> None:
    """2024-01-01 was a Monday, 2024-01-06 a Saturday."""
    assert weekday_of(np.array([MONDAY, MONDAY + 5, MONDAY + 6])).tolist() == [0, 5, 6]


def test_a_shop_closed_at_weekends_has_zero_weekend_shape() -> None:
    """Two series selling only Monday to Friday (1 and 10 a day): 7/5 on weekdays, 0 at
    weekends, whatever their volume."""
    days = 8 * 7
    dow = weekday_of(MONDAY + np.arange(days))
    weekday_sales = (dow < 5).astype(np.float64)
    y = np.stack([weekday_sales, 10 * weekday_sales])
    shape = pooled_weekday_shape(_panel(y, MONDAY + days - 1))
    assert shape == pytest.approx([1.4] * 5 + [0.0, 0.0])


def test_each_series_counts_once_whatever_its_volume() -> None:
    """A big seller does not outweigh a small one: profiles are averaged, not sales."""
    days = 4 * 7
    dow = weekday_of(MONDAY + np.arange(days))
    mondays_only = (dow == 0) * 1000.0
    flat = np.ones(days)
    shape = pooled_weekday_shape(_panel(np.stack([mondays_only, flat]), MONDAY + days - 1))
    assert shape == pytest.approx([4.0] + [0.5] * 6)  # (7 + 1) / 2 and (0 + 1) / 2


def test_without_sales_or_history_the_shape_is_flat() -> None:
    """No sold units, or fewer than 28 observed days: all ones."""
    assert pooled_weekday_shape(_panel(np.zeros((2, 56)), MONDAY)) == FLAT
    short = np.full((1, 56), np.nan)
    short[0, -20:] = 3.0
    assert pooled_weekday_shape(_panel(short, MONDAY)) == FLAT
