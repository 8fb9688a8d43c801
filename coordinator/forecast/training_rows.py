"""Training rows for the global model: every series × every forecast origin × every day ahead.

Pooling all series and many origins (direct multi-horizon: one row per day ahead,
with the horizon as a feature) gives a model trained on few series enough rows.
Only data strictly before `cut` is used, so a backtest origin never sees its future.
"""

from __future__ import annotations

import numpy as np

from coordinator.forecast.errors import DataError
from coordinator.forecast.features import WINDOW_DAYS, FeatureRows, build_features
from coordinator.forecast.panel import FloatArray, SeriesPanel


def training_rows(
    panel: SeriesPanel,
    *,
    horizon: int,
    origin_stride_days: int,
    min_history_days: int,
    window_days: int = WINDOW_DAYS,
) -> tuple[np.ndarray, FloatArray]:
    """Feature matrix and target `y / level` for every usable (series, origin, day ahead).

    Origins step back from the last possible one by `origin_stride_days`; a series
    contributes an origin once it has `min_history_days` days and at least one sale.
    """
    n, t_total = panel.y.shape
    e = panel.exog.shape[2]
    pad_y = np.concatenate([np.full((n, window_days), np.nan), panel.y], axis=1)
    pad_x = np.concatenate([np.full((n, window_days, e), np.nan), panel.exog], axis=1)
    starts = t_total - panel.lengths
    sold = np.nan_to_num(panel.y) > 0
    first_sale = np.where(sold.any(axis=1), sold.argmax(axis=1), t_total)
    xs: list[np.ndarray] = []
    ys: list[FloatArray] = []
    for origin in range(t_total - horizon, 0, -origin_stride_days):
        ok = (origin - starts >= min_history_days) & (first_sale < origin)
        if not ok.any():
            continue
        window = pad_y[ok, origin : origin + window_days]
        exog_window = np.nan_to_num(pad_x[ok, origin : origin + window_days])
        end_days = panel.end_days[ok] - (t_total - origin)
        rows: FeatureRows = build_features(
            window, end_days, horizon, exog_window, panel.exog[ok, origin : origin + horizon]
        )
        xs.append(rows.x)
        ys.append(panel.y[ok, origin : origin + horizon].reshape(-1) / rows.level)
    if not xs:
        raise DataError(
            f"no series has {min_history_days} days of history plus {horizon} days to learn from"
        )
    return np.concatenate(xs), np.concatenate(ys)
