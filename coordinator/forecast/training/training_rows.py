"""Training rows for the global model: series × forecast origins × every day ahead.

Pooling all series and many origins (direct multi-horizon: one row per day ahead,
with the horizon as a feature) gives a model trained on few series enough rows.
Only data strictly before `cut` is used, so a backtest origin never sees its future.
All (series, origin) windows go through `build_features` in chunks, as one batch of
series would at serving time.

Rows grow with series × origins (8 M5 series at every third origin give ~130,000; 1,000
series would give ~15 M and tens of GB of features), so a row budget bounds them: when
the usable (series, origin) windows hold more than `max_rows` rows, a seeded uniform
sample of `max_rows // horizon` windows is kept. A panel within the budget keeps every
window, exactly as without one.

The model learns `y / level`, so an unweighted loss on that ratio would let the rows of
near-dead series (level at its floor, ratios of 20 from a single sale) dominate. Each
row therefore carries weights that turn the ratio losses back into the accuracy
measures: `level² / rmsse_scale` makes the squared ratio error the series' squared
error over its RMSSE scale, and `level / mase_scale` makes the ratio pinball loss the
scaled pinball loss (see `metrics`). Scales come from the training data only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coordinator.forecast.errors import DataError
from coordinator.forecast.model.features import WINDOW_DAYS, FeatureRows, build_features
from coordinator.forecast.model.panel import FloatArray, SeriesPanel
from coordinator.forecast.training.metrics import mase_scale, rmsse_scale

_CHUNK_WINDOWS = 2048


@dataclass(frozen=True)
class TrainingRows:
    """Feature rows `x`, target `y / level` and the two loss weights per row (mean 1);
    `available_rows` counts the rows of all usable windows, before the row budget."""

    x: np.ndarray
    target: FloatArray
    mse_weight: FloatArray
    pinball_weight: FloatArray
    available_rows: int


def _inverse(scale: FloatArray) -> FloatArray:
    s = np.nan_to_num(scale)
    return np.where(s > 0, 1.0 / np.where(s > 0, s, 1.0), 0.0)


def _normalised(weight: FloatArray) -> FloatArray:
    total = float(weight.mean())
    return weight / total if total > 0 else np.ones_like(weight)


def sample_windows(n_windows: int, max_windows: int, seed: int) -> np.ndarray:
    """Indices (ascending) of the windows to keep: all of them when at most
    `max_windows`, else a uniform sample without replacement drawn with `seed`."""
    if max_windows < 1:
        raise DataError(f"the row budget must allow at least one window, got {max_windows}")
    if n_windows <= max_windows:
        return np.arange(n_windows)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_windows, size=max_windows, replace=False))


def training_rows(
    panel: SeriesPanel,
    *,
    horizon: int,
    origin_stride_days: int,
    min_history_days: int,
    max_rows: int | None = None,
    seed: int = 0,
    window_days: int = WINDOW_DAYS,
) -> TrainingRows:
    """Features, target `y / level` and loss weights for the usable (series, origin, day)s.

    Origins step back from the last possible one by `origin_stride_days`; a series
    contributes an origin once it has `min_history_days` days and at least one sale.
    With more than `max_rows` rows, `sample_windows` keeps a seeded subset of windows.
    """
    t_total = panel.n_days
    starts = t_total - panel.lengths
    sold = np.nan_to_num(panel.y) > 0
    first_sale = np.where(sold.any(axis=1), sold.argmax(axis=1), t_total)
    origins = np.arange(t_total - horizon, 0, -origin_stride_days)
    usable = (origins[:, None] - starts[None, :] >= min_history_days) & (
        first_sale[None, :] < origins[:, None]
    )
    origin_of, series_of = (a.astype(np.int64) for a in np.nonzero(usable))
    if series_of.size == 0:
        raise DataError(
            f"no series has {min_history_days} days of history plus {horizon} days to learn from"
        )
    available = series_of.size * horizon
    if max_rows is not None:
        keep = sample_windows(series_of.size, max_rows // horizon, seed)
        origin_of, series_of = origin_of[keep], series_of[keep]
    origin_of = origins[origin_of]
    inv_sq = _inverse(rmsse_scale(panel.y))
    inv_abs = _inverse(mase_scale(panel.y))
    back = np.arange(window_days)
    ahead = np.arange(horizon)
    parts: list[tuple[np.ndarray, FloatArray, FloatArray, FloatArray]] = []
    for lo in range(0, series_of.size, _CHUNK_WINDOWS):
        s, o = series_of[lo : lo + _CHUNK_WINDOWS], origin_of[lo : lo + _CHUNK_WINDOWS]
        cols = o[:, None] - window_days + back[None, :]  # origin-window .. origin-1
        before = cols < 0  # before the panel's first column: no data
        cols = np.maximum(cols, 0)
        target_cols = o[:, None] + ahead[None, :]
        exog = np.nan_to_num(panel.exog[s[:, None], cols])
        exog[before] = 0.0
        rows: FeatureRows = build_features(
            np.where(before, np.nan, panel.y[s[:, None], cols]),
            panel.end_days[s] - (t_total - o),
            horizon,
            exog,
            np.nan_to_num(panel.exog[s[:, None], target_cols]),
        )
        target = panel.y[s[:, None], target_cols].reshape(-1) / rows.level
        parts.append(
            (
                rows.x,
                target,
                rows.level**2 * np.repeat(inv_sq[s], horizon),
                rows.level * np.repeat(inv_abs[s], horizon),
            )
        )
    return TrainingRows(
        x=np.concatenate([p[0] for p in parts]),
        target=np.concatenate([p[1] for p in parts]),
        mse_weight=_normalised(np.concatenate([p[2] for p in parts])),
        pinball_weight=_normalised(np.concatenate([p[3] for p in parts])),
        available_rows=available,
    )
