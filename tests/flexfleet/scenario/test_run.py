"""Whole runs on a two-day scenario: KPI keys, determinism, the production coordinator, drills."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest

from coordinator.plan.runner import PlanRunner
from coordinator.sales import book as sales_book
from coordinator.sales.book import SalesBook
from flexfleet.scenario.demand import draw_orders
from flexfleet.scenario.drills import NAMES, DrillError, apply_drill, parse_drill
from flexfleet.scenario.flexfleet_policy import FlexfleetPolicy
from flexfleet.scenario.kpis import KEYS, hours_below, recovery_h
from flexfleet.scenario.run import START_S, run_scenario
from flexfleet.scenario.schema import load_scenario
from flexfleet.scenario.world import World
from tests.flexfleet.scenario.support import SMALL, stable_json


def test_baseline_run_has_every_kpi_and_is_deterministic() -> None:
    """Same seed → the same JSON; another seed → other orders; the delivery detail adds up."""
    scenario = load_scenario(SMALL)
    first = run_scenario(scenario, policy="baseline", days=2, seed=3)
    again = run_scenario(scenario, policy="baseline", days=2, seed=3)
    other = run_scenario(scenario, policy="baseline", days=2, seed=4)
    assert set(KEYS) <= set(first["kpis"])
    assert first["kpis"]["orders"] > 50
    assert json.dumps(first["kpis"], sort_keys=True) == json.dumps(again["kpis"], sort_keys=True)
    assert stable_json(first) != stable_json(other)
    assert len(first["daily"]) == 2
    assert first["delivery"]["km_per_order"] == first["kpis"]["delivery_km_per_order"]
    assert first["delivery"]["stops_per_order"] == 1.0  # the baseline never splits


def test_flexfleet_runs_the_production_coordinator_objects() -> None:
    """The policy's planner and sales book are the coordinator's own classes, not copies."""
    scenario = load_scenario(SMALL)
    demand = draw_orders(scenario, days=1, seed=1)
    world = World(scenario, demand, days=1, start_s=START_S)
    policy = FlexfleetPolicy(seed=1, time_limit_s=0.2)
    policy.start(world)
    assert type(policy.plans) is PlanRunner
    assert type(policy.sales) is SalesBook
    assert policy.plans is not None
    assert policy.plans.products()
    assert policy.sales is not None
    assert len(policy.sales.network.factories) == 2


def test_flexfleet_run_is_deterministic_and_plans() -> None:
    """Two flexfleet runs with one seed give the same KPIs; the planner really re-planned."""
    scenario = load_scenario(SMALL)
    first = run_scenario(scenario, policy="flexfleet", days=2, seed=5, time_limit_s=0.2)
    again = run_scenario(scenario, policy="flexfleet", days=2, seed=5, time_limit_s=0.2)
    assert stable_json(first) == stable_json(again)
    assert first["kpis"]["replans"] > 0
    assert (
        first["kpis"]["orders"]
        == run_scenario(scenario, policy="baseline", days=2, seed=5)["kpis"]["orders"]
    )


def test_flexfleet_run_is_the_same_on_a_machine_too_slow_for_its_time_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each look at the clock finds 0.25 s gone, more than a re-plan's or a routing's whole
    time limit, and the promise engine's capacity pools take 100 ms to build: the run still
    gives the calm machine's JSON, because the planner's and the router's deterministic
    limits end their searches, not the wall clock, and the pools are built before the
    promise that found them due, not on a thread of their own."""
    scenario = load_scenario(SMALL)
    calm = run_scenario(scenario, policy="flexfleet", days=2, seed=6, time_limit_s=0.2)
    clock = itertools.count(0.0, 0.25)
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(clock)))
    build = sales_book._factory_pools

    def slow_build(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.1)
        return build(*args, **kwargs)

    monkeypatch.setattr(sales_book, "_factory_pools", slow_build)
    slow = run_scenario(scenario, policy="flexfleet", days=2, seed=6, time_limit_s=0.2)
    assert stable_json(slow) == stable_json(calm)


def test_drills_parse_and_refuse_bad_names() -> None:
    """NAME@DAY for the five drills; unknown names and days outside the run are refused."""
    assert [parse_drill(f"{n}@1", days=2).name for n in NAMES] == list(NAMES)
    for bad in ("fire@1", "warehouse-fire", "warehouse-fire@2", "warehouse-fire@x"):
        with pytest.raises(DrillError):
            parse_drill(bad, days=2)


def test_warehouse_fire_loses_stock_and_waiting_orders_are_served_again() -> None:
    """After a fire the warehouse holds nothing and is closed; its consignments go elsewhere."""
    scenario = load_scenario(SMALL)
    result = run_scenario(
        scenario,
        policy="baseline",
        days=2,
        seed=3,
        drills=[parse_drill("warehouse-fire@0", days=2)],
    )
    assert any("fire" in e["what"] for e in result["events"])
    demand = draw_orders(scenario, days=1, seed=3)
    world = World(scenario, demand, days=1, start_s=START_S)
    from flexfleet.scenario.baseline import BaselinePolicy

    policy = BaselinePolicy()
    policy.start(world)
    assert sum(world.on_hand["w-north"].values()) > 0
    world.t = 3600.0
    apply_drill(world, policy, "warehouse-fire")
    assert world.on_hand["w-north"] == {}
    assert world.available("w-north", "sku-0001") == 0


@pytest.mark.parametrize("name", ["machine-breakdown", "factory-offline", "vehicle-breakdown"])
def test_each_drill_changes_the_world(name: str) -> None:
    """Breakdowns stop machines or vehicles for their time."""
    scenario = load_scenario(SMALL)
    world = World(scenario, draw_orders(scenario, days=1, seed=3), days=1, start_s=START_S)
    from flexfleet.scenario.baseline import BaselinePolicy

    policy = BaselinePolicy()
    policy.start(world)
    world.t = 36_000.0
    apply_drill(world, policy, name)
    if name == "vehicle-breakdown":
        assert world.vehicles_out["w-north"] == [36_000.0 + 86_400.0]
    else:
        down = [m.id for m in world.machines.values() if m.down_until > world.t]
        assert down == (["m1"] if name == "machine-breakdown" else ["m1", "m2"])


def test_demand_spike_adds_unannounced_orders() -> None:
    """A spike drill adds stream orders nobody announced."""
    scenario = load_scenario(SMALL)
    plain = run_scenario(scenario, policy="baseline", days=2, seed=3)
    spiked = run_scenario(
        scenario, policy="baseline", days=2, seed=3, drills=[parse_drill("demand-spike@0", days=2)]
    )
    assert spiked["kpis"]["orders"] > plain["kpis"]["orders"] + 20


def test_recovery_is_hours_until_the_sliding_day_is_back() -> None:
    """Orders before the drill all on time; late for 5 h after it; back at hour 5."""
    day = 86_400.0
    flags = [(t * 3600.0, True) for t in range(24)]
    flags += [(day + h * 3600.0, h >= 5) for h in range(60)]
    # a sliding day starting at hour h holds the late orders of hours h..4
    assert recovery_h(flags, day, 4 * day) == 5.0
    assert recovery_h([(t * 3600.0, True) for t in range(24, 40)], day, 3 * day) is None


def test_hours_below_counts_the_relapses_recovery_does_not_see() -> None:
    """Late for hours 0-4 after the drill and again for hours 30-34: back at hour 5, but
    the sliding days starting at hours 0-4 and 7-34 (each holding a late order) are below
    the level, 33 hours' worth; only those before `until_s` count."""
    day, h = 86_400.0, 3600.0
    flags = [(t * h, True) for t in range(24)]
    flags += [(day + k * h, not (k < 5 or 30 <= k < 35)) for k in range(100)]
    end = day + 100 * h
    assert recovery_h(flags, day, end) == 5.0
    assert hours_below(flags, day, end, end) == 33.0
    assert hours_below(flags, day, day + 6 * h, end) == 5.0
    assert hours_below(flags[24:], day, end, end) is None  # no level before the drill
