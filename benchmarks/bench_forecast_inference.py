"""Forecast inference speed: N series × H days in one batch through onnxruntime.

    .venv/bin/python benchmarks/bench_forecast_inference.py [--series 10000] [--days 730]
        [--horizon 28] [--repeats 5] [--model DIR] [--threads 0]

Without --model, a model is trained first (default config) on --train-series (40) of
the synthetic series. Synthetic series: Poisson demand with weekly seasonality, slow level drift,
30 % structural zeros and a price column with occasional discounts. Prints medians of
the whole `forecast_with_model` call (features + onnxruntime + fallback) and of the
onnxruntime run alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from coordinator.forecast.model.panel import SeriesPanel
from coordinator.forecast.serving.predictor import forecast_with_model
from coordinator.forecast.serving.runtime import OnnxModel


def synthetic_panel(
    n_series: int, n_days: int, seed: int, exog_names: tuple[str, ...] = ("sell_price",)
) -> SeriesPanel:
    """Realistic-looking daily retail demand for `n_series` × `n_days`.

    Exogenous columns whose name contains "price" get the price path, the others
    (event flags) are 0 except on one day in 60.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n_days)
    level = rng.lognormal(0.0, 1.0, size=(n_series, 1))
    drift = np.exp(np.cumsum(rng.normal(0, 0.01, size=(n_series, n_days)), axis=1))
    weekly = 1 + 0.25 * np.sin(2 * np.pi * (t % 7) / 7)[None, :]
    price = np.where(rng.random((n_series, n_days)) < 0.05, 0.8, 1.0) * rng.uniform(
        1, 10, (n_series, 1)
    )
    mean = level * drift * weekly * (1.0 / price) * price.mean(axis=1, keepdims=True) / 5
    y = rng.poisson(mean * (rng.random((n_series, n_days)) > 0.3)).astype(np.float64)
    end = np.full(n_series, 20_000, dtype=np.int64)
    events = (t % 60 == 0).astype(np.float64)[None, :].repeat(n_series, axis=0)
    exog = np.stack([price if "price" in e else events for e in exog_names], axis=2)
    return SeriesPanel(
        ids=tuple(f"S{i}@L" for i in range(n_series)),
        y=y,
        exog=exog,
        exog_names=exog_names,
        end_days=end,
        lengths=np.full(n_series, n_days, dtype=np.int64),
    )


def main() -> int:
    """Run the benchmark and print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-series", type=int, default=40)
    args = parser.parse_args()
    loaded = (
        None if args.model is None else OnnxModel.load(args.model, intra_op_threads=args.threads)
    )
    names = ("sell_price",) if loaded is None else loaded.card.exog_names
    panel = synthetic_panel(args.series, args.days, args.seed, names)
    if loaded is not None:
        model = loaded
    else:
        from coordinator.forecast.training.fit import TrainConfig, train_model

        t0 = time.perf_counter()
        sub = min(args.train_series, args.series)
        train_panel = SeriesPanel(
            panel.ids[:sub],
            panel.y[:sub],
            panel.exog[:sub],
            panel.exog_names,
            panel.end_days[:sub],
            panel.lengths[:sub],
        )
        exported = train_model(train_panel, TrainConfig(horizon_days=args.horizon, seed=args.seed))
        print(f"trained on {sub} synthetic series in {time.perf_counter() - t0:.1f} s")
        model = OnnxModel.from_bytes(
            exported.onnx_bytes, exported.card, intra_op_threads=args.threads
        )
    total, cpu, ort_only = [], [], []
    result = None
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        result = forecast_with_model(model, panel, horizon=args.horizon)
        total.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    assert result is not None
    x = np.zeros((args.series * args.horizon, len(model.card.feature_names)), np.float32)
    lvl = np.ones((len(x), 1), np.float32)
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        model.run(x, lvl)
        ort_only.append(time.perf_counter() - t0)
    med = statistics.median(total)
    version = model.card.model_version
    print(f"series={args.series} days={args.days} horizon={args.horizon} model={version}")
    print(
        f"forecast_with_model (features + onnxruntime + fallback): median {med:.3f} s "
        f"over {args.repeats} runs (min {min(total):.3f}, max {max(total):.3f})"
    )
    print(f"  process CPU time of that call: median {statistics.median(cpu):.3f} s")
    print(f"onnxruntime run alone: median {statistics.median(ort_only):.3f} s")
    print(f"goal <= 1 s: ratio {med / 1.0:.2f}")
    print("command: .venv/bin/python " + " ".join(sys.argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
