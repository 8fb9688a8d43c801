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
delivered by the end (and how many of them on time, on the one simulated clock), their
lead time (order to door, simulated hours), how late the late ones were and how many of
them were made in the factories or had a failed stop first, the vans' kilometres per
delivered order (their reported positions, consecutive fixes joined by great circles,
times the simulated vans' detour factor 1.3: the road kilometres they drove), the tours
sent per departure reason, the replenishment jobs made and the SKU-warehouse pairs whose
stock cover is at risk at the end, and the load average. The coordinator's settings come from the environment as in the demo,
so the way vans are dispatched can be compared (`FLEXFLEET_DISPATCH_TOURS=false`: every
route sent as planned).

    .venv/bin/python benchmarks/bench_demo_loop.py [--seconds 300] [--speed 120] [--poll-ms 50]
        [--orders-json FILE]  # every order with its timeline at the end, for a closer look
        [--routes-json FILE]  # every routes view seen (routes, tours, unserved), with the
                              # simulated time it was seen at
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

from plan_common import command_line, load_average

from coordinator.plan.routing.travel import LatLon, great_circle_m
from flexfleet.demo import DemoPlan, declare_world, running_demo
from flexfleet.demo_status import fetch_orders, tally
from flexfleet.demo_world import SITE_CENTRE
from flexfleet.storefront import Storefront


def _jobs(api_url: str) -> list[Any]:
    with urllib.request.urlopen(f"{api_url}/api/v1/jobs?limit=1000", timeout=10) as r:
        body = json.load(r)
    return body if isinstance(body, list) else list(body.get("jobs", []))


DETOUR = 1.3  # the simulated vans' detour factor (firmware_sim.vehicle.VehicleParams)


def _van_km(api_url: str, van: str, since_ms: int) -> float:
    """Road km a van drove since `since_ms` (simulated), from its reported positions."""

    def series(signal: str) -> dict[int, float]:
        url = (
            f"{api_url}/api/v1/nodes/{van}/telemetry?signal={signal}&resolution=raw"
            f"&start={since_ms}&limit=100000"
        )
        with urllib.request.urlopen(url, timeout=10) as r:
            return {p["ts_ms"]: p["value"] for p in json.load(r)["points"]}

    lat, lon = series("lat"), series("lon")
    fixes = [LatLon(lat[t], lon[t]) for t in sorted(lat.keys() & lon.keys())]
    return sum(great_circle_m(a, b) for a, b in pairwise(fixes)) / 1000 * DETOUR


def _tours(api_url: str) -> str:
    """The coordinator's departures per reason, from its metrics."""
    try:
        with urllib.request.urlopen(f"{api_url}/metrics", timeout=10) as r:
            lines = r.read().decode().splitlines()
    except OSError as exc:  # (HTTP errors included)
        return f"unavailable ({exc})"
    found = [
        line.split("{", 1)[1].replace('"}', "").replace('reason="', "")
        for line in lines
        if line.startswith("flexfleet_tours_departed_total{")
    ]
    return ", ".join(found) or "none (tours off)"


def _with_timelines(api_url: str, orders: list[Any]) -> list[Any]:
    """Each order as `GET /api/v1/sales-orders/{id}` answers it (with its timeline)."""
    full = []
    for order in orders:
        url = f"{api_url}/api/v1/sales-orders/{order['id']}"
        with urllib.request.urlopen(url, timeout=10) as r:
            full.append(json.load(r))
    return full


class _CountLatency:
    """The job view polled: each operation's count change, the poll's wall time less the
    wall time of the sample that carried it (`wall_ms` turns a simulated date back)."""

    def __init__(self, api_url: str, wall_ms: Callable[[float], float]) -> None:
        self.api_url, self.wall_ms = api_url, wall_ms
        self.latencies: list[float] = []
        self.seen: dict[str, tuple[int, int]] = {}

    def poll(self) -> None:
        polled_ms = time.time() * 1000
        for job in _jobs(self.api_url):
            for op in job.get("operations", []):
                key = op["operation_id"]
                state = (op["good"] + op["scrap"], op["updated_ms"])
                if op["updated_ms"] is not None and self.seen.get(key) != state:
                    if key in self.seen or state[0] > 0:
                        self.latencies.append(polled_ms - self.wall_ms(op["updated_ms"]))
                    self.seen[key] = state


class _RoutesLog:
    """Every routes view seen (a new version, or the same with its tours changed), each
    with `seen_ms`, the simulated time of the poll that saw it."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.views: list[dict[str, Any]] = []

    def poll(self, seen_ms: int) -> None:
        with urllib.request.urlopen(f"{self.api_url}/api/v1/plans/routes", timeout=10) as r:
            view: dict[str, Any] = json.load(r)
        last = self.views[-1] if self.views else {}
        if (view["version"], view["tours"]) != (last.get("version"), last.get("tours")):
            self.views.append({**view, "seen_ms": seen_ms})


def _shelves(api_url: str) -> str:
    """The shelves' side at the end: replenishment jobs made (and finished) and the
    SKU-warehouse pairs whose stock cover is at risk."""
    jobs = [j for j in _jobs(api_url) if str(j["id"]).startswith("replenish-")]
    finished = sum(j["state"] in ("finished", "short") for j in jobs)
    with urllib.request.urlopen(f"{api_url}/api/v1/stock/cover", timeout=10) as r:
        covers = json.load(r)["covers"]
    at_risk = sum(c["at_risk"] for c in covers)
    return (
        f"replenishment jobs {len(jobs)} ({finished} finished); stock cover at risk at the"
        f" end: {at_risk} of {len(covers)} SKU-warehouse pairs"
    )


def _print_latency(latencies: list[float], poll_ms: float) -> None:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else float("nan")
    print(f"count changes seen: {len(ordered)}")
    if ordered:
        print(
            f"count → job view latency: p50 {statistics.median(ordered):.0f} ms, "
            f"p99 {p99:.0f} ms, max {ordered[-1]:.0f} ms (includes up to {poll_ms:g} ms "
            "of polling)"
        )


def _print_deliveries(orders: list[Any]) -> None:
    """Lead time (order to door) of the delivered orders, how late the late ones were
    (simulated time), and how many of those were made in the factories or had a failed
    stop (the customer not at home) before their delivery."""
    delivered = [o for o in orders if o["status"] == "delivered"]
    lead_h = sorted((o["updated_ms"] - o["created_ms"]) / 3_600_000 for o in delivered)
    if lead_h:
        print(f"lead time of the delivered, simulated: p50 {statistics.median(lead_h):.2f} h")
    late = [o for o in delivered if o["updated_ms"] > o["promise"]["promised_ms"]]
    if not late:
        return
    late_min = sorted((o["updated_ms"] - o["promise"]["promised_ms"]) / 60_000 for o in late)
    made = sum(any(line["made"] for line in o["promise"]["lines"]) for o in late)
    failed = sum(any(step["status"] == "failed_delivery" for step in o["timeline"]) for o in late)
    print(
        f"late deliveries: {len(late_min)}, by p50 {statistics.median(late_min):.0f} min,"
        f" max {late_min[-1]:.0f} min (simulated); of them made in the factories {made},"
        f" after a failed stop {failed}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--speed", type=float, default=120.0)
    parser.add_argument("--poll-ms", type=float, default=50.0)
    parser.add_argument("--orders-json", type=Path, help="write the orders at the end here")
    parser.add_argument(
        "--routes-json", type=Path, help="write every routes view seen (each new version) here"
    )
    args = parser.parse_args()
    plan = DemoPlan(speed=args.speed)
    print(command_line(), flush=True)
    origin_s = time.time()

    def wall_ms(simulated_ms: float) -> float:
        return origin_s * 1000 + (simulated_ms - origin_s * 1000) / plan.speed

    def simulated_ms(wall: float) -> int:
        return round(origin_s * 1000 + (wall - origin_s * 1000) * plan.speed)

    with (
        tempfile.TemporaryDirectory(prefix="bench-demo-") as scratch,
        running_demo(plan, Path(scratch), origin_s=origin_s) as (_broker, api_url),
    ):
        declare_world(plan, api_url)
        counts_seen = _CountLatency(api_url, wall_ms)
        routes = _RoutesLog(api_url) if args.routes_json is not None else None
        storefront = Storefront(
            api_url, plan.world.skus_sold(), SITE_CENTRE, plan.seed, plan.shoppers
        )
        started = time.monotonic()
        storefront.start()
        try:
            while time.monotonic() - started < args.seconds:
                counts_seen.poll()
                if routes is not None:
                    routes.poll(simulated_ms(time.time() * 1000))
                time.sleep(args.poll_ms / 1000)
            orders = _with_timelines(api_url, fetch_orders(api_url))
            if args.orders_json is not None:
                args.orders_json.write_text(json.dumps(orders, indent=1))
            if routes is not None:
                args.routes_json.write_text(json.dumps(routes.views, indent=1))
            counts = tally(orders)
            vans = [p.node for p in plan.world.places() if p.kind == "vehicle"]
            km = sum(_van_km(api_url, van, int(origin_s * 1000)) for van in vans)
            tours = _tours(api_url)
            shelves = _shelves(api_url)
        finally:
            storefront.stop()
    _print_latency(counts_seen.latencies, args.poll_ms)
    print(f"orders posted {storefront.posted}, refused {storefront.refused}")
    print(
        f"orders delivered in the first {args.seconds:g} s of wall time: {counts.delivered}"
        f" ({counts.on_time} on time; received {counts.received}, in production"
        f" {counts.in_production}, out for delivery {counts.out_for_delivery})"
    )
    _print_deliveries(orders)
    per = km / counts.delivered if counts.delivered else float("nan")
    print(f"van km (positions x detour {DETOUR}): {km:.1f}, per delivered order {per:.2f}")
    print(f"tours sent per reason: {tours}")
    print(shelves)
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
