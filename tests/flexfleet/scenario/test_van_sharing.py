"""Vans lent between the scenario's warehouses: the world moves a van (its count, when it is
free, its kilometres), and the flexfleet policy's `VanSharing` lends one to a warehouse
with a backlog and sends it home when the backlog is gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexfleet.scenario.demand import Order, draw_orders
from flexfleet.scenario.run import START_S, run_scenario
from flexfleet.scenario.schema import load_scenario, parse_scenario
from flexfleet.scenario.van_sharing import VanSharing
from flexfleet.scenario.world import DAY_S, Consignment, OrderState, TourRecord, World
from tests.flexfleet.scenario.support import SMALL

H = 3600.0
T = 10 * H  # 10:00 on day 0: a decision time (the delivery day starts at 09:00)


def _world() -> World:
    scenario = load_scenario(SMALL)
    world = World(scenario, draw_orders(scenario, days=2, seed=1), days=2, start_s=START_S)
    world.t = T
    return world


def _tours(world: World, warehouse: str, count: int, *, departed_s: float = T - 5 * H) -> None:
    """Past tours of `warehouse`: 10 stops and 20 km each (40 min of driving at 30 km/h,
    15 min loading and 10 × 4 min of service: 95 min of van time each)."""
    for _ in range(count):
        world.log.tours.append(
            TourRecord(warehouse, departed_s, tuple(f"o{k}" for k in range(10)),
                       ("stock",) * 10, 10, 40, 10.0, 10.0, departed_s - H)
        )  # fmt: skip


def _waiting(world: World, warehouse: str, n: int, *, ready_s: float) -> None:
    """`n` consignments waiting at `warehouse`, ready since `ready_s`."""
    spec = world.warehouses[warehouse]
    for k in range(n):
        order = Order(f"b{k}", ready_s - H, "sku-0001", 1, "south", spec.lat, spec.lon, False,
                      T + DAY_S)  # fmt: skip
        world.orders[order.id] = OrderState(order, parts=1)
        world.waiting[warehouse].append(
            Consignment(order.id, warehouse, order.sku, 1, ready_s, True, (spec.lat, spec.lon),
                        due_key=order.due_s)
        )  # fmt: skip


def test_a_van_moved_is_based_at_its_new_warehouse_once_it_arrives() -> None:
    world = _world()
    assert (world.vans["w-north"], world.vans["w-south"]) == (2, 1)
    arrive = world.move_van("w-north", "w-south")
    km = world.road_km(world.point("w-north"), world.point("w-south"))
    assert arrive == pytest.approx(T + km / world.scenario.delivery.transfer_speed_kmh * H)
    assert (world.vans["w-north"], world.vans["w-south"]) == (1, 2)
    assert (world.free_vans("w-north"), world.free_vans("w-south")) == (1, 1)  # on its way
    assert world.log.km == pytest.approx(km)  # the empty drive counts
    assert world.log.van_moves == [(T, "w-north", "w-south", km)]
    world.t = arrive + 1.0
    assert world.free_vans("w-south") == 2


def test_a_van_that_is_not_free_cannot_move() -> None:
    world = _world()
    world.vehicles_out["w-south"].append(T + H)  # its one van is out on a tour
    with pytest.raises(ValueError, match="no free van"):
        world.move_van("w-south", "w-north")
    with pytest.raises(ValueError, match="no van move"):
        world.move_van("w-north", "w-north")


def test_a_warehouse_behind_borrows_a_van_and_sends_it_home_once_caught_up() -> None:
    """At 10:00 a consignment at w-south has been ready for 25 h (over a day: behind), and
    w-north, its two vans free, sent 4 tours (6.3 h) over the last day: it lends one. At
    the end of the day, w-south caught up (nothing waits) and its last day fits in its own
    van: the van goes home."""
    world = _world()
    _tours(world, "w-north", 4)
    _waiting(world, "w-south", 3, ready_s=T - 25 * H)
    sharing = VanSharing(every_s=1800.0)
    moves = sharing.look(world)
    assert [(m.van_from, m.to, m.reason) for m in moves] == [("w-north", "w-south", "lend")]
    assert (world.vans["w-north"], world.vans["w-south"]) == (1, 2)
    assert sharing.borrowed == {"w-south": ["w-north"]}
    world.t = T + 600.0  # not a decision time: nothing looked at
    assert sharing.look(world) == []

    world.waiting["w-south"] = []  # delivered
    world.t = 21 * H  # the first step after the delivery day (09:00 + 12 h)
    moves = sharing.look(world)
    assert [(m.van_from, m.to, m.reason) for m in moves] == [("w-south", "w-north", "return")]
    assert (world.vans["w-north"], world.vans["w-south"]) == (2, 1)
    assert sharing.borrowed == {"w-south": []}


def test_a_warehouse_behind_but_closed_neither_lends_nor_borrows() -> None:
    world = _world()
    _waiting(world, "w-south", 3, ready_s=T - 25 * H)
    world.closed_until["w-south"] = T + H
    assert VanSharing(every_s=1800.0).look(world) == []
    world.closed_until["w-south"] = 0.0
    assert len(VanSharing(every_s=1800.0).look(world)) == 1


def test_a_warehouse_whose_last_day_needed_all_its_vans_does_not_lend() -> None:
    """w-north's 8 tours over the last day took 12.7 h: more than one van's 12-hour day, so
    it keeps both; tours older than a day do not count."""
    world = _world()
    _waiting(world, "w-south", 3, ready_s=T - 25 * H)
    _tours(world, "w-north", 8)
    assert VanSharing(every_s=1800.0).look(world) == []
    world = _world()
    _waiting(world, "w-south", 3, ready_s=T - 25 * H)
    _tours(world, "w-north", 8, departed_s=T - 25 * H)
    assert len(VanSharing(every_s=1800.0).look(world)) == 1


def test_a_consignment_not_ready_yet_does_not_count_as_waiting() -> None:
    world = _world()
    _waiting(world, "w-south", 3, ready_s=T + H)
    assert VanSharing(every_s=1800.0).look(world) == []


def _one_van_north(orders_per_day: int) -> str:
    """The small scenario with one van at w-north (60 % of the buyers) and three at w-south."""
    text = Path(SMALL).read_text()
    for warehouse, before, after in (("w-north", 2, 1), ("w-south", 1, 3)):
        head = f'id = "{warehouse}"\n'
        at = text.index(head)
        block = text[at : text.index("vehicle_capacity", at)]
        assert f"vehicles = {before}" in block
        text = text.replace(block, block.replace(f"vehicles = {before}", f"vehicles = {after}"))
    return text.replace("base_orders_per_day = 60", f"base_orders_per_day = {orders_per_day}")


@pytest.mark.slow
def test_a_warehouse_short_of_vans_borrows_one_and_delivers_on_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """300 orders a day, w-north's one van cannot keep up: on day 1 it is behind and
    borrows one of w-south's three, and every order is on time; with the vans kept apart,
    its backlog grows and under three orders in four are."""
    scenario = parse_scenario(_one_van_north(300))
    shared = run_scenario(scenario, policy="flexfleet", days=4, seed=1)
    moves = shared["delivery"]["van_moves"]
    assert [(m["from"], m["to"]) for m in moves] == [("w-south", "w-north")]
    assert shared["delivery"]["van_move_km_per_order"] > 0
    monkeypatch.setattr(VanSharing, "look", lambda self, world: [])
    apart = run_scenario(scenario, policy="flexfleet", days=4, seed=1)
    assert apart["delivery"]["van_moves"] == []
    assert shared["kpis"]["on_time_rate"] >= 0.99
    assert apart["kpis"]["on_time_rate"] < 0.75
    assert shared["kpis"]["lead_time_p95_h"] < apart["kpis"]["lead_time_p95_h"]
