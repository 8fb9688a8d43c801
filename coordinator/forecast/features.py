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
    for e in exog_names:
        names += [f"{e}_target", f"{e}_vs_mean28"]
    return tuple(names)


def _nanmean(block: FloatArray) -> FloatArray:
    counts = np.isfinite(block).sum(axis=1)
    sums = np.nansum(block, axis=1)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)


def level_scale(window: FloatArray) -> FloatArray:
    """Per-series level used to normalise features and targets: mean of the last 28 days."""
    return np.maximum(_nanmean(window[:, -28:]), MIN_LEVEL)


def _ses(window: FloatArray, alpha: float) -> FloatArray:
    level = np.full(window.shape[0], np.nan)
    for i in range(window.shape[1]):
        v = window[:, i]
        seen = np.isfinite(v)
        level = np.where(seen & np.isnan(level), v, level)
        level = np.where(seen, alpha * v + (1 - alpha) * level, level)
    return np.asarray(np.nan_to_num(level), dtype=np.float64)


def _calendar(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    dates = days.astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    dom = (dates - months).astype(np.int64) + 1
    month = months.astype(np.int64) % 12 + 1
    dow = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    return dow.astype(np.int64), dom, month.astype(np.int64)


def _origin_block(window: FloatArray, level: FloatArray) -> list[FloatArray]:
    w = window.shape[1]
    cols = [_nanmean(window[:, -k:]) / level for k in _MA_SPANS]
    cols += [_ses(window[:, -min(w, 182) :], a) / level for a in _SES_ALPHAS]
    cols += [np.nan_to_num(window[:, -k]) / level for k in range(1, _N_LAGS + 1)]
    last28 = window[:, -28:]
    observed = np.isfinite(window)
    cols.append(np.nan_to_num(np.nanstd(_pad_empty(last28), axis=1)) / level)
    cols.append(
        _nanmean((last28 == 0).astype(np.float64) * np.where(np.isfinite(last28), 1, np.nan))
    )
    cols.append(_nanmean((window == 0).astype(np.float64) * np.where(observed, 1, np.nan)))
    sold = (window > 0)[:, ::-1]
    since = np.where(sold.any(axis=1), sold.argmax(axis=1), w).astype(np.float64)
    cols.append(np.minimum(since, w) / 28.0)
    sizes = np.where(last28 > 0, last28, np.nan)
    cols.append(_nanmean(sizes) / level)
    cols.append(np.log(level))
    cols.append(observed.sum(axis=1) / float(w))
    cols.append(_nanmean(window[:, -28:]) / np.maximum(_nanmean(window), MIN_LEVEL))
    return cols


def _pad_empty(block: FloatArray) -> FloatArray:
    out = block.copy()
    empty = ~np.isfinite(out).any(axis=1)
    out[empty, -1] = 0.0
    return out


def build_features(
    window: FloatArray,
    end_days: IntArray,
    horizon: int,
    exog_window: FloatArray,
    future_exog: FloatArray,
) -> FeatureRows:
    """Feature rows for forecasting days 1..`horizon` after each series' window.

    `window` `[n, w]` and `exog_window` `[n, w, e]` are right-aligned histories,
    `end_days` the last day of each (days since epoch), `future_exog` `[n, horizon, e]`
    the exogenous values of the target days. Rows are series-major: row `s*horizon + h`.
    """
    n, w = window.shape
    e = exog_window.shape[2]
    level = level_scale(window)
    origin = np.stack(_origin_block(window, level), axis=1)  # [n, f0]
    h = np.arange(1, horizon + 1)
    target_days = end_days[:, None] + h[None, :]
    dow, dom, month = _calendar(target_days)
    # weekday profile: mean on the target weekday over 8 / 52 weeks relative to the mean
    col_days = end_days[:, None] - np.arange(w - 1, -1, -1)[None, :]
    col_dow = (col_days + 3) % 7
    idx56 = np.zeros((n, 7))
    idx364 = np.zeros((n, 7))
    last_same = np.zeros((n, 7))
    for d in range(7):
        mask = col_dow == d
        for span, out in ((56, idx56), (364, idx364)):
            block = np.where(mask[:, -span:], window[:, -span:], np.nan)
            base = np.maximum(_nanmean(window[:, -span:]), MIN_LEVEL)
            out[:, d] = _nanmean(block) / base
        pos = w - 1 - np.argmax(mask[:, ::-1], axis=1)
        last_same[:, d] = np.nan_to_num(window[np.arange(n), pos]) / level
    rows = np.arange(n)[:, None]
    target = [
        np.broadcast_to(h[None, :], (n, horizon)).astype(np.float64),
        dow.astype(np.float64),
        dom.astype(np.float64),
        month.astype(np.float64),
        idx56[rows, dow],
        last_same[rows, dow],
        idx364[rows, dow],
    ]
    for k in range(e):
        mean28 = _nanmean(exog_window[:, -28:, k])
        target.append(future_exog[:, :, k])
        target.append(future_exog[:, :, k] - mean28[:, None])
    x = np.concatenate(
        [np.repeat(origin, horizon, axis=0), np.stack(target, axis=2).reshape(n * horizon, -1)],
        axis=1,
    )
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
    return FeatureRows(x=x, level=np.repeat(level, horizon))
