"""The demo's closed loop, measured: orders delivered in the first minutes of wall time, and
how soon a machine's count reaches the job view in the API under that load.

Runs the demo exactly as `make demo` does (broker, coordinator, 6 machines, 2 warehouses,
3 vans as child processes, the world declared through the API, the storefront posting
orders) for `--seconds`, and meanwhile polls `GET /api/v1/jobs` every `--poll-ms`: each time
an operation's count changes, the latency is the poll's time minus the operation's
`updated_ms` (the timestamp of the sample that carried the count, a date on the demo's
simulated clock, turned back into wall time with the clock's origin and speed). The poll
interval is
part of every figure (a count can wait up to one interval to be seen), so these are upper
bounds. Printed: the count latency p50 / p99 / max over every change seen, the orders
delivered by the end (and how many of them on time, on the one simulated clock), and the
load average.

    .venv/bin/python benchmarks/bench_demo_loop.py [--seconds 300] [--speed 120] [--poll-ms 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from plan_common import command_line, load_average

from flexfleet.demo import DemoPlan, declare_world, running_demo
from flexfleet.demo_status import fetch_orders, tally
from flexfleet.demo_world import SITE_CENTRE
from flexfleet.storefront import Storefront


def _jobs(api_url: str) -> list[Any]:
    with urllib.request.urlopen(f"{api_url}/api/v1/jobs?limit=1000", timeout=10) as r:
        body = json.load(r)
    return body if isinstance(body, list) else list(body.get("jobs", []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--speed", type=float, default=120.0)
    parser.add_argument("--poll-ms", type=float, default=50.0)
    args = parser.parse_args()
    plan = DemoPlan(speed=args.speed)
    latencies: list[float] = []
    seen: dict[str, tuple[int, int]] = {}
    print(command_line(), flush=True)
    origin_s = time.time()

    def wall_ms(simulated_ms: float) -> float:
        return origin_s * 1000 + (simulated_ms - origin_s * 1000) / plan.speed

    with (
        tempfile.TemporaryDirectory(prefix="bench-demo-") as scratch,
        running_demo(plan, Path(scratch), origin_s=origin_s) as (_broker, api_url),
    ):
        declare_world(plan, api_url)
        storefront = Storefront(
            api_url, plan.world.skus_sold(), SITE_CENTRE, plan.seed, plan.shoppers
        )
        started = time.monotonic()
        storefront.start()
        try:
            while time.monotonic() - started < args.seconds:
                polled_ms = time.time() * 1000
                for job in _jobs(api_url):
                    for op in job.get("operations", []):
                        key = op["operation_id"]
                        state = (op["good"] + op["scrap"], op["updated_ms"])
                        if op["updated_ms"] is not None and seen.get(key) != state:
                            if key in seen or state[0] > 0:
                                latencies.append(polled_ms - wall_ms(op["updated_ms"]))
                            seen[key] = state
                time.sleep(args.poll_ms / 1000)
            counts = tally(fetch_orders(api_url))
        finally:
            storefront.stop()
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else float("nan")
    print(f"count changes seen: {len(ordered)}")
    if ordered:
        print(
            f"count → job view latency: p50 {statistics.median(ordered):.0f} ms, "
            f"p99 {p99:.0f} ms, max {ordered[-1]:.0f} ms (includes up to {args.poll_ms:g} ms "
            "of polling)"
        )
    print(f"orders posted {storefront.posted}, refused {storefront.refused}")
    print(
        f"orders delivered in the first {args.seconds:g} s of wall time: {counts.delivered}"
        f" ({counts.on_time} on time; received {counts.received}, in production"
        f" {counts.in_production}, out for delivery {counts.out_for_delivery})"
    )
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
