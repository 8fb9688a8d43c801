"""How long a depot's vans are spoken for, on hand-computed cases."""

from __future__ import annotations

import pytest

from coordinator.plan.routing.backlog import Backlog, depot_waits, wait_now
from coordinator.plan.routing.problem import (
    Depot,
    Order,
    Route,
    RoutingProblem,
    RoutingResult,
    Unserved,
    Vehicle,
)

NOW = 100.0


def _problem(*orders: Order) -> RoutingProblem:
    return RoutingProblem(
        depots=(Depot("d1", 0, 0), Depot("d2", 9, 9), Depot("d3", 5, 5)),
        orders=orders,
        vehicles=(
            Vehicle("v1", "d1", 10),
            Vehicle("v2", "d1", 10),
            Vehicle("v3", "d2", 10),
            Vehicle("v4", "d3", 10),
        ),
    )


def _order(order_id: str, depot: str | None) -> Order:
    return Order(order_id, 1, 1, 1, depot_id=depot)


def test_the_rest_of_the_routes_and_what_waits_are_shared_by_the_depots_vans() -> None:
    """d1: v1 is out until 140 with 3 stops (planned from 100), v2 holds a tour of 1 stop
    leaving at 110 and back at 130, and 2 deliveries bound to d1 wait unserved: 15 a stop
    (60 over 4 stops), (40 + 30 + 2 x 15) / 2 vans = 50, and one stop more adds 15 / 2.
    d2: nothing planned, 0, a stop at the mean of all routes. d3: one delivery waits and
    its van has no route: the mean of all routes, 15."""
    orders = [_order(f"a{i}", "d1") for i in range(4)] + [
        _order("w1", "d1"),
        _order("w2", "d1"),
        _order("w3", "d3"),
        _order("any", None),
    ]
    result = RoutingResult(
        routes=(
            Route("v1", "d1", ("a0", "a1", "a2"), 9.0, NOW, NOW + 40, 3),
            Route("v2", "d1", ("a3",), 3.0, NOW + 10, NOW + 30, 1),
        ),
        total_distance=12.0,
        unserved=tuple(Unserved(o, "capacity", "") for o in ("w1", "w2", "w3", "any")),
    )
    waits = depot_waits(_problem(*orders), result, now=NOW)
    assert {d: (b.wait, b.per_stop) for d, b in waits.items()} == {
        "d1": pytest.approx((50.0, 7.5)),
        "d2": pytest.approx((0.0, 15.0)),
        "d3": pytest.approx((15.0, 15.0)),
    }


def test_a_route_already_over_or_no_route_at_all_leaves_the_vans_free() -> None:
    """A route that ended before now costs nothing; no routes and nothing waiting: 0."""
    ended = RoutingResult(
        routes=(Route("v1", "d1", ("a",), 1.0, 50.0, 90.0, 1),), total_distance=1.0
    )
    assert depot_waits(_problem(_order("a", "d1")), ended, now=NOW)["d1"].wait == 0.0
    empty = RoutingResult(routes=(), total_distance=0.0)
    assert {d: b.wait for d, b in depot_waits(_problem(), empty, now=NOW).items()} == {
        "d1": 0.0,
        "d2": 0.0,
        "d3": 0.0,
    }


def test_the_vans_work_the_backlog_off_as_time_passes() -> None:
    """Ten units after the plan, each wait is ten shorter, and never below 0."""
    backlogs = {"d1": Backlog(50.0, 5.0), "d2": Backlog(4.0, 3.0)}
    assert wait_now(backlogs, planned_at=NOW, now=NOW + 10) == {"d1": 40.0, "d2": 0.0}
    assert wait_now({"d1": Backlog(50.0, 5.0)}, planned_at=NOW, now=NOW - 5) == {"d1": 50.0}


def test_each_delivery_added_since_the_plan_adds_its_share_of_a_stop() -> None:
    """Two deliveries added at d1 add 2 x 5 to what is left of its wait; at d2, whose vans
    are free by now, one adds 3 from now; one at a depot with no vans adds nothing."""
    backlogs = {"d1": Backlog(50.0, 5.0), "d2": Backlog(4.0, 3.0)}
    added = {"d1": 2, "d2": 1, "elsewhere": 4}
    assert wait_now(backlogs, planned_at=NOW, now=NOW + 10, added=added) == {
        "d1": 50.0,
        "d2": 3.0,
    }


def test_a_backlog_in_other_units() -> None:
    assert Backlog(2.0, 0.5).scaled(60.0) == Backlog(120.0, 30.0)
