"""The winsorised 28-day mean: the statistical level the output head may mix in."""

from __future__ import annotations

import numpy as np

from coordinator.forecast.model.features import (
    WINSORISED_FEATURE,
    build_features,
    feature_names,
    selling_day_cap,
    winsorised_mean,
)


def _history() -> tuple[np.ndarray, np.ndarray]:
    """Three series over 56 days: one with a bulk order, one that started 10 days ago,
    one that never sold."""
    bulk = np.zeros(56)
    bulk[0:10] = np.arange(1, 11)  # selling days 1..10, outside the last 28 days
    bulk[-28:-18] = 2.0  # ten days of 2 within the last 28
    bulk[-1] = 100.0  # one bulk order
    young = np.full(56, np.nan)
    young[-10:] = [0, 3, 0, 3, 0, 3, 0, 3, 0, 30]
    never = np.zeros(56)
    window = np.stack([bulk, young, never])
    return np.nan_to_num(window), np.isfinite(window)


def test_winsorised_mean_caps_each_day_at_the_selling_day_quantile() -> None:
    """Hand-computed: the cap is the 0.9 quantile of the selling days, a bulk order counts
    as a capped day, days before a series started do not count, no sales gives 0."""
    filled, observed = _history()
    # bulk: selling days 1..10, ten 2s, 100 → 21 values; sorted, position 0.9·20 = 18:
    # [2]*10 + [1, 3..10] interleave → sorted: 1, 2 ×11, 3, 4, …, 10, 100 → index 18 = 9
    # young: selling days 3, 3, 3, 3, 30 → position 0.9·4 = 3.6 → 3 + 0.6·27 = 19.2
    np.testing.assert_allclose(selling_day_cap(filled, 0.9), [9.0, 19.2, 0.0])
    level = winsorised_mean(filled, observed, quantile=0.9)
    # bulk: (10·2 + 9) / 28; young: (4·3 + 19.2) / 10 observed days; never: 0
    np.testing.assert_allclose(level, [29 / 28, 31.2 / 10, 0.0])
    # with a lower quantile the cap binds harder: young at 0.5 → cap 3
    np.testing.assert_allclose(winsorised_mean(filled, observed, quantile=0.5)[1], 15 / 10)


def test_selling_day_cap_matches_numpy_quantile() -> None:
    """The vectorised cap equals np.quantile over each series' selling days (linear)."""
    rng = np.random.default_rng(3)
    counts = rng.poisson(0.8, (50, 364)) * rng.integers(1, 20, (50, 364))
    filled = counts.astype(np.float64)
    filled[:5] = 0.0
    filled[5, :-1] = 0.0  # one selling day
    for q in (0.5, 0.9, 0.95):
        expected = np.array(
            [float(np.quantile(r[r > 0], q)) if (r > 0).any() else 0.0 for r in filled]
        )
        np.testing.assert_allclose(selling_day_cap(filled, q), expected, rtol=1e-12)


def test_feature_column_is_the_winsorised_mean_over_the_level() -> None:
    """`wins28_rel` times the level is the winsorised mean of the 364-day window."""
    rng = np.random.default_rng(4)
    window = rng.poisson(1.5, (6, 364)).astype(np.float64)
    window[0, -3] = 80.0
    window[1, :300] = np.nan
    rows = build_features(window, np.full(6, 20_000), 2, np.zeros((6, 364, 0)), np.zeros((6, 2, 0)))
    names = feature_names(())
    served = rows.x[:, names.index(WINSORISED_FEATURE)] * rows.level
    observed = np.isfinite(window)
    expected = np.repeat(winsorised_mean(np.nan_to_num(window), observed), 2)
    np.testing.assert_allclose(served, expected, rtol=1e-5)
    plain = np.nanmean(window[0, -28:])
    assert served[0] < plain  # the bulk day is cut back
