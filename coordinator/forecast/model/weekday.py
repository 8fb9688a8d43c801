"""The weekday shape of a panel's demand, pooled over its series.

A shop that never trades on Saturdays, or sells twice as much on Mondays, shows it in
every series; one series' own weekday means over a year are far noisier than the panel's.
`pooled_weekday_shape` averages each series' weekday profile (weekday mean over its
overall mean, last `days` days) over the series that sold in that time, and scales the
result to a mean of 1. The trained model multiplies its statistical forecasts by it
(`training.fit.OutputHead`) when the inner validation windows say it helps.
"""

from __future__ import annotations

import numpy as np

from coordinator.forecast.model.panel import FloatArray, SeriesPanel

FLAT = (1.0,) * 7
MIN_DAYS = 28


def weekday_of(days: np.ndarray) -> np.ndarray:
    """Weekday of days since 1970-01-01, Monday = 0 (as the feature `target_dow`)."""
    return np.asarray((days + 3) % 7, dtype=np.int64)


def pooled_weekday_shape(panel: SeriesPanel, *, days: int = 364) -> tuple[float, ...]:
    """Mean over series of (weekday mean / overall mean) over the last `days`, Monday
    first, scaled to a mean of 1; flat (all 1) when no series sold on `MIN_DAYS` days."""
    y: FloatArray = panel.y[:, -days:]
    observed = np.isfinite(y)
    filled = np.where(observed, y, 0.0)
    width = y.shape[1]
    offsets = np.arange(width - 1, -1, -1)  # columns before each series' last day
    dow = weekday_of(panel.end_days[:, None] - offsets[None, :])
    sums = np.zeros((panel.n_series, 7))
    counts = np.zeros((panel.n_series, 7))
    rows = np.repeat(np.arange(panel.n_series), width)
    np.add.at(sums, (rows, dow.ravel()), filled.ravel())
    np.add.at(counts, (rows, dow.ravel()), observed.ravel())
    total = sums.sum(axis=1)
    usable = (observed.sum(axis=1) >= MIN_DAYS) & (total > 0) & (counts > 0).all(axis=1)
    if not usable.any():
        return FLAT
    means = sums[usable] / counts[usable]
    profile = means / means.mean(axis=1, keepdims=True)
    shape = profile.mean(axis=0)
    shape = shape / shape.mean()
    return tuple(float(v) for v in shape)


__all__ = ["FLAT", "pooled_weekday_shape", "weekday_of"]
