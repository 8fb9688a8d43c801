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

from coordinator.forecast.model.panel import FloatArray, IntArray

WINDOW_DAYS = 364
MIN_LEVEL = 0.05
_MA_SPANS = (7, 14, 28, 56, 112, 364)
_SES_ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.3)
_SES_NAMED = (0.05, 0.1, 0.2)
_TSB_ALPHA = 0.1
_N_LAGS = 7
# Statistical forecasts among the features (as ratios to the level) that the exported
# graph averages into the mean: MA28, TSB and least-squares SES (ETS(A,N,N)).
STAT_FEATURES = ("ma28_rel", "tsb_rel", "ses_fit_rel")
# The MA28 baseline's quantiles as the harness builds them (point plus quantiles of its
# one-step errors over the window), as ratios: MA28 ratio + these error quantiles.
ERROR_QUANTILE_FEATURES = ("ma28_err_q10_rel", "ma28_err_q50_rel", "ma28_err_q90_rel")
_ERROR_QUANTILES = (0.1, 0.5, 0.9)
# The winsorised 28-day mean (`winsorised_mean`) as a ratio: a level that one bulk order
# does not lift for four weeks. Only the output head reads it (`HEAD_ONLY_FEATURES`).
# The cap's quantile was chosen on the validation windows of the retail and M5 sets
# (0.6–0.85 score alike there; 0.9 and 0.95 less well).
WINSORISED_FEATURE = "wins28_rel"
WINSORISED_DAYS = 28
WINSORISED_QUANTILE = 0.8
# A day on which no series of the panel sold although, by each series' share of zero
# days on that weekday, that had a chance below this is a day the shop was closed
# (a bank holiday, a stock-take); the winsorised level leaves such days out. Chosen on
# the validation windows of the retail set, where 4 of the 28 days before one cut were
# Easter and bank-holiday closures; a panel of a few series never meets it by chance.
CLOSED_DAY_PROBABILITY = 1e-6
# 0 on a target day the whole panel is expected to be closed (`closures`), else 1: the
# exported head may multiply the forecast by it.
OPEN_FEATURE = "target_open"
# Columns the network does not see (its first-layer weights for them are 0): statistical
# forecasts and the closure calendar that the exported head mixes into the output.
HEAD_ONLY_FEATURES = (WINSORISED_FEATURE, OPEN_FEATURE)


@dataclass(frozen=True)
class FeatureRows:
    """Model inputs `x` `[n*h, n_features]` (float32) and the level `[n*h]` to scale back."""

    x: np.ndarray
    level: FloatArray


def feature_names(exog_names: tuple[str, ...]) -> tuple[str, ...]:
    """Column names of the feature matrix, in order, for a given set of exogenous columns."""
    names = [f"ma{k}_rel" for k in _MA_SPANS]
    names += [f"ses{a:g}_rel" for a in _SES_NAMED]
    names += ["ses_fit_rel", "ses_fit_alpha", "tsb_rel"]
    names += [f"lag{k}_rel" for k in range(1, _N_LAGS + 1)]
    names += ["std28_rel", "zero_share28", "zero_share364", "days_since_sale", "size28_rel"]
    names += ["log_level", "history_share", "trend_28_364"]
    names += list(ERROR_QUANTILE_FEATURES)
    names += [WINSORISED_FEATURE]
    names += ["horizon", "target_dow", "target_dom", "target_month"]
    names += ["dow_index56", "same_dow_last_rel", "dow_index364"]
    names += [f"target_is_dow{d}" for d in range(7)]
    names += [OPEN_FEATURE]
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


def _first_observed(window: FloatArray) -> FloatArray:
    observed = np.isfinite(window)
    first = np.where(observed.any(axis=1), observed.argmax(axis=1), 0)
    return np.asarray(np.nan_to_num(window[np.arange(window.shape[0]), first]), np.float64)


@dataclass(frozen=True)
class _Smoothing:
    """Exponential smoothing states at the end of a window (each `[n]` or `[alphas, n]`)."""

    ses_levels: FloatArray  # `[len(_SES_ALPHAS), n]`
    ses_sse: FloatArray  # each alpha's sum of squared one-step errors
    tsb: FloatArray


def _smoothing(window: FloatArray, filled: FloatArray, observed: np.ndarray) -> _Smoothing:
    """One pass over the window for the SES grid and TSB.

    SES levels start at each series' first value; the alpha with the smallest sum of
    squared one-step errors is the least-squares fit of ETS(A,N,N) over the grid. TSB
    (Teunter, Syntetos & Babai 2011) smooths the demand size and the demand probability
    with `_TSB_ALPHA`, as `baselines.tsb` does.
    """
    a = np.asarray(_SES_ALPHAS)[:, None]
    first = _first_observed(window)
    level = np.repeat(first[None, :], len(_SES_ALPHAS), axis=0)
    sse = np.zeros_like(level)
    positive = filled > 0
    size = np.where(
        positive.any(axis=1), filled[np.arange(len(filled)), positive.argmax(axis=1)], 0
    ).astype(np.float64)
    prob = (first > 0).astype(np.float64)
    values = np.ascontiguousarray(filled.T)
    seen_t = np.ascontiguousarray(observed.T)
    all_seen = bool(observed.all())
    for v, o in zip(values, seen_t, strict=True):
        err = v - level
        if not all_seen:
            err *= o
        sse += err * err
        level += a * err
        d = v > 0
        if all_seen:
            prob += _TSB_ALPHA * (d - prob)
        else:
            prob += _TSB_ALPHA * o * (d - prob)
        size += _TSB_ALPHA * d * (v - size)
    return _Smoothing(ses_levels=level, ses_sse=sse, tsb=size * prob)


def _ma28_error_quantiles(filled: FloatArray, observed: np.ndarray) -> FloatArray:
    """Quantiles `[3, n]` of the one-step errors of the 28-day moving average over the
    window (days with 28 days before them inside it; 0 where a series has none)."""
    n, w = filled.shape
    sums = np.zeros((n, w + 1))
    np.cumsum(filled, axis=1, out=sums[:, 1:])
    past = sums[:, 28:w] - sums[:, : w - 28]
    out = np.zeros((len(_ERROR_QUANTILES), n))
    if observed.all():  # the common case: one partial sort at fixed ranks
        err = filled[:, 28:] - past / 28.0
        return _order_quantiles(err, np.full(n, w - 28), True)
    counts = np.zeros((n, w + 1))
    np.cumsum(observed, axis=1, out=counts[:, 1:])
    seen = counts[:, 28:w] - counts[:, : w - 28]
    valid = observed[:, 28:] & (seen > 0)
    err = np.where(valid, filled[:, 28:] - past / np.maximum(seen, 1), np.inf)
    m = valid.sum(axis=1)
    full = m == w - 28
    if full.any():
        out[:, full] = _order_quantiles(err[full], m[full], True)
    if (~full).any():
        out[:, ~full] = _order_quantiles(err[~full], m[~full], False)
    return out


def _order_quantiles(err: FloatArray, m: np.ndarray, same_count: bool) -> FloatArray:
    """Linear-interpolated quantiles of the first `m` finite values of each row."""
    n = len(err)
    lo = [np.floor(q * np.maximum(m - 1, 0)).astype(np.int64) for q in _ERROR_QUANTILES]
    hi = [np.minimum(a + 1, np.maximum(m - 1, 0)) for a in lo]
    if same_count:
        ranks = sorted({int(a[0]) for a in lo} | {int(b[0]) for b in hi})
        ordered = np.partition(err, ranks, axis=1)
    else:
        ordered = np.sort(err, axis=1)
    rows = np.arange(n)
    out = np.zeros((len(_ERROR_QUANTILES), n))
    some = m > 0  # rows without any value (all inf) keep 0
    for i, q in enumerate(_ERROR_QUANTILES):
        frac = q * np.maximum(m - 1, 0) - lo[i]
        below = np.where(some, ordered[rows, lo[i]], 0.0)
        above = np.where(some, ordered[rows, hi[i]], 0.0)
        out[i] = below * (1 - frac) + above * frac
    return out


def selling_day_cap(filled: FloatArray, quantile: float) -> FloatArray:
    """Per series `[n]`: the `quantile` (linear interpolation, as `np.quantile`) of its
    selling days' values (`filled` > 0); 0 for a series that sold on none."""
    selling = filled > 0
    m = selling.sum(axis=1)
    ordered = np.sort(np.where(selling, filled, np.inf), axis=1)
    position = quantile * np.maximum(m - 1, 0)
    lo = np.floor(position).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(m - 1, 0))
    rows = np.arange(len(filled))
    frac = position - lo
    some = m > 0
    below = np.where(some, ordered[rows, lo], 0.0)
    above = np.where(some, ordered[rows, hi], 0.0)
    return np.asarray(below * (1 - frac) + above * frac, dtype=np.float64)


def closed_days(
    filled: FloatArray,
    observed: np.ndarray,
    end_days: IntArray,
    *,
    probability: float = CLOSED_DAY_PROBABILITY,
) -> np.ndarray:
    """Per cell of a right-aligned window `[n, w]`: was that calendar day a day the whole
    panel was closed? True where no series sold on the day and the chance of that, the
    product over the series observed that day of each one's share of zero days on that
    weekday in the window, is below `probability`. A weekday the shop never trades on
    (zero share 1) is not a closure: the weekday shape carries it. Series are aligned by
    calendar day, so their windows may end on different days."""
    n, w = filled.shape
    if n == 0 or w == 0:
        return np.zeros((n, w), dtype=bool)
    log_p = np.log(probability)
    zero_day = observed & (filled == 0)
    if bool((end_days == end_days[0]).all()):  # one calendar: columns are days
        closed = np.zeros(w, dtype=bool)
        candidates = np.flatnonzero(~(filled > 0).any(axis=0))  # only a day nobody sold on
        if candidates.size:
            dow_row = (int(end_days[0]) - (w - 1) + np.arange(w) + 3) % 7  # Monday = 0
            on = [dow_row == d for d in range(7)]
            zeros = np.stack([zero_day[:, c].sum(axis=1) for c in on], axis=1)
            seen = np.stack([observed[:, c].sum(axis=1) for c in on], axis=1)
            share = zeros / np.maximum(seen, 1)
            log_share = np.log(np.maximum(np.where(seen > 0, share, 1.0), 1e-300))
            cells = observed[:, candidates].astype(np.float64)
            log_chance = (cells.T @ log_share)[np.arange(candidates.size), dow_row[candidates]]
            closed[candidates] = log_chance < log_p
        return np.broadcast_to(closed, (n, w)).copy()
    day = end_days[:, None] - (w - 1) + np.arange(w)[None, :]
    dow = ((day + 3) % 7).astype(np.int64)
    key = (np.arange(n)[:, None] * 7 + dow).ravel()
    zero = np.bincount(key, weights=zero_day.ravel(), minlength=7 * n)
    counts = np.bincount(key, weights=observed.ravel(), minlength=7 * n)
    share = np.where(counts > 0, zero / np.maximum(counts, 1), 1.0)
    log_share = np.log(np.maximum(share, 1e-300)).reshape(n, 7)
    cell = np.where(observed, np.take_along_axis(log_share, dow, axis=1), 0.0)
    first = int(day.min())
    index = (day - first).ravel()
    span = int(day.max()) - first + 1
    sold = np.bincount(index, weights=(filled > 0).ravel(), minlength=span) > 0
    log_chance_by_day = np.bincount(index, weights=cell.ravel(), minlength=span)
    by_day = ~sold & (log_chance_by_day < log_p)
    return np.asarray(by_day[day - first], dtype=bool)


def winsorised_mean(
    filled: FloatArray,
    observed: np.ndarray,
    *,
    days: int = WINSORISED_DAYS,
    quantile: float = WINSORISED_QUANTILE,
    closed: np.ndarray | None = None,
) -> FloatArray:
    """Per series `[n]`: the mean of its last `days` observed days, each first capped at
    `selling_day_cap` over the whole window (a bulk order counts as an ordinary high
    day); 0 for a series without an observed day among them. Days marked in `closed`
    (`closed_days`, same shape as `filled`) count as not observed: the mean is the level
    of a trading day, not lowered by holidays inside the last `days`."""
    cap = selling_day_cap(filled, quantile)
    capped = np.minimum(filled[:, -days:], cap[:, None])
    counted = observed[:, -days:]
    if closed is not None:
        counted = counted & ~closed[:, -days:]
    seen = counted.sum(axis=1)
    total = np.where(counted, capped, 0.0).sum(axis=1)
    return np.asarray(np.where(seen > 0, total / np.maximum(seen, 1), 0.0), dtype=np.float64)


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
    window: FloatArray, filled: FloatArray, observed: np.ndarray, end_days: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Features that depend on the history only: `[n, f0]`, and the level."""
    w = window.shape[1]
    sums = _Sums(filled, observed)
    level = np.maximum(sums.mean(28), MIN_LEVEL)
    cols = [sums.mean(k) / level for k in _MA_SPANS]
    smooth = _smoothing(window, filled, observed)
    cols += [smooth.ses_levels[_SES_ALPHAS.index(a)] / level for a in _SES_NAMED]
    best = smooth.ses_sse.argmin(axis=0)
    cols.append(smooth.ses_levels[best, np.arange(len(best))] / level)
    cols.append(np.asarray(_SES_ALPHAS)[best])
    cols.append(smooth.tsb / level)
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
    cols += list(_ma28_error_quantiles(filled, observed) / level)
    closed = closed_days(filled, observed, end_days)
    cols.append(winsorised_mean(filled, observed, closed=closed) / level)
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
    *,
    closed_ahead: np.ndarray | None = None,
) -> FeatureRows:
    """Feature rows for forecasting days 1..`horizon` after each series' window.

    `window` `[n, w]` (w ≥ 28, a multiple of 7 keeps whole weeks) and `exog_window`
    `[n, w, e]` are right-aligned histories, `end_days` the last day of each (days since
    epoch), `future_exog` `[n, horizon, e]` the exogenous values of the target days,
    `closed_ahead` `[n, horizon]` the target days the panel is expected to be closed
    (`closures.closures_ahead`; None: none). Rows are series-major: row `s*horizon + h`.
    """
    n = window.shape[0]
    e = exog_window.shape[2]
    observed = np.isfinite(window)
    filled = np.where(observed, window, 0.0)
    origin, level = _origin_block(window, filled, observed, end_days)
    idx56, idx364, last_same = _weekday_profiles(filled, observed)
    h = np.arange(1, horizon + 1)
    dow, dom, month = _calendar(end_days[:, None] + h[None, :])
    position = (h - 1) % 7  # weekday position of day end+h within the last week
    f0 = origin.shape[1]
    # built feature-major (each column contiguous), transposed once at the end
    xt = np.empty((f0 + 15 + 2 * e, n, horizon), dtype=np.float32)
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
    xt[f0 + 14] = 1.0 if closed_ahead is None else ~closed_ahead
    for k in range(e):
        mean28 = exog_window[:, -28:, k].mean(axis=1)
        xt[f0 + 15 + 2 * k] = future_exog[:, :, k]
        xt[f0 + 16 + 2 * k] = future_exog[:, :, k] - mean28[:, None]
    x = np.ascontiguousarray(xt.reshape(xt.shape[0], n * horizon).T)
    bad = ~np.isfinite(x)
    if bad.any():
        x[bad] = 0.0
    return FeatureRows(x=x, level=np.repeat(level, horizon))
