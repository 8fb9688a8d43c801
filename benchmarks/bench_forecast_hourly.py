"""Hourly event-aware inference: N series × 72 hourly steps through the event head.

    .venv/bin/python benchmarks/bench_forecast_hourly.py [--skus 1000] [--locations 10]
        [--streams 20] [--featured 10] [--repeats 7]

Series are SKU × location (10,000 by default). Each has a 28-day daily forecast (gamma
levels, P10/P90 at 0.5× / 1.7× the mean) and a 24-hour sales profile; `--streams`
announced streams of `--featured` SKUs each start over the next 48 h (1 h each). Prints
the medians of the whole `event_forecast` call (hourly base, event features, onnxruntime,
the event-aware daily forecast of the featured series) and of the onnxruntime run alone
over the 72 hourly steps, wall and CPU.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from coordinator.forecast.events.features import HOUR_MS, StreamEvent, event_features
from coordinator.forecast.events.head import EventHeadParams
from coordinator.forecast.events.hourly import (
    DAY_MS,
    DailyInput,
    EventContext,
    event_forecast,
    hourly_base,
)
from coordinator.forecast.serving.runtime import EventHeadModel

DAY = 20_000


def main() -> int:
    """Run the benchmark and print medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--locations", type=int, default=10)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--featured", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = args.skus * args.locations
    skus = tuple(f"SKU{s}" for s in range(args.skus) for _ in range(args.locations))
    mean = rng.gamma(0.7, 3.0, (n, 1)) * rng.uniform(0.8, 1.2, (n, 28))
    quantiles = np.stack([mean * 0.5, mean, mean * 1.7], axis=2)
    daily = DailyInput(skus, np.full(n, DAY + 1, dtype=np.int64), mean, quantiles)
    share = rng.dirichlet(np.ones(24), n)
    now = DAY * DAY_MS + 10 * HOUR_MS
    streams = []
    for k in range(args.streams):
        start = now + int(rng.uniform(1, 48) * HOUR_MS)
        featured = tuple(f"SKU{s}" for s in rng.choice(args.skus, args.featured, replace=False))
        streams.append(StreamEvent(f"s{k}", start, start + HOUR_MS, featured, 500.0))
    uplift = {f"SKU{s}": float(rng.uniform(0, 5)) for s in range(0, args.skus, 3)}
    context = EventContext(streams=tuple(streams), uplift_sku=uplift, params=EventHeadParams())
    head = EventHeadModel.load(intra_op_threads=1)
    first = (now // HOUR_MS + 1) * HOUR_MS
    base = hourly_base(daily, first_hour_ms=first, hours=72, hour_share=share).reshape(-1, 4)
    events = event_features(
        skus,
        first_step_ms=first,
        n_steps=72,
        streams=streams,
        uplift_sku=uplift,
        uplift_family={},
        family_of={},
    ).reshape(-1, 6)
    params = context.params.as_row()
    whole, whole_cpu, onnx_only = [], [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        event_forecast(daily, now_ms=now, runner=head, context=context, hour_share=share)
        whole.append(time.perf_counter() - t0)
        whole_cpu.append(time.process_time() - c0)
        t0 = time.perf_counter()
        head.run(base, events, params)
        onnx_only.append(time.perf_counter() - t0)
    print(
        f"{n} series x 72 hourly steps ({args.streams} streams x {args.featured} SKUs):"
        f" event_forecast median {statistics.median(whole):.3f} s wall,"
        f" {statistics.median(whole_cpu):.3f} s CPU; onnxruntime alone"
        f" {statistics.median(onnx_only):.3f} s ({args.repeats} runs)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
