"""The baseline's rules, each on a small case computed by hand."""

from __future__ import annotations

import math
from pathlib import Path

from flexfleet.scenario.baseline import (
    BaselinePolicy,
    edd_pick,
    least_loaded,
    nearest_neighbour_tours,
    nearest_with_stock,
    order_size_moments,
    reorder_point,
)
from flexfleet.scenario.demand import Order, draw_orders
from flexfleet.scenario.run import START_S
from flexfleet.scenario.schema import load_scenario
from flexfleet.scenario.world import MachineState, OrderState, WorkItem, World


def _item(job: str, due: float, family: str = "toys") -> WorkItem:
    return WorkItem(job, "s", family, 1, due, "w")


def test_reorder_point_is_mean_over_lead_time_plus_95_percent_safety() -> None:
    """2 orders/h of 1 unit over 24 h: mean 48, sd √48, ROP = ⌈48 + 1.645·6.93⌉ = 60."""
    assert reorder_point(2.0, 1.0, 1.0, 24.0) == 60
    # sizes of mean 2 and E[q²] 5: mean 96, sd √(48·5) = 15.49 → ⌈96 + 25.48⌉ = 122
    assert reorder_point(2.0, 2.0, 5.0, 24.0) == math.ceil(96 + 1.6448536269514722 * math.sqrt(240))
    assert reorder_point(0.0, 2.0, 5.0, 24.0) == 0


def test_edd_takes_the_earliest_due_date_whatever_the_family() -> None:
    """EDD ignores families (no batching) and keeps arrival order on ties."""
    queue = [_item("a", 50.0, "toys"), _item("b", 10.0, "hair"), _item("c", 10.0, "toys")]
    assert edd_pick(queue) == 1
    assert edd_pick([]) is None


def test_least_loaded_machine_that_can_make_the_family() -> None:
    """Of the machines able to make the family, the one with least queued work."""
    machines = [
        MachineState("m1", "f", ("toys",)),
        MachineState("m2", "f", ("toys", "hair")),
        MachineState("m3", "f", ("hair",)),
    ]
    load = {"m1": 300.0, "m2": 100.0, "m3": 0.0}
    chosen = least_loaded(machines, "toys", lambda m: load[m.id])
    assert chosen is not None
    assert chosen.id == "m2"
    assert least_loaded(machines, "lamps", lambda m: 0.0) is None


def test_nearest_warehouse_holding_the_whole_line() -> None:
    """The nearest warehouse with all units wins; one with part of them is skipped."""

    def dist(a: tuple[float, float], b: tuple[float, float]) -> float:
        return abs(a[0] - b[0]) + abs(a[1] - b[1])

    stock = [("near", (0.0, 1.0), 2), ("mid", (0.0, 3.0), 5), ("far", (0.0, 9.0), 9)]
    assert nearest_with_stock((0.0, 0.0), 3, stock, dist) == "mid"
    assert nearest_with_stock((0.0, 0.0), 2, stock, dist) == "near"
    assert nearest_with_stock((0.0, 0.0), 10, stock, dist) is None


def test_nearest_neighbour_tours_fill_vehicles_in_turn() -> None:
    """From the depot at 0 on a line: 1, 2, then 5 does not fit (cap 4) → next tour."""

    def dist(a: tuple[float, float], b: tuple[float, float]) -> float:
        return abs(a[0] - b[0])

    stops = [((5.0, 0.0), 2), ((1.0, 0.0), 1), ((2.0, 0.0), 2), ((-1.0, 0.0), 1)]
    # from 0: nearest is 1 (idx 1) or -1 (idx 3) at distance 1 → lowest index first: 1;
    # from 1: -1 is 2 away, 2 is 1 away → idx 2 (load 3); from 2: -1 (load 4) → full
    assert nearest_neighbour_tours((0.0, 0.0), stops, 4, dist) == [[1, 2, 3], [0]]


def test_order_size_moments_of_the_capped_geometric() -> None:
    """qty_max 1: every order is one unit; E[q] = E[q²] = 1."""
    assert order_size_moments(1) == (1.0, 1.0)
    eq, eq2 = order_size_moments(2, p=0.5)
    assert math.isclose(eq, 1.5)
    assert math.isclose(eq2, 2.5)


def _world() -> tuple[World, BaselinePolicy]:
    scenario = load_scenario(str(Path(__file__).with_name("small.toml")))
    world = World(scenario, draw_orders(scenario, days=1, seed=3), days=1, start_s=START_S)
    policy = BaselinePolicy()
    policy.start(world)
    return world, policy


def test_no_stock_anywhere_makes_the_whole_line_at_one_factory() -> None:
    """Without stock the line is made whole (no split) at the maker nearest the customer."""
    world, policy = _world()
    for w in world.on_hand:
        world.on_hand[w] = {}
    sku = world.skus["sku-0001"]
    order = Order("o1", 0.0, sku.id, 3, "north", 30.27, 120.15, False, 48 * 3600.0)
    world.orders[order.id] = OrderState(order)
    policy.on_order(world, order)
    queued = [(m, i) for m, q in policy.queues.items() for i in q if i.order_id == "o1"]
    assert len(queued) == 1
    machine, item = queued[0]
    assert item.qty == 3
    assert item.dest == "w-north"
    nearest = min(sku.makers, key=lambda f: world.road_km((30.27, 120.15), world.point(f)))
    assert world.machines[machine].factory == nearest


def test_stock_is_taken_from_the_nearest_warehouse_holding_the_line() -> None:
    """With the near shelf short and the far one full, the far one serves the whole line."""
    world, policy = _world()
    for w in world.on_hand:
        world.on_hand[w] = {}
    world.on_hand["w-north"]["sku-0002"] = 1
    world.on_hand["w-south"]["sku-0002"] = 9
    order = Order("o2", 0.0, "sku-0002", 2, "north", 30.27, 120.15, True, 24 * 3600.0)
    world.orders[order.id] = OrderState(order)
    policy.on_order(world, order)
    assert world.orders["o2"].units_from_stock == 2
    assert world.on_hand["w-south"]["sku-0002"] == 7  # left by line-haul for the north vans
    assert world.waiting["w-north"][-1].order_id == "o2"


def test_one_wave_a_day_at_the_wave_hour() -> None:
    """The baseline sends its vans once a day, at the scenario's wave hour."""
    world, policy = _world()
    assert policy.wave_times(3) == [3 * 86_400.0 + world.scenario.delivery.wave_hour * 3600.0]


def test_reorder_point_triggers_one_order_of_a_review_period() -> None:
    """Taking stock below the reorder point queues one replenishment of the fixed size."""
    world, policy = _world()
    key = ("w-north", "sku-0001")
    world.on_hand["w-north"]["sku-0001"] = policy.rop[key] + 1
    order = Order("o3", 0.0, "sku-0001", 2, "north", 30.27, 120.15, False, 48 * 3600.0)
    world.orders[order.id] = OrderState(order)
    policy.on_order(world, order)
    stock_jobs = [i for q in policy.queues.values() for i in q if i.order_id is None]
    assert [(i.dest, i.sku, i.qty) for i in stock_jobs] == [
        ("w-north", "sku-0001", policy.order_qty[key])
    ]
