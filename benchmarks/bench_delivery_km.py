"""Where the delivery kilometres go: both policies, each seed, side by side.

Runs `flexfleet.scenario.run.run_scenario` (the code path of `flexfleet scenario run`) for
the baseline and flexfleet on each seed, in this process one after the other, and prints
the `delivery` detail of each run (`flexfleet.scenario.delivery_detail`) with the lead
time and on-time rate next to it.

    .venv/bin/python benchmarks/bench_delivery_km.py --days 10 --seed 1 --seed 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from flexfleet.scenario.run import run_scenario  # noqa: E402
from flexfleet.scenario.schema import load_scenario  # noqa: E402

SCALARS = (
    "km_per_order",
    "depot_km_per_order",
    "between_km_per_order",
    "between_km_per_stop_gap",
    "stops_per_order",
    "orders_in_several_stops",
    "orders_in_several_tours",
    "tours",
    "stops_per_tour",
    "km_per_tour",
    "fill_mean",
    "underfilled_share",
    "wait_h_p50",
)


def _rows(results: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    rows = [
        ("lead_time_p50_h", [str(r["kpis"]["lead_time_p50_h"]) for r in results]),
        ("on_time_rate", [str(r["kpis"]["on_time_rate"]) for r in results]),
        ("inventory_days", [str(r["kpis"]["inventory_days"]) for r in results]),
    ]
    rows += [(key, [str(r["delivery"][key]) for r in results]) for key in SCALARS]
    rows.append(
        ("stops_by_origin", [json.dumps(r["delivery"]["stops_by_origin"]) for r in results])
    )
    rows.append(("by_reason", [json.dumps(r["delivery"]["by_reason"]) for r in results]))
    rows.append(
        (
            "km_per_order_by_warehouse",
            [json.dumps(r["delivery"]["km_per_order_by_warehouse"]) for r in results],
        )
    )
    return rows


def main() -> int:
    """Run both policies on each seed and print the detail."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="yiwu-livestream")
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--seed", type=int, action="append", default=[])
    parser.add_argument("--policy", action="append", default=[])
    parser.add_argument("--json", type=Path, default=None, help="write every result here")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    results = []
    print(f"load average before: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    for seed in args.seed or [1]:
        for policy in args.policy or ["baseline", "flexfleet"]:
            started = time.perf_counter()
            result = run_scenario(scenario, policy=policy, days=args.days, seed=seed)
            took = time.perf_counter() - started
            print(f"{policy} seed {seed}: {took:.0f} s", file=sys.stderr)
            results.append(result)
    print(f"load average after: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
    heads = [f"{r['policy']} s{r['seed']}" for r in results]
    for key, cells in _rows(results):
        print(f"{key}: " + " | ".join(f"{h} {c}" for h, c in zip(heads, cells, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
