"""Statistical baselines, vectorised over series: naive, seasonal naive, MA, SES, Croston, TSB.

Every baseline works on a right-aligned `[n_series, n_days]` history (NaN before a
series starts) and returns its point forecast `[n_series, horizon]` plus its in-sample
one-step-ahead fits, from which `baseline_quantiles` builds P10/P50/P90 so baselines
can be scored on pinball loss and coverage in the same harness as the model.

References: Croston (1972) "Forecasting and stock control for intermittent demands";
Teunter, Syntetos & Babai (2011) "Intermittent demand: linking forecasting to
inventory obsolescence" (TSB). Smoothing starts from the first observed value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from coordinator.forecast.errors import DataError
from coordinator.forecast.model.panel import FloatArray

QUANTILES = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class BaselineForecast:
    """A baseline's point forecast `[n, h]` and its one-step in-sample fits `[n, t]`."""

    name: str
    point: FloatArray
    fitted: FloatArray


def _check(y: FloatArray, horizon: int) -> None:
    if y.ndim != 2 or y.shape[1] == 0:
        raise DataError(f"history must be [n_series, n_days] with days, got {y.shape}")
    if horizon < 1:
        raise DataError(f"horizon must be ≥ 1, got {horizon}")


def _last_values(y: FloatArray, k: int) -> FloatArray:
    return y[:, -k:] if y.shape[1] >= k else y


def naive(y: FloatArray, horizon: int) -> BaselineForecast:
    """Tomorrow equals today: the last observed value, repeated."""
    _check(y, horizon)
    last = np.nan_to_num(y[:, -1])
    fitted = np.full_like(y, np.nan)
    fitted[:, 1:] = y[:, :-1]
    return BaselineForecast("Naive", np.repeat(last[:, None], horizon, axis=1), fitted)


def seasonal_naive(y: FloatArray, horizon: int, *, period_days: int = 7) -> BaselineForecast:
    """The value one season (default a week) earlier, repeated season after season."""
    _check(y, horizon)
    season = np.nan_to_num(_last_values(y, period_days))
    if season.shape[1] < period_days:
        season = np.pad(season, ((0, 0), (period_days - season.shape[1], 0)), mode="edge")
    point = season[:, np.arange(horizon) % period_days]
    fitted = np.full_like(y, np.nan)
    fitted[:, period_days:] = y[:, :-period_days]
    return BaselineForecast(f"sNaive{period_days}", point, fitted)


def moving_average(y: FloatArray, horizon: int, *, window_days: int = 28) -> BaselineForecast:
    """Mean of the last `window_days` observed days, flat over the horizon."""
    _check(y, horizon)
    level = np.nan_to_num(np.nanmean(_nan_safe(_last_values(y, window_days)), axis=1))
    filled = np.nan_to_num(y)
    counts = np.cumsum(np.isfinite(y), axis=1, dtype=np.float64)
    sums = np.cumsum(filled, axis=1)
    lag_sums = np.zeros_like(sums)
    lag_counts = np.zeros_like(counts)
    lag_sums[:, window_days:] = sums[:, :-window_days]
    lag_counts[:, window_days:] = counts[:, :-window_days]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_to_t = (sums - lag_sums) / (counts - lag_counts)
    fitted = np.full_like(y, np.nan)
    fitted[:, 1:] = mean_to_t[:, :-1]
    point = np.repeat(level[:, None], horizon, axis=1)
    return BaselineForecast(f"MA{window_days}", point, fitted)


def _nan_safe(block: FloatArray) -> FloatArray:
    # a series with no observed day in the block gets one 0 so nanmean stays quiet
    out = block.copy()
    empty = ~np.isfinite(out).any(axis=1)
    if empty.any():
        out[empty, -1] = 0.0
    return out


def ses(y: FloatArray, horizon: int, *, alpha: float = 0.1) -> BaselineForecast:
    """Simple exponential smoothing with a fixed `alpha`, started at the first value."""
    _check(y, horizon)
    n, t = y.shape
    level = np.full(n, np.nan)
    fitted = np.full_like(y, np.nan)
    for i in range(t):
        fitted[:, i] = level
        v = y[:, i]
        seen = np.isfinite(v)
        start = seen & ~np.isfinite(level)
        level = np.where(start, v, level)
        upd = seen & ~start
        level = np.where(upd, alpha * v + (1 - alpha) * level, level)
    point = np.repeat(np.nan_to_num(level)[:, None], horizon, axis=1)
    return BaselineForecast(f"SES{alpha:g}", point, fitted)


def _intermittent(
    y: FloatArray, horizon: int, *, name: str, step: Callable[..., tuple[FloatArray, ...]]
) -> BaselineForecast:
    _check(y, horizon)
    n, t = y.shape
    state = (np.full(n, np.nan), np.full(n, np.nan), np.zeros(n))  # size, interval/prob, gap
    fitted = np.full_like(y, np.nan)
    forecast = np.full(n, np.nan)
    for i in range(t):
        fitted[:, i] = forecast
        *state_list, forecast = step(y[:, i], *state)
        state = (state_list[0], state_list[1], state_list[2])
    point = np.repeat(np.nan_to_num(forecast)[:, None], horizon, axis=1)
    return BaselineForecast(name, point, fitted)


def croston(y: FloatArray, horizon: int, *, alpha: float = 0.1) -> BaselineForecast:
    """Croston's method: smoothed demand size over smoothed interval between demands."""

    def step(
        v: FloatArray, size: FloatArray, interval: FloatArray, gap: FloatArray
    ) -> tuple[FloatArray, ...]:
        seen = np.isfinite(v)
        gap = np.where(seen, gap + 1, gap)
        demand = seen & (v > 0)
        first = demand & ~np.isfinite(size)
        size = np.where(first, v, np.where(demand, alpha * v + (1 - alpha) * size, size))
        interval = np.where(
            first, gap, np.where(demand, alpha * gap + (1 - alpha) * interval, interval)
        )
        gap = np.where(demand, 0.0, gap)
        with np.errstate(invalid="ignore", divide="ignore"):
            forecast = np.where(np.isfinite(size), size / interval, 0.0)
        return size, interval, gap, forecast

    return _intermittent(y, horizon, name=f"Croston{alpha:g}", step=step)


def tsb(
    y: FloatArray, horizon: int, *, alpha_size: float = 0.1, alpha_prob: float = 0.1
) -> BaselineForecast:
    """TSB: smoothed demand size times a demand probability updated every period."""

    def step(
        v: FloatArray, size: FloatArray, prob: FloatArray, gap: FloatArray
    ) -> tuple[FloatArray, ...]:
        seen = np.isfinite(v)
        demand = seen & (v > 0)
        started = np.isfinite(prob)
        prob = np.where(
            seen & ~started,
            demand.astype(np.float64),
            np.where(seen, alpha_prob * demand + (1 - alpha_prob) * prob, prob),
        )
        first = demand & ~np.isfinite(size)
        size = np.where(first, v, np.where(demand, alpha_size * v + (1 - alpha_size) * size, size))
        forecast = np.where(np.isfinite(size), size * prob, 0.0)
        return size, prob, gap, forecast

    return _intermittent(y, horizon, name="TSB", step=step)


def moving_average_7(y: FloatArray, horizon: int) -> BaselineForecast:
    """Mean of the last 7 observed days, flat over the horizon."""
    return moving_average(y, horizon, window_days=7)


BASELINES: dict[str, Callable[[FloatArray, int], BaselineForecast]] = {
    "Naive": naive,
    "sNaive7": seasonal_naive,
    "MA7": moving_average_7,
    "MA28": moving_average,
    "SES": ses,
    "Croston": croston,
    "TSB": tsb,
}


def baseline_quantiles(
    forecast: BaselineForecast, y: FloatArray, *, window_days: int = 364
) -> FloatArray:
    """P10/P50/P90 `[n, h, 3]`: the point forecast plus quantiles of recent one-step errors.

    The errors are those of the baseline's own in-sample fits over the last
    `window_days`; results are clipped at 0 since demand cannot be negative.
    """
    resid = (y - forecast.fitted)[:, -window_days:]
    out = np.zeros((*forecast.point.shape, len(QUANTILES)))
    for s in range(resid.shape[0]):
        r = resid[s][np.isfinite(resid[s])]
        qs = np.quantile(r, QUANTILES) if r.size else np.zeros(len(QUANTILES))
        out[s] = forecast.point[s][:, None] + qs[None, :]
    return np.asarray(np.clip(np.sort(out, axis=2), 0.0, None), dtype=np.float64)
