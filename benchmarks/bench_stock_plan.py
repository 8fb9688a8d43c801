"""Cost of one stock placement plan: SKUs × micro-warehouses, from forecasts to proposals.

    .venv/bin/python benchmarks/bench_stock_plan.py [--skus 1000] [--warehouses 10]
        [--horizon 28] [--streams 5] [--repeats 7] [--seed 0]

Builds a network of `--warehouses` warehouses (one shelf node each, scattered over ~50 km)
and 3 factories, a 28-day forecast per SKU × warehouse (daily means between 0.1 and 20,
P10/P90 around them), a stock level per pair (0 to 10 days of demand, so some run short
and others hold spare), `--streams` announced streams featuring 10 SKUs each, then times
`StockPlanner.plan()` — gathering the inputs into a `PlacementProblem`, targets,
pre-positioning, lateral transfers and replenishment — and prints the median wall and CPU
time of `--repeats` plans with the number of each proposal.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from coordinator.forecast.serving.service import Forecast
from coordinator.sales.network import Network, network_from_json
from coordinator.stock.live_streams import LiveStream
from coordinator.stock.placement import PlacementPolicy
from coordinator.stock.plan_service import StockPlanner
from fleet_runtime.clock import SystemClock, now_ms


def world(
    skus: int, houses: int, horizon: int, streams: int, seed: int, now_ms: int
) -> tuple[Network, list[Forecast], list[tuple[str, str, str, int]], list[LiveStream]]:
    """The synthetic network, forecasts, stock levels and streams."""
    rng = np.random.default_rng(seed)
    names = [f"SKU-{i:05d}" for i in range(skus)]
    network = network_from_json(
        {
            "factories": [
                {
                    "id": f"f{k}",
                    "location": {"lat": 29.0 + 0.2 * k, "lon": 120.0},
                    "machines": [f"m{k}"],
                }
                for k in range(3)
            ],
            "warehouses": [
                {
                    "id": f"wh{j}",
                    "location": {
                        "lat": 29.0 + float(rng.uniform(0, 0.5)),
                        "lon": 120.0 + float(rng.uniform(0, 0.5)),
                    },
                    "nodes": [f"shelf{j}"],
                }
                for j in range(houses)
            ],
            "products": [
                {"sku": s, "factories": ["f0", "f1", "f2"][: 1 + i % 3]}
                for i, s in enumerate(names)
            ],
        }
    )
    dates = tuple(f"d{d}" for d in range(horizon))
    forecasts: list[Forecast] = []
    stock: list[tuple[str, str, str, int]] = []
    for sku in names:
        for j in range(houses):
            rate = float(rng.uniform(0.1, 20.0))
            mean = tuple(float(v) for v in rate * rng.uniform(0.7, 1.3, horizon))
            forecasts.append(
                Forecast(
                    unique_id=f"{sku}@s1/shelf{j}",
                    sku=sku,
                    location=f"s1/shelf{j}",
                    dates=dates,
                    mean=mean,
                    p10=tuple(max(0.0, m - 1.3 * m**0.5) for m in mean),
                    p50=mean,
                    p90=tuple(m + 1.3 * m**0.5 for m in mean),
                    model_version="bench",
                    method="bench",
                    fallback=False,
                    generated_at_ms=0,
                )
            )
            stock.append(("s1", f"shelf{j}", sku, int(rng.integers(0, int(rate * 10) + 2))))
    live = [
        LiveStream(
            id=f"ls-{k}",
            start_ms=now_ms + 3_600_000 * (k + 1),
            duration_s=3600,
            channel="douyin",
            featured_skus=tuple(names[k * 10 : k * 10 + 10]),
            expected_orders=500,
        )
        for k in range(streams)
    ]
    return network, forecasts, stock, live


def main() -> int:
    """Run the plans and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--warehouses", type=int, default=10)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--streams", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    clock = SystemClock()
    now = now_ms(clock)
    network, forecasts, stock, live = world(
        args.skus, args.warehouses, args.horizon, args.streams, args.seed, now
    )
    planner = StockPlanner(
        forecasts=lambda: forecasts,
        stock=lambda: stock,
        network=lambda: network,
        inbound=list,
        streams=lambda: live,
        clock=clock,
        policy=PlacementPolicy(),
    )
    wall, cpu = [], []
    view = None
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        view = planner.plan()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    assert view is not None
    plan = view.plan
    print(
        f"skus={args.skus} warehouses={args.warehouses} horizon={args.horizon}"
        f" streams={args.streams} repeats={args.repeats}"
    )
    print(
        f"StockPlanner.plan: median {statistics.median(wall) * 1000:.0f} ms wall "
        f"(min {min(wall) * 1000:.0f}, max {max(wall) * 1000:.0f}), "
        f"{statistics.median(cpu) * 1000:.0f} ms CPU"
    )
    print(
        f"targets {len(plan.targets)}, transfers {len(plan.transfers)},"
        f" prepositions {len(plan.prepositions)}, replenishments {len(plan.replenishments)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
