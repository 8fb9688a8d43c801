"""How much a demand forecast can gain over the baselines on a panel, and what two
count-data ideas would change: oracles, a stock-out gate and whole-unit quantiles.

    .venv/bin/python benchmarks/forecast_headroom.py [--data CSV] [--horizon 28]
        [--windows 4] [--drop-last 0] [--with-model]

On the last `--windows` windows of `--horizon` days (after dropping `--drop-last` days;
`--drop-last 112 --windows 6` gives the six validation windows before the M5 backtest),
it prints mean RMSSE and scaled pinball loss of:
- every baseline, as `forecast eval` scores it;
- oracles that know each window's actual mean: flat, and with the weekday shape of the
  year before the cut (what a perfect level estimate would gain), and each day forecast
  by the mean of the window's other days (a perfect level without fitting the day's own
  noise);
- the stock-out gate: forecast 0 while a series' trailing run of zeros is improbable
  under its own share of zero days in the year before the run (p0 ** run < 1e-3);
- quantiles rounded to whole units (each true quantile of a count is an integer);
- offline statistical levels times the panel's pooled weekday shape: MA28, a winsorised
  28/56-day mean (each day capped at a high quantile of the series' selling days), and
  MA28 times only the closed days of that shape;
- the served statistical part offline (the winsorised 28-day mean over trading days,
  q0.8, times the pooled shape) and the closure calendar on it (`model.closures`: 0 on
  an expected closure), with each of its rules alone, with factors for the trading days
  next to a closure (the panel's ratio on such days in its history), with the shape
  pooled within thirds of the series by zero share, and with the level shrunk toward
  the series' winsorised 91-day mean times the panel's ratio (k = 1, 4 selling days).
With `--with-model`, the model is trained before each cut (as `forecast eval` does) and
the gate and the rounding are applied to it too; its P50 and mixes of mean and P50 are
scored as point forecasts beside its mean.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from coordinator.forecast.model.baselines import (
    BASELINES,
    QUANTILES,
    BaselineForecast,
    baseline_quantiles,
)
from coordinator.forecast.model.closures import (
    CALENDAR_DAYS,
    ClosureCalendar,
    calendar_of,
    closures_ahead,
)
from coordinator.forecast.model.csv_input import read_csv
from coordinator.forecast.model.features import closed_days
from coordinator.forecast.model.features import winsorised_mean as served_level
from coordinator.forecast.model.panel import FloatArray, SeriesPanel
from coordinator.forecast.model.weekday import FLAT, pooled_weekday_shape, weekday_of
from coordinator.forecast.training.metrics import rmsse, scaled_pinball
from flexfleet.commands.forecast import DEFAULT_EVAL_FILE, shared_data_dir

GATE_PROBABILITY = 1e-3
# (point [n, h], quantiles [n, h, 3] or None) from the training part and the cut
Method = Callable[[FloatArray, int], tuple[FloatArray, FloatArray | None]]
Baseline = Callable[[FloatArray, int], BaselineForecast]


def stocked_out(train: FloatArray) -> np.ndarray:
    """Per series: is its trailing run of zeros improbable under its earlier zero share?"""
    out = []
    for row in train:
        values = row[np.isfinite(row)]
        sold = np.flatnonzero(values > 0)
        run = len(values) - 1 - int(sold[-1]) if sold.size else len(values)
        before = values[: len(values) - run][-364:]
        p0 = float((before == 0).mean()) if before.size else 1.0
        out.append(run > 0 and p0**run < GATE_PROBABILITY)
    return np.array(out, dtype=bool)


def closed_day_shape(shape: tuple[float, ...], closed_below: float = 0.05) -> tuple[float, ...]:
    """Only the weekdays the panel does not trade on (pooled shape below `closed_below`):
    0 there, the other days flat and scaled to a mean of 1."""
    closed = [v < closed_below for v in shape]
    open_days = 7 - sum(closed)
    if open_days in (0, 7):
        return FLAT
    return tuple(0.0 if c else 7 / open_days for c in closed)


def winsorised_mean(train: FloatArray, days: int, quantile: float) -> FloatArray:
    """Mean of the last `days` days, each capped at the series' `quantile` of its selling
    days over the year before the cut (bulk orders cut back to an ordinary high day)."""
    year = np.nan_to_num(train[:, -364:])
    selling = np.where(year > 0, year, np.nan)
    selling[~(year > 0).any(axis=1)] = 0.0
    cap = np.nanquantile(selling, quantile, axis=1)
    return np.asarray(np.minimum(np.nan_to_num(train[:, -days:]), cap[:, None]).mean(axis=1))


def weekday_shape(panel: SeriesPanel, cut: int, horizon: int) -> FloatArray:
    """Per series and target day: mean on that weekday over the year before `cut`,
    relative to the year's mean (`[n, horizon]`)."""
    year = np.nan_to_num(panel.y[:, max(0, cut - 364) : cut])
    weekday = (np.arange(cut - year.shape[1], cut) % 7)[None, :]
    means = np.stack([year[:, weekday[0] == d].mean(axis=1) for d in range(7)], axis=1)
    shape = means / np.maximum(means.mean(axis=1, keepdims=True), 1e-9)
    return np.asarray(shape[:, np.arange(cut, cut + horizon) % 7])


def _calendar(history: SeriesPanel) -> ClosureCalendar:
    recent = history.y[:, -CALENDAR_DAYS:]
    observed = np.isfinite(recent)
    filled = np.where(observed, recent, 0.0)
    return calendar_of(
        closed_days(filled, observed, history.end_days), observed, filled, history.end_days
    )


def _one_rule(
    calendar: ClosureCalendar, days: np.ndarray, shift: Callable[[int], int]
) -> np.ndarray:
    """Expected closures `[n, h]` by one rule only: `shift(day)` closed a year earlier."""
    unique = np.unique(days)
    out = []
    for d in unique:
        i = shift(int(d)) - calendar.first_day
        out.append(0 <= i < len(calendar.closed) and bool(calendar.closed[i]))
    return np.asarray(np.asarray(out)[np.searchsorted(unique, days)], dtype=bool)


def _same_date(day: int) -> int:
    import datetime as dt

    d = dt.date(1970, 1, 1) + dt.timedelta(days=day)
    before = d.replace(
        year=d.year - 1, day=min(d.day, 28) if (d.month, d.day) == (2, 29) else d.day
    )
    return (before - dt.date(1970, 1, 1)).days


def _neighbour_factors(calendar: ClosureCalendar, tot: FloatArray) -> tuple[float, float]:
    """The panel's sales on the trading day before / after a closure run in its history,
    over its mean on the same weekday 1–4 weeks either side (closures and neighbours out)."""
    closed = calendar.closed
    off = closed | ~calendar.seen
    n = len(closed)
    before, after = _runs(closed, off)
    special = closed.copy()
    special[before] = True
    special[after] = True
    out = []
    for idx in (before, after):
        actual = ref = 0.0
        for t in idx:
            same = [t + 7 * m for m in (-4, -3, -2, -1, 1, 2, 3, 4) if 0 <= t + 7 * m < n]
            same = [u for u in same if not special[u]]
            if same:
                actual += tot[t]
                ref += float(np.mean(tot[same]))
        out.append(actual / ref if ref > 0 else 1.0)
    return out[0], out[1]


def _runs(closed: np.ndarray, off: np.ndarray) -> tuple[list[int], list[int]]:
    """The trading days just before and after each run of closures (and days off)."""
    before, after = [], []
    n, j = len(closed), 0
    while j < n:
        if not closed[j]:
            j += 1
            continue
        a, b = j, j
        while a > 0 and off[a - 1]:
            a -= 1
        while b + 1 < n and off[b + 1]:
            b += 1
        if a > 0:
            before.append(a - 1)
        if b + 1 < n:
            after.append(b + 1)
        j = b + 1
    return before, after


def _year(history: SeriesPanel) -> tuple[FloatArray, np.ndarray, np.ndarray]:
    window = history.y[:, -364:]
    observed = np.isfinite(window)
    filled = np.where(observed, window, 0.0)
    return filled, observed, closed_days(filled, observed, history.end_days)


def _neighbour_gate(history: SeriesPanel, calendar: ClosureCalendar, gate: FloatArray) -> None:
    """Multiply `gate` on the trading days next to an expected closure by the panel's
    ratio on such days in its history (`_neighbour_factors`)."""
    horizon = gate.shape[1]
    recent = np.nan_to_num(history.y[:, -CALENDAR_DAYS:])
    factors = _neighbour_factors(calendar, recent.sum(axis=0))
    ahead = np.r_[calendar.closed, gate[0] == 0]
    off = ahead | ~np.r_[calendar.seen, np.ones(horizon, bool)]
    past = len(calendar.closed)
    for factor, days in zip(factors, _runs(ahead, off), strict=True):
        for t in days:
            if t >= past:
                gate[:, t - past] *= factor


def _group_shape(history: SeriesPanel, shape: FloatArray, days: np.ndarray) -> None:
    """Replace `shape` by the pooled shape of each third of the series by zero share."""
    share = (np.nan_to_num(history.y[:, -364:]) == 0).mean(axis=1)
    group = np.searchsorted(np.quantile(share, [1 / 3, 2 / 3]), share)
    for g in range(3):
        rows = np.flatnonzero(group == g)
        if len(rows) >= 5:
            own = np.asarray(pooled_weekday_shape(history.select(rows)))
            shape[rows] = own[weekday_of(days[rows])]


def _shrunk_level(history: SeriesPanel, level: FloatArray, k: float) -> FloatArray:
    """The level as the winsorised 91-day mean times its 28-day ratio, that ratio shrunk
    toward the panel's with `k` pseudo selling days."""
    filled, observed, closed = _year(history)
    long = served_level(filled, observed, days=91, closed=closed)
    sold = (filled[:, -28:] > 0).sum(axis=1)
    ok = long > 0
    ratio = np.where(ok, level / np.where(ok, long, 1.0), 1.0)
    panel_ratio = level.sum() / max(float(long.sum()), 1e-9)
    shrunk = (sold * ratio + k * panel_ratio) / (sold + k)
    return np.asarray(np.where(ok, long * shrunk, level))


def served_methods(panel: SeriesPanel, horizon: int) -> dict[str, Method]:
    """The served statistical part offline and the closure-calendar variants on it."""

    def variant(kind: str) -> Method:
        def run(_train: FloatArray, cut: int) -> tuple[FloatArray, None]:
            history = panel.head(cut)
            filled, observed, closed = _year(history)
            level = served_level(filled, observed, closed=closed)
            days = history.end_days[:, None] + 1 + np.arange(horizon)[None, :]
            shape = np.asarray(pooled_weekday_shape(history))[weekday_of(days)]
            calendar = _calendar(history)
            expected = closures_ahead(calendar, history.end_days, horizon)
            if kind == "none":
                expected[:] = False
            elif kind == "weekday":
                expected = _one_rule(calendar, days, lambda d: d - 364)
            elif kind == "date":
                expected = _one_rule(calendar, days, _same_date)
            gate = np.where(expected, 0.0, 1.0)
            if kind == "neighbours":
                _neighbour_gate(history, calendar, gate)
            elif kind == "groups":
                _group_shape(history, shape, days)
            elif kind.startswith("shrink"):
                level = _shrunk_level(history, level, float(kind[6:]))
            return level[:, None] * shape * gate, None

        return run

    return {
        "served stat part offline: wins28 open x shape": variant("none"),
        "  x closure calendar (kept)": variant("calendar"),
        "  x closures by the weekday rule only": variant("weekday"),
        "  x closures by the date rule only": variant("date"),
        "  x calendar and neighbour-day factors": variant("neighbours"),
        "  x calendar, shape by zero-share third": variant("groups"),
        "  x calendar, level shrunk (k=1)": variant("shrink1"),
        "  x calendar, level shrunk (k=4)": variant("shrink4"),
    }


def methods(panel: SeriesPanel, horizon: int) -> dict[str, Method]:
    """Every method to score, by name."""
    out: dict[str, Method] = {}
    for name, fit in BASELINES.items():

        def baseline(
            train: FloatArray, _cut: int, fit: Baseline = fit
        ) -> tuple[FloatArray, FloatArray]:
            forecast = fit(train, horizon)
            return forecast.point, baseline_quantiles(forecast, train)

        out[name] = baseline

    def oracle(_train: FloatArray, cut: int) -> tuple[FloatArray, None]:
        actual = panel.y[:, cut : cut + horizon]
        return np.repeat(actual.mean(axis=1, keepdims=True), horizon, axis=1), None

    def oracle_weekday(train: FloatArray, cut: int) -> tuple[FloatArray, None]:
        return oracle(train, cut)[0] * weekday_shape(panel, cut, horizon), None

    def oracle_others(_train: FloatArray, cut: int) -> tuple[FloatArray, None]:
        actual = panel.y[:, cut : cut + horizon]
        return (actual.sum(axis=1, keepdims=True) - actual) / (horizon - 1), None

    def shaped(
        shape_of: Callable[[tuple[float, ...]], tuple[float, ...]],
        level: Callable[[FloatArray], FloatArray] | None = None,
    ) -> Method:
        def run(train: FloatArray, cut: int) -> tuple[FloatArray, FloatArray | None]:
            history = panel.head(cut)
            shape = np.asarray(shape_of(pooled_weekday_shape(history)))
            days = history.end_days[:, None] + 1 + np.arange(horizon)[None, :]
            factor = shape[weekday_of(days)]
            if level is not None:
                return level(train)[:, None] * factor, None
            forecast = BASELINES["MA28"](train, horizon)
            quantiles = baseline_quantiles(forecast, train) * factor[:, :, None]
            return forecast.point * factor, quantiles

        return run

    out["MA28 x pooled weekday shape"] = shaped(lambda s: s)
    out["MA28 x closed-day shape"] = shaped(closed_day_shape)

    def winsorised(days: int, q: float) -> Callable[[FloatArray], FloatArray]:
        return lambda train: winsorised_mean(train, days, q)

    for days, q in ((28, 0.95), (56, 0.95), (56, 0.9)):
        out[f"winsorised {days}-day mean (q{q:g}) x shape"] = shaped(
            lambda s: s, winsorised(days, q)
        )
    out.update(served_methods(panel, horizon))
    out["oracle: actual mean"] = oracle
    out["oracle: mean of the window's other days"] = oracle_others
    out["oracle: actual mean x weekday shape"] = oracle_weekday
    return out


def model_methods(panel: SeriesPanel, horizon: int) -> dict[str, Method]:
    """The model, trained once before each cut and served through onnxruntime; its
    mean, its P50 and two mixes of them as the point forecast."""
    from coordinator.forecast.serving.predictor import forecast_with_model
    from coordinator.forecast.serving.runtime import OnnxModel
    from coordinator.forecast.training.fit import TrainConfig, train_model

    cache: dict[int, tuple[FloatArray, FloatArray]] = {}

    def forecast(cut: int) -> tuple[FloatArray, FloatArray]:
        if cut not in cache:
            history = panel.head(cut)
            model = train_model(history, TrainConfig(horizon_days=horizon))
            runner = OnnxModel.from_bytes(model.onnx_bytes, model.card)
            result = forecast_with_model(
                runner, history, horizon=horizon, future_exog=panel.future_exog(cut, horizon)
            )
            cache[cut] = (result.mean, result.quantiles)
        return cache[cut]

    def point(p50_weight: float) -> Method:
        def run(_train: FloatArray, cut: int) -> tuple[FloatArray, FloatArray]:
            mean, quantiles = forecast(cut)
            return (1 - p50_weight) * mean + p50_weight * quantiles[:, :, 1], quantiles

        return run

    return {
        "model": point(0.0),
        "model P50 as the point": point(1.0),
        "model 0.75 mean + 0.25 P50": point(0.25),
        "model 0.5 mean + 0.5 P50": point(0.5),
    }


def scores(panel: SeriesPanel, cuts: list[int], horizon: int, method: Method) -> dict[str, float]:
    """Mean RMSSE and SPL of the method as is, gated and with whole-unit quantiles."""
    acc: dict[str, list[float]] = {"rmsse": [], "rmsse gated": [], "spl": [], "spl whole": []}
    for cut in cuts:
        train, actual = panel.y[:, :cut], panel.y[:, cut : cut + horizon]
        point, quantiles = method(train, cut)
        gate = stocked_out(train)[:, None]
        acc["rmsse"].append(float(np.nanmean(rmsse(train, actual, point))))
        acc["rmsse gated"].append(
            float(np.nanmean(rmsse(train, actual, np.where(gate, 0.0, point))))
        )
        if quantiles is not None:
            q = np.maximum(quantiles, 0.0).astype(np.float64)
            acc["spl"].append(float(np.nanmean(scaled_pinball(train, actual, q, QUANTILES))))
            whole = np.round(q).astype(np.float64)
            acc["spl whole"].append(
                float(np.nanmean(scaled_pinball(train, actual, whole, QUANTILES)))
            )
    return {k: float(np.mean(v)) if v else float("nan") for k, v in acc.items()}


def main() -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=shared_data_dir() / DEFAULT_EVAL_FILE)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--windows", type=int, default=4)
    parser.add_argument("--drop-last", type=int, default=0)
    parser.add_argument("--with-model", action="store_true")
    args = parser.parse_args()
    panel = read_csv(args.data)
    panel = panel.head(panel.n_days - args.drop_last)
    cuts = [panel.n_days - k * args.horizon for k in range(args.windows, 0, -1)]
    if cuts[0] <= 364:
        print("not enough history before the first window", file=sys.stderr)
        return 2
    table = methods(panel, args.horizon)
    if args.with_model:
        table.update(model_methods(panel, args.horizon))
    print(f"{panel.n_series} series, cuts at columns {cuts}, horizon {args.horizon}")
    print(f"{'method':48} {'RMSSE':>7} {'gated':>7} {'SPL':>7} {'whole':>7}")
    for name, method in table.items():
        s = scores(panel, cuts, args.horizon, method)
        print(
            f"{name:48} {s['rmsse']:7.4f} {s['rmsse gated']:7.4f}"
            f" {s['spl']:7.4f} {s['spl whole']:7.4f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
