"""Two waits keep a van from leaving without goods about to join its tour: back at its
depot with transfers it picked up, it waits for their receipt; with deliveries bound to
its depot in no plan yet, a tour about to leave is planned once more first. Each lasts
one look interval at most (`plan.dispatch`, pure; then the runner: the wiring from the
fleet's facts, and the plan made at once)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from coordinator.jobs.facts import FleetFact
from coordinator.plan.dispatch import Look, TourDispatch
from coordinator.plan.orders.specs import DeliveryOrder, DepotSpec, VehicleSpec
from coordinator.plan.routing.departures import DeparturePolicy
from coordinator.plan.routing.problem import (
    Depot,
    Order,
    PinnedStop,
    Route,
    RoutingProblem,
    RoutingResult,
    Vehicle,
)
from coordinator.plan.runner import PlanRunner
from coordinator.plan.triggers import DepotSeen
from fleet_runtime.clock import FakeClock
from tests.coordinator.conftest import command_log

EVERY_S = 300.0
VAN = Vehicle("v", "d", 5)
DEPOTS = {"d": Depot("d", 0.0, 0.0), "e": Depot("e", 50.0, 0.0)}


def _dispatch() -> TourDispatch:
    return TourDispatch(DeparturePolicy(fill_share=1.0, max_wait_s=3600.0), every_s=EVERY_S)


def _look(
    d: TourDispatch,
    orders: tuple[Order, ...],
    *,
    wall_s: float,
    pending: frozenset[str] = frozenset(),
    version: int = 1,
) -> tuple[list[Any], dict[str, Any]]:
    """One look at a van at its depot `d` whose planned tour holds `orders`."""
    problem = RoutingProblem(depots=tuple(DEPOTS.values()), orders=orders, vehicles=(VAN,))
    d.routed = problem
    stops = tuple(o.id for o in orders)
    route = Route("v", "d", stops, distance=10.0, start=0.0, end=20.0, load=5)
    pins: dict[str, PinnedStop] = {}
    messages = d.look(
        Look(now=0, unit_s=1.0, epoch_s=wall_s, wall_s=wall_s, version=version),
        routes=RoutingResult((route,), 10.0),
        vehicles=(VAN,),
        depots=DEPOTS,
        orders={o.id: o for o in orders},
        pins=pins,
        positions={},
        pending=pending,
    )
    return messages, d.view["v"]


FULL = (Order("a", 1.0, 0.0, demand=5),)  # fills the van: it may leave at once
DUE = (Order("a", 1.0, 0.0, demand=1, promised=60.0),)  # must leave within a minute


def test_a_tour_about_to_leave_is_planned_once_more_with_new_deliveries() -> None:
    """Full, it could leave; a delivery bound to its depot is in no plan yet: it waits,
    and asks for the plan at once; the next plan made, it leaves even if more came in."""
    d = _dispatch()
    messages, view = _look(d, FULL, wall_s=1000.0, pending=frozenset({"d"}))
    assert messages == []
    assert (view["state"], view["waits_for"]) == ("held", "plan")
    assert view["leaves_by_ms"] == int((1000.0 + EVERY_S) * 1000)
    assert d.plan_wanted is True
    assert d.look_again == 1000.0  # at once
    assert _look(d, FULL, wall_s=1001.0, pending=frozenset({"d"}))[0] == []  # same plan
    messages, view = _look(d, FULL, wall_s=1002.0, pending=frozenset({"d"}), version=2)
    assert [m[1]["departs"] for m in messages] == ["full"]
    assert view["state"] == "out"
    assert d.plan_wanted is False


def test_the_wait_for_a_plan_that_never_comes_lasts_one_look() -> None:
    d = _dispatch()
    assert _look(d, FULL, wall_s=1000.0, pending=frozenset({"d"}))[0] == []
    assert _look(d, FULL, wall_s=1000.0 + EVERY_S - 1, pending=frozenset({"d"}))[0] == []
    messages, _ = _look(d, FULL, wall_s=1000.0 + EVERY_S, pending=frozenset({"d"}))
    assert [m[1]["departs"] for m in messages] == ["full"]


def test_a_promise_tour_waits_for_the_plan_too_and_a_tour_held_or_elsewhere_does_not() -> None:
    """A tour leaving for a promise waits for the one plan as well (its new deliveries may
    be as urgent: a solve against hours); a tour that is held anyway asks for nothing, nor
    does a depot with nothing new."""
    d = _dispatch()
    assert _look(d, DUE, wall_s=1000.0, pending=frozenset({"d"}))[0] == []
    assert d.plan_wanted is True
    messages, _ = _look(d, DUE, wall_s=1001.0, pending=frozenset({"d"}), version=2)
    assert [m[1]["departs"] for m in messages] == ["promise"]
    thin = (Order("a", 1.0, 0.0, demand=1),)  # one unit of five, no promise: held
    d = _dispatch()
    messages, view = _look(d, thin, wall_s=1000.0, pending=frozenset({"d"}))
    assert (messages, view["state"], d.plan_wanted) == ([], "held", False)
    assert "waits_for" not in view
    messages, _ = _look(_dispatch(), FULL, wall_s=1000.0, pending=frozenset({"e"}))
    assert [m[1]["departs"] for m in messages] == ["full"]


def test_a_van_back_with_goods_it_picked_up_waits_for_their_receipt() -> None:
    d = _dispatch()
    d.picked_up("v", ["t.job-1", "t.job-2"])
    messages, view = _look(d, DUE, wall_s=1000.0)
    assert messages == []  # even a promise: the goods it brought may be for this tour
    assert view["state"] == "unloading"
    assert view["carrying"] == ["t.job-1", "t.job-2"]
    assert d.look_again == 1000.0 + EVERY_S
    assert d.received(["t.other"]) is False
    assert d.received(["t.job-1"]) is True
    assert _look(d, DUE, wall_s=1010.0)[0] == []  # t.job-2 not yet
    assert d.received(["t.job-2"]) is True
    messages, view = _look(d, DUE, wall_s=1020.0)
    assert [m[1]["departs"] for m in messages] == ["promise"]
    assert d.carrying == {}


def test_a_receipt_that_never_comes_holds_the_van_one_look(
    caplog: pytest.LogCaptureFixture,
) -> None:
    d = _dispatch()
    d.picked_up("v", ["t.job-1"])
    assert _look(d, FULL, wall_s=1000.0)[0] == []
    assert _look(d, FULL, wall_s=1000.0 + EVERY_S - 1)[0] == []
    with caplog.at_level(logging.WARNING, logger="coordinator.plan.dispatch"):
        messages, _ = _look(d, FULL, wall_s=1000.0 + EVERY_S)
    assert [m[1]["departs"] for m in messages] == ["full"]
    assert "no receipt for t.job-1" in caplog.text
    assert d.carrying == {}


def test_a_van_still_on_the_road_is_not_unloading() -> None:
    """Carrying goods on its tour (stops on board), the van is out, not waiting."""
    d = _dispatch()
    d.picked_up("v", ["t.job-1"])
    problem = RoutingProblem(depots=tuple(DEPOTS.values()), orders=FULL, vehicles=(VAN,))
    d.routed = problem
    d.look(
        Look(now=0, unit_s=1.0, epoch_s=0.0, wall_s=1000.0, version=1),
        routes=RoutingResult((), 0.0),
        vehicles=(VAN,),
        depots=DEPOTS,
        orders={"a": FULL[0]},
        pins={"a": PinnedStop("a", "v")},
        positions={},
    )
    assert d.view["v"]["state"] == "out"


# ---- the runner: pickups done and receipts from the fleet's facts -----------------------
FACTORY = (29.35, 120.10)
DEPOT = (29.3069, 120.0751)
CUSTOMER = (29.3310, 120.1010)


def _runner(clock: FakeClock, *, max_wait_s: float) -> PlanRunner:
    """A planner runner with tours: one depot `w1` and its one van `v1` of 5 units."""
    runner = PlanRunner(
        clock=clock,
        commands=command_log(clock=clock),
        departures=DeparturePolicy(fill_share=1.0, max_wait_s=max_wait_s),
        dispatch_every_s=EVERY_S,
    )
    runner.apply([DepotSeen("s", "w1")])
    runner.set_fleet(
        [DepotSpec("w1", 0, 0, lat=DEPOT[0], lon=DEPOT[1])], [VehicleSpec("v1", "w1", 5)]
    )
    return runner


def test_the_runner_holds_a_van_until_the_goods_it_brought_are_received() -> None:
    """A pickup done at the factory (the van's `stop_delivered`) makes the van carry its
    transfer; back at the depot it is `unloading` however its next tour stands; the
    receipt lets it go, with the made order's delivery submitted on that receipt."""
    clock = FakeClock()
    runner = _runner(clock, max_wait_s=3600.0)
    received: dict[str, int] = {}
    runner.received = lambda ids: {i: received[i] for i in ids if i in received}
    pickup = DeliveryOrder(
        "t.job-1", 0, 0, 2, lat=FACTORY[0], lon=FACTORY[1], depot_id="w1", action="pickup",
        transfer_id="t.job-1", sku="SKU-1", promised_ms=int((clock.now() + 60) * 1000),
    )  # fmt: skip
    runner.submit_orders([], [pickup])
    clock.advance(5.0)
    runner.service.tick()
    assert runner.service.current_routes()["tours"][0]["state"] == "out"
    runner.service.picked_up([("w1", "t.job-0")])  # reported by a node that is no van
    assert runner.service._tours is not None
    assert runner.service._tours.carrying == {}
    runner.follow_fleet([FleetFact("s", "v1", "stop_delivered", "t.job-1")])
    runner.service.vehicle_at("v1", lat=DEPOT[0], lon=DEPOT[1])
    runner.submit_orders(
        [], [DeliveryOrder("other", 0, 0, 5, lat=CUSTOMER[0], lon=CUSTOMER[1], depot_id="w1")]
    )  # a full tour, ready to leave
    for _ in range(3):
        clock.advance(5.0)
        runner.service.tick()
    (tour,) = runner.service.current_routes()["tours"]
    assert (tour["state"], tour["carrying"]) == ("unloading", ["t.job-1"])
    received["t.job-1"] = 2
    runner.follow_fleet([FleetFact("s", "w1", "received", "t.job-1")])
    clock.advance(5.0)
    runner.service.tick()
    (tour,) = runner.service.current_routes()["tours"]
    assert tour["state"] == "out"
    assert tour["stops"] == ["other"]


def test_a_delivery_new_at_the_depot_leaves_with_the_tour_about_to_go() -> None:
    """`a` waits for company up to ten minutes; `b`, bound to the same depot, comes in
    moments before the look that sends `a` (its own re-plan not yet due): the tour is
    planned once more at once and leaves with both, not with `a` alone."""
    clock = FakeClock()
    runner = _runner(clock, max_wait_s=600.0)

    def order(order_id: str, qty: int) -> None:
        runner.submit_orders(
            [],
            [DeliveryOrder(order_id, 0, 0, qty, lat=CUSTOMER[0], lon=CUSTOMER[1], depot_id="w1")],
        )

    order("a", 1)
    clock.advance(5.0)
    runner.service.tick()
    assert runner.service.current_routes()["tours"][0]["state"] == "held"
    while True:
        due = runner.service.deadline()
        assert due is not None
        clock.advance(max(0.0, due - clock.monotonic()) - 0.1)
        if (
            runner.service.current_routes()["tours"][0]["leaves_by_ms"]
            <= (clock.now() + 0.2) * 1000
        ):
            break
        clock.advance(0.1)
        runner.service.tick()
    order("b", 2)  # 0.1 s before the look: its re-plan is due seconds later
    clock.advance(0.1)
    runner.service.tick()
    (tour,) = runner.service.current_routes()["tours"]
    assert tour["state"] == "out"
    assert sorted(tour["stops"]) == ["a", "b"]
