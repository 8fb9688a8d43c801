"""Cost of one stock-cover check: every forecast against its live stock level.

    .venv/bin/python benchmarks/bench_stock_cover.py [--series 10000] [--horizon 28]
        [--repeats 7] [--seed 0]

Builds `--series` forecasts (SKU × micro-warehouse, Poisson-like daily means between 0.1
and 20 with P10/P90 around them) and a stock level for each, then times `CoverWatch.check()`
(pairing, cumulative P90, run-out days, order-up-to, the alarm rule against an in-memory
sink) and prints the median wall and CPU time of `--repeats` checks and how many SKUs were
at risk. The coordinator runs one check after every forecast refresh and every
`cover_check_interval_s` (60 s).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from coordinator.alarms.port import RecordingAlarmSink
from coordinator.forecast.serving.service import Forecast
from coordinator.stock.cover import CoverPolicy
from coordinator.stock.cover_watch import CoverWatch, StockoutRiskRule
from fleet_runtime.clock import SystemClock


def forecasts_and_stock(
    series: int, horizon: int, seed: int
) -> tuple[list[Forecast], list[tuple[str, str, str, int]]]:
    """Synthetic forecasts and one stock level per forecast."""
    rng = np.random.default_rng(seed)
    out: list[Forecast] = []
    stock: list[tuple[str, str, str, int]] = []
    dates = tuple(f"d{d}" for d in range(horizon))
    for i in range(series):
        node, sku = f"w{i % 50}", f"SKU-{i // 50}"
        rate = float(rng.uniform(0.1, 20.0))
        mean = tuple(float(v) for v in rate * rng.uniform(0.7, 1.3, horizon))
        p10 = tuple(max(0.0, m - 1.3 * np.sqrt(m)) for m in mean)
        p90 = tuple(m + 1.3 * np.sqrt(m) for m in mean)
        out.append(
            Forecast(
                unique_id=f"{sku}@s1/{node}",
                sku=sku,
                location=f"s1/{node}",
                dates=dates,
                mean=mean,
                p10=p10,
                p50=mean,
                p90=p90,
                model_version="bench",
                method="bench",
                fallback=False,
                generated_at_ms=0,
            )
        )
        stock.append(("s1", node, sku, int(rng.integers(0, int(rate * 10) + 2))))
    return out, stock


def main() -> int:
    """Run the checks and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    forecasts, stock = forecasts_and_stock(args.series, args.horizon, args.seed)
    policy = CoverPolicy()
    watch = CoverWatch(
        forecasts=lambda: forecasts,
        stock=lambda: stock,
        policy=policy,
        clock=SystemClock(),
        interval_s=60,
        rule=StockoutRiskRule(RecordingAlarmSink(), policy),
    )
    wall, cpu = [], []
    covers = []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        covers = watch.check()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    at_risk = sum(c.at_risk for c in covers)
    print(f"series={args.series} horizon={args.horizon} repeats={args.repeats}")
    print(
        f"CoverWatch.check: median {statistics.median(wall) * 1000:.0f} ms wall "
        f"(min {min(wall) * 1000:.0f}, max {max(wall) * 1000:.0f}), "
        f"{statistics.median(cpu) * 1000:.0f} ms CPU"
    )
    print(f"covers {len(covers)}, at risk {at_risk}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
