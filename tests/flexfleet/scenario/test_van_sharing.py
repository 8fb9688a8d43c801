"""Vans lent between the scenario's warehouses: the world moves a van (its count, when it is
free, its kilometres), and the flexfleet policy's `VanSharing` lends one to a warehouse
with a backlog and sends it home when the backlog is gone."""

from __future__ import annotations

import pytest

from flexfleet.scenario.demand import Order, draw_orders
from flexfleet.scenario.run import START_S
from flexfleet.scenario.schema import load_scenario
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


def _history(world: World, warehouse: str, tours: int = 10) -> None:
    """Past tours of `warehouse`: 10 stops and 20 km each (40 min of driving at 30 km/h,
    15 min loading and 10 × 4 min of service: 95 min of van time, 9.5 min a stop)."""
    for _ in range(tours):
        world.log.tours.append(
            TourRecord(warehouse, T - 5 * H, tuple(f"o{k}" for k in range(10)),
                       ("stock",) * 10, 10, 40, 10.0, 10.0, T - 6 * H)
        )  # fmt: skip


def _backlog(world: World, warehouse: str, n: int) -> None:
    """`n` consignments waiting at `warehouse`, queued within the last day."""
    spec = world.warehouses[warehouse]
    for k in range(n):
        order = Order(f"b{k}", T - H, "sku-0001", 1, "south", spec.lat, spec.lon, False, T + DAY_S)
        world.orders[order.id] = OrderState(order, parts=1)
        world.waiting[warehouse].append(
            Consignment(order.id, warehouse, order.sku, 1, T, True, (spec.lat, spec.lon),
                        due_key=order.due_s)
        )  # fmt: skip
        world.queued_s[warehouse].append(T - H)


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


def test_a_backlogged_warehouse_borrows_a_van_and_sends_it_home_when_the_backlog_is_gone() -> None:
    """At 10:00, w-south (one van, 11 h of its day left, 12 h tomorrow) has 100 stops
    waiting (15.8 h of van time) and queued as many over the last day; w-north has nothing
    waiting: it lends one of its two vans. At the end of the day, with w-south's backlog
    gone and 30 stops (4.75 h) queued over the last day, the van goes home."""
    world = _world()
    _history(world, "w-north")
    _history(world, "w-south")
    _backlog(world, "w-south", 100)
    sharing = VanSharing(every_s=1800.0)
    moves = sharing.look(world)
    assert [(m.van_from, m.to, m.reason) for m in moves] == [("w-north", "w-south", "lend")]
    assert (world.vans["w-north"], world.vans["w-south"]) == (1, 2)
    assert sharing.borrowed == {"w-south": ["w-north"]}
    world.t = T + 600.0  # not a decision time: nothing looked at
    assert sharing.look(world) == []

    world.waiting["w-south"] = []  # delivered
    world.queued_s["w-south"] = world.queued_s["w-south"][:30]
    world.t = 21 * H  # the first step after the delivery day (09:00 + 12 h)
    moves = sharing.look(world)
    assert [(m.van_from, m.to, m.reason) for m in moves] == [("w-south", "w-north", "return")]
    assert (world.vans["w-north"], world.vans["w-south"]) == (2, 1)
    assert sharing.borrowed == {"w-south": []}


def test_a_warehouse_closed_or_without_history_neither_lends_nor_borrows() -> None:
    world = _world()
    _history(world, "w-north")
    _backlog(world, "w-south", 100)
    assert VanSharing(every_s=1800.0).look(world) == []  # w-south has sent no tour yet
    _history(world, "w-south")
    world.closed_until["w-south"] = T + H
    assert VanSharing(every_s=1800.0).look(world) == []
    world.closed_until["w-south"] = 0.0
    assert len(VanSharing(every_s=1800.0).look(world)) == 1


def test_a_usual_day_alone_can_make_a_warehouse_short() -> None:
    """No backlog, but w-south's last day queued 120 stops (19 h of van time): over the
    rest of today and tomorrow it needs 19 h × 23/12 = 36.4 h of its van's 23 h, and
    borrows; at 60 stops (9.5 h, 18.2 h needed) it does not."""
    for stops, expected in ((120, 1), (60, 0)):
        world = _world()
        _history(world, "w-north")
        _history(world, "w-south")
        world.queued_s["w-south"] = [T - H] * stops
        assert len(VanSharing(every_s=1800.0).look(world)) == expected
        assert (world.log.km > 0) == bool(expected)
