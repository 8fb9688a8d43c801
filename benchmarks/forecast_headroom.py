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
  MA28 times only the closed days of that shape.
With `--with-model`, the model is trained before each cut (as `forecast eval` does) and
the gate and the rounding are applied to it too.
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
from coordinator.forecast.model.csv_input import read_csv
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
    out["oracle: actual mean"] = oracle
    out["oracle: mean of the window's other days"] = oracle_others
    out["oracle: actual mean x weekday shape"] = oracle_weekday
    return out


def model_method(panel: SeriesPanel, horizon: int) -> Method:
    """The model, trained before each cut and served through onnxruntime."""
    from coordinator.forecast.serving.predictor import forecast_with_model
    from coordinator.forecast.serving.runtime import OnnxModel
    from coordinator.forecast.training.fit import TrainConfig, train_model

    def run(_train: FloatArray, cut: int) -> tuple[FloatArray, FloatArray]:
        history = panel.head(cut)
        model = train_model(history, TrainConfig(horizon_days=horizon))
        runner = OnnxModel.from_bytes(model.onnx_bytes, model.card)
        result = forecast_with_model(
            runner, history, horizon=horizon, future_exog=panel.future_exog(cut, horizon)
        )
        return result.mean, result.quantiles

    return run


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
        table["model"] = model_method(panel, args.horizon)
    print(f"{panel.n_series} series, cuts at columns {cuts}, horizon {args.horizon}")
    print(f"{'method':42} {'RMSSE':>7} {'gated':>7} {'SPL':>7} {'whole':>7}")
    for name, method in table.items():
        s = scores(panel, cuts, args.horizon, method)
        print(
            f"{name:42} {s['rmsse']:7.4f} {s['rmsse gated']:7.4f}"
            f" {s['spl']:7.4f} {s['spl whole']:7.4f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
