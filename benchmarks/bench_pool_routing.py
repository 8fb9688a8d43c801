"""Kilometres per stop by pool size: nearest neighbour (the baseline's tours) against the
production router (flexfleet's), on the same random stops.

Stops uniform in a disk of 15 km radius (the scenario's largest region) around the depot,
1-4 units each (geometric, as the storefront draws them), vans of 60 units, straight-line
km. How much a tour costs a stop depends on how many stops are routed at once; this puts
a number on what each policy's pool is worth (`BENCHMARKS.md`, "Delivery km and
inventory").

    .venv/bin/python benchmarks/bench_pool_routing.py
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from coordinator.plan.routing.planner import PyVrpRouter  # noqa: E402
from coordinator.plan.routing.problem import Depot, RoutingProblem, Vehicle  # noqa: E402
from coordinator.plan.routing.problem import Order as Stop  # noqa: E402
from flexfleet.scenario.baseline import nearest_neighbour_tours  # noqa: E402

Point = tuple[float, float]
DEPOT: Point = (0.0, 0.0)
CAPACITY = 60


def _stops(n: int, rng: random.Random, radius_km: float) -> list[tuple[Point, int]]:
    out = []
    for _ in range(n):
        r, a = radius_km * math.sqrt(rng.random()), rng.random() * 2 * math.pi
        q = 1
        while q < 4 and rng.random() > 0.55:
            q += 1
        out.append(((r * math.cos(a), r * math.sin(a)), q))
    return out


def _km(tours: list[list[int]], stops: list[tuple[Point, int]]) -> float:
    total = 0.0
    for tour in tours:
        here = DEPOT
        for i in tour:
            total += math.dist(here, stops[i][0])
            here = stops[i][0]
        total += math.dist(here, DEPOT)
    return total


def _router_tours(stops: list[tuple[Point, int]], limit_s: float) -> list[list[int]]:
    units = sum(q for _, q in stops)
    problem = RoutingProblem(
        depots=(Depot("depot", 0.0, 0.0),),
        # minutes at 30 km/h: 2 minutes a km
        orders=tuple(
            Stop(f"c{i}", p[0] * 2, p[1] * 2, demand=q, service=4) for i, (p, q) in enumerate(stops)
        ),
        vehicles=tuple(
            Vehicle(f"v{k}", "depot", CAPACITY) for k in range(math.ceil(units / CAPACITY) + 1)
        ),
    )
    result = PyVrpRouter(deterministic=True).plan(problem, time_limit_s=limit_s, seed=1)
    return [[int(s[1:]) for s in route.stops] for route in result.routes if route.stops]


def main() -> int:
    """Print km per stop for each pool size and router time limit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 60, 120, 200])
    parser.add_argument("--limits", type=float, nargs="+", default=[0.2, 1.0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--radius-km", type=float, default=15.0)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    rng = random.Random(1)
    for n in args.sizes:
        for limit in args.limits:
            nn = router = 0.0
            for _ in range(args.reps):
                stops = _stops(n, rng, args.radius_km)
                nn += _km(nearest_neighbour_tours(DEPOT, stops, CAPACITY, math.dist), stops)
                router += _km(_router_tours(stops, limit), stops)
            per = args.reps * n
            print(
                f"pool {n:4d} stops, router {limit:.1f} s: nearest neighbour "
                f"{nn / per:.2f} km/stop, router {router / per:.2f} km/stop "
                f"({router / nn:.3f} x)"
            )
    print(f"load average after: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
