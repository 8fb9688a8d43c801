"""One run: a scenario, a policy, days, a seed and drills in; the KPIs and daily series out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from flexfleet.scenario.baseline import BaselinePolicy
from flexfleet.scenario.delivery_detail import delivery_detail
from flexfleet.scenario.demand import draw_orders
from flexfleet.scenario.drills import Drill, apply_drill, spikes
from flexfleet.scenario.kpis import daily, kpis
from flexfleet.scenario.schema import Scenario
from flexfleet.scenario.world import Policy, World

PolicyName = Literal["flexfleet", "baseline"]
START_S = 1_772_409_600.0  # 2026-03-02T00:00:00Z, a Monday: the run's day 0 at midnight
POLICIES = ("flexfleet", "baseline")


def make_policy(name: str, *, seed: int, time_limit_s: float) -> Policy:
    """The policy called `name`."""
    if name == "baseline":
        return BaselinePolicy()
    if name == "flexfleet":
        from flexfleet.scenario.flexfleet_policy import FlexfleetPolicy

        return FlexfleetPolicy(seed=seed, time_limit_s=time_limit_s)
    raise ValueError(f"unknown policy {name!r} (one of {', '.join(POLICIES)})")


def run_scenario(
    scenario: Scenario,
    *,
    policy: str,
    days: int,
    seed: int,
    drills: list[Drill] | None = None,
    time_limit_s: float = 0.5,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run `policy` on `scenario` for `days` with `seed`; the result as JSON-able data."""
    drills = drills or []
    demand = draw_orders(scenario, days=days, seed=seed, extra_spikes=spikes(drills))
    world = World(scenario, demand, days=days, start_s=START_S)
    chosen = make_policy(policy, seed=seed, time_limit_s=time_limit_s)
    started = time.perf_counter()
    world.run(
        chosen,
        drills=[(d.at_s, d.name) for d in drills],
        on_drill=apply_drill,
        progress=progress,
    )
    wall_s = time.perf_counter() - started
    replans = int(getattr(chosen, "replans", 0))
    return {
        "scenario": scenario.name,
        "policy": policy,
        "days": days,
        "seed": seed,
        "kpis": kpis(world, replans=replans, drills=[(d.at_s, d.name) for d in drills]),
        "daily": daily(world),
        "delivery": delivery_detail(world),
        "events": [{"day": round(t / 86_400.0, 3), "what": what} for t, what in world.log.events],
        "wall_s": round(wall_s, 1),
    }


__all__ = ["POLICIES", "START_S", "make_policy", "run_scenario"]
