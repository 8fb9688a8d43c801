"""Accuracy measures of the M5 competition, plus pinball loss and interval coverage.

RMSSE scales each series by the mean squared one-step naive error of its training data
from its first non-zero sale onward (M5 Competitors' Guide, 2020, section 4: leading
zeros before a product is sold are not part of its history). MASE keeps Hyndman &
Koehler's (2006) original scale, the mean absolute first difference over the whole
training history; both reproduce `m5_small_baseline_scores.tsv`.
"""

from __future__ import annotations

import numpy as np

from coordinator.forecast.model.panel import FloatArray


def _active_diffs(train: FloatArray) -> list[FloatArray]:
    out = []
    for row in train:
        values = row[np.isfinite(row)]
        nz = np.flatnonzero(values > 0)
        active = values[nz[0] :] if nz.size else values
        out.append(np.diff(active))
    return out


def rmsse_scale(train: FloatArray) -> FloatArray:
    """Per-series mean squared first difference of the training data (from first sale)."""
    return np.array([float(np.mean(d**2)) if d.size else np.nan for d in _active_diffs(train)])


def mase_scale(train: FloatArray) -> FloatArray:
    """Per-series mean absolute first difference over the whole training history."""
    diffs = [np.diff(row[np.isfinite(row)]) for row in train]
    return np.array([float(np.mean(np.abs(d))) if d.size else np.nan for d in diffs])


def _safe_div(a: FloatArray, b: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def rmsse(train: FloatArray, actual: FloatArray, forecast: FloatArray) -> FloatArray:
    """Per-series root mean squared scaled error (NaN where the scale is zero)."""
    mse = np.mean((actual - forecast) ** 2, axis=1)
    return np.sqrt(_safe_div(mse, rmsse_scale(train)))


def mase(train: FloatArray, actual: FloatArray, forecast: FloatArray) -> FloatArray:
    """Per-series mean absolute scaled error (NaN where the scale is zero)."""
    mae = np.mean(np.abs(actual - forecast), axis=1)
    return _safe_div(mae, mase_scale(train))


def pinball(actual: FloatArray, quantiles: FloatArray, levels: tuple[float, ...]) -> FloatArray:
    """Per-series pinball loss averaged over days and quantile levels.

    `quantiles` is `[n, h, len(levels)]`; the loss of level q at error e = y - f is
    max(q·e, (q-1)·e).
    """
    q = np.asarray(levels)[None, None, :]
    err = actual[:, :, None] - quantiles
    loss = np.maximum(q * err, (q - 1) * err)
    return np.asarray(loss.mean(axis=(1, 2)), dtype=np.float64)


def scaled_pinball(
    train: FloatArray, actual: FloatArray, quantiles: FloatArray, levels: tuple[float, ...]
) -> FloatArray:
    """Pinball loss divided by the series' MASE scale (comparable across series, as in M5)."""
    return _safe_div(pinball(actual, quantiles, levels), mase_scale(train))


def coverage(actual: FloatArray, bound: FloatArray) -> FloatArray:
    """Per-series share of days with the actual value at or below `bound` `[n, h]`."""
    return np.asarray((actual <= bound).mean(axis=1), dtype=np.float64)
