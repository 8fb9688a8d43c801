"""Feature rows for the global model, one per (series, forecast day), built the same way
for training and for serving.

Everything is computed from a right-aligned history window (`[n, window_days]`, NaN
before a series starts) and the calendar and exogenous values of the target days, and
is divided by a per-series level (`level_scale`) so one model fits series of any
volume. The model predicts `y / level`; the server multiplies back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coordinator.forecast.panel import FloatArray, IntArray

WINDOW_DAYS = 364
MIN_LEVEL = 0.05
_MA_SPANS = (7, 14, 28, 56, 112, 364)
_SES_ALPHAS = (0.05, 0.2)
_N_LAGS = 7


@dataclass(frozen=True)
class FeatureRows:
    """Model inputs `x` `[n*h, n_features]` (float32) and the level `[n*h]` to scale back."""

    x: np.ndarray
    level: FloatArray


def feature_names(exog_names: tuple[str, ...]) -> tuple[str, ...]:
    """Column names of the feature matrix, in order, for a given set of exogenous columns."""
    names = [f"ma{k}_rel" for k in _MA_SPANS]
    names += [f"ses{a:g}_rel" for a in _SES_ALPHAS]
    names += [f"lag{k}_rel" for k in range(1, _N_LAGS + 1)]
    names += ["std28_rel", "zero_share28", "zero_share364", "days_since_sale", "size28_rel"]
    names += ["log_level", "history_share", "trend_28_364"]
    names += ["horizon", "target_dow", "target_dom", "target_month"]
    names += ["dow_index56", "same_dow_last_rel", "dow_index364"]
    names += [f"target_is_dow{d}" for d in range(7)]
    for e in exog_names:
        names += [f"{e}_target", f"{e}_vs_mean28"]
    return tuple(names)


def _nanmean(block: FloatArray) -> FloatArray:
    observed = np.isfinite(block)
    counts = observed.sum(axis=1)
    sums = np.where(observed, block, 0.0).sum(axis=1)
    return np.asarray(np.where(counts > 0, sums / np.maximum(counts, 1), 0.0), dtype=np.float64)


def level_scale(window: FloatArray) -> FloatArray:
    """Per-series level used to normalise features and targets: mean of the last 28 days."""
    return np.maximum(_nanmean(window[:, -28:]), MIN_LEVEL)


def _ses(window: FloatArray, alphas: tuple[float, ...]) -> FloatArray:
    """Exponential smoothing levels `[len(alphas), n]` started at each series' first value."""
    a = np.asarray(alphas)[:, None]
    level = np.full((len(alphas), window.shape[0]), np.nan)
    for i in range(window.shape[1]):
        v = window[:, i]
        seen = np.isfinite(v)
        level = np.where(seen & np.isnan(level), v, level)
        level = np.where(seen, a * v + (1 - a) * level, level)
    return np.asarray(np.nan_to_num(level), dtype=np.float64)


def _calendar(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    dates = days.astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    dom = (dates - months).astype(np.int64) + 1
    month = months.astype(np.int64) % 12 + 1
    dow = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    return dow.astype(np.int64), dom, month.astype(np.int64)


class _Sums:
    """Means of the last k observed days (0 for a series with none)."""

    def __init__(self, filled: FloatArray, observed: np.ndarray) -> None:
        self.filled = filled
        self.observed = observed

    def mean(self, k: int) -> FloatArray:
        c = self.observed[:, -k:].sum(axis=1)
        total = self.filled[:, -k:].sum(axis=1)
        return np.asarray(np.where(c > 0, total / np.maximum(c, 1), 0.0))


def _origin_block(
    window: FloatArray, filled: FloatArray, observed: np.ndarray
) -> tuple[FloatArray, FloatArray]:
    """Features that depend on the history only: `[n, f0]`, and the level."""
    w = window.shape[1]
    sums = _Sums(filled, observed)
    level = np.maximum(sums.mean(28), MIN_LEVEL)
    cols = [sums.mean(k) / level for k in _MA_SPANS]
    cols += list(_ses(window[:, -min(w, 182) :], _SES_ALPHAS) / level)
    cols += [filled[:, -k] / level for k in range(1, _N_LAGS + 1)]
    last28, seen28 = filled[:, -28:], observed[:, -28:]
    n28 = np.maximum(seen28.sum(axis=1), 1)
    mean28 = last28.sum(axis=1) / n28
    var28 = np.maximum((last28**2).sum(axis=1) / n28 - mean28**2, 0.0)
    cols.append(np.sqrt(var28) / level)
    cols.append((seen28 & (last28 == 0)).sum(axis=1) / n28)
    cols.append((observed & (filled == 0)).sum(axis=1) / np.maximum(observed.sum(axis=1), 1))
    sold = (filled > 0)[:, ::-1]
    since = np.where(sold.any(axis=1), sold.argmax(axis=1), w).astype(np.float64)
    cols.append(since / 28.0)
    n_sales28 = (last28 > 0).sum(axis=1)
    cols.append(np.where(n_sales28 > 0, last28.sum(axis=1) / np.maximum(n_sales28, 1), 0) / level)
    cols.append(np.log(level))
    cols.append(observed.sum(axis=1) / float(w))
    cols.append(sums.mean(28) / np.maximum(sums.mean(w), MIN_LEVEL))
    return np.stack(cols, axis=1), level


def _weekday_profiles(
    filled: FloatArray, observed: np.ndarray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per position in the last week (`[n, 7]`, position 6 = last day): weekday index over
    8 and 52 weeks (mean on that weekday / overall mean) and the last value on it."""
    n, w = filled.shape
    weeks = w // 7
    f = filled[:, w - 7 * weeks :].reshape(n, weeks, 7)
    o = observed[:, w - 7 * weeks :].reshape(n, weeks, 7)
    out = []
    for span_weeks in (8, 52):
        fs, os_ = f[:, -span_weeks:], o[:, -span_weeks:]
        per_day = fs.sum(axis=1) / np.maximum(os_.sum(axis=1), 1)
        overall = fs.sum(axis=(1, 2)) / np.maximum(os_.sum(axis=(1, 2)), 1)
        out.append(per_day / np.maximum(overall, MIN_LEVEL)[:, None])
    return out[0], out[1], f[:, -1, :]


def build_features(
    window: FloatArray,
    end_days: IntArray,
    horizon: int,
    exog_window: FloatArray,
    future_exog: FloatArray,
) -> FeatureRows:
    """Feature rows for forecasting days 1..`horizon` after each series' window.

    `window` `[n, w]` (w ≥ 28, a multiple of 7 keeps whole weeks) and `exog_window`
    `[n, w, e]` are right-aligned histories, `end_days` the last day of each (days since
    epoch), `future_exog` `[n, horizon, e]` the exogenous values of the target days.
    Rows are series-major: row `s*horizon + h`.
    """
    n = window.shape[0]
    e = exog_window.shape[2]
    observed = np.isfinite(window)
    filled = np.where(observed, window, 0.0)
    origin, level = _origin_block(window, filled, observed)
    idx56, idx364, last_same = _weekday_profiles(filled, observed)
    h = np.arange(1, horizon + 1)
    dow, dom, month = _calendar(end_days[:, None] + h[None, :])
    position = (h - 1) % 7  # weekday position of day end+h within the last week
    f0 = origin.shape[1]
    # built feature-major (each column contiguous), transposed once at the end
    xt = np.empty((f0 + 14 + 2 * e, n, horizon), dtype=np.float32)
    xt[:f0] = origin.T[:, :, None]
    xt[f0] = h[None, :]
    xt[f0 + 1] = dow
    xt[f0 + 2] = dom
    xt[f0 + 3] = month
    xt[f0 + 4] = idx56[:, position]
    xt[f0 + 5] = last_same[:, position] / level[:, None]
    xt[f0 + 6] = idx364[:, position]
    for d in range(7):
        xt[f0 + 7 + d] = dow == d
    for k in range(e):
        mean28 = exog_window[:, -28:, k].mean(axis=1)
        xt[f0 + 14 + 2 * k] = future_exog[:, :, k]
        xt[f0 + 15 + 2 * k] = future_exog[:, :, k] - mean28[:, None]
    x = np.ascontiguousarray(xt.reshape(xt.shape[0], n * horizon).T)
    bad = ~np.isfinite(x)
    if bad.any():
        x[bad] = 0.0
    return FeatureRows(x=x, level=np.repeat(level, horizon))
