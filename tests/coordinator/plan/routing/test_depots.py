"""Vans load where the goods are: orders bound to a depot are carried only by its vehicles
(the pure split and merge, the service's routes), and a transfer's pickup at a factory is
sent as a pickup stop on a route that ends at the depot of the warehouse it goes to."""

from __future__ import annotations

from coordinator.plan.orders.specs import DeliveryOrder, DepotSpec, VehicleSpec
from coordinator.plan.routing.depots import merge_results, split_by_depot
from coordinator.plan.routing.planner import PyVrpRouter
from coordinator.plan.routing.problem import (
    Depot,
    Order,
    PinnedStop,
    RoutingProblem,
    RoutingResult,
    Vehicle,
)
from coordinator.plan.routing.travel import GreatCircleTravel
from coordinator.plan.runner import PlanRunner
from coordinator.plan.triggers import DepotSeen, VehicleSeen
from fleet_runtime.clock import FakeClock
from protocol import decode, plan_update
from protocol.plans import RouteStop, RouteUpdate
from tests.coordinator.conftest import command_log

TRAVEL = GreatCircleTravel(detour_factor=1.3, speed_kmh=30)
W1, W2 = (29.31, 120.07), (29.35, 120.07)
FACTORY = (29.28, 120.02)
NEAR_W1 = (29.305, 120.075)


def two_depots(*orders: Order, pinned: tuple[PinnedStop, ...] = ()) -> RoutingProblem:
    return RoutingProblem(
        depots=(Depot("w1", 0, 0), Depot("w2", 10, 0)),
        orders=orders,
        vehicles=(Vehicle("v1", "w1", 10), Vehicle("v2", "w2", 10)),
        pinned=pinned,
    )


def test_a_problem_without_bound_orders_stays_whole() -> None:
    """No order bound to a depot (or a single depot): one problem, as before."""
    problem = two_depots(Order("a", 1, 0, 1), Order("b", 9, 0, 1))
    assert split_by_depot(problem).parts == (problem,)
    one = RoutingProblem((Depot("w1", 0, 0),), (Order("a", 1, 0, 1, depot_id="w1"),),
                         (Vehicle("v1", "w1", 5),))  # fmt: skip
    assert split_by_depot(one).parts == (one,)


def test_bound_orders_go_to_their_depot_unbound_to_the_nearest_pins_to_their_vehicle() -> None:
    """An order bound to w2 is in w2's part even when it lies next to w1; unbound orders go
    to the nearest depot; a pinned order stays with its vehicle's depot."""
    split = split_by_depot(
        two_depots(
            Order("bound", 1, 0, 1, depot_id="w2"),
            Order("free-near-w1", 2, 0, 1),
            Order("free-near-w2", 9, 0, 1),
            Order("pinned", 9, 1, 1, depot_id="w2"),
            pinned=(PinnedStop("pinned", "v1"),),
        )
    )
    parts = {p.depots[0].id: p for p in split.parts}
    assert {o.id for o in parts["w1"].orders} == {"free-near-w1", "pinned"}
    assert {o.id for o in parts["w2"].orders} == {"bound", "free-near-w2"}
    assert [v.id for v in parts["w1"].vehicles] == ["v1"]
    assert parts["w1"].pinned == (PinnedStop("pinned", "v1"),)
    assert parts["w2"].pinned == ()
    assert split.unserved == ()


def test_orders_of_a_depot_without_vehicles_are_unserved_for_the_fleet() -> None:
    """A depot with bound orders but no vehicle: its orders are unserved (`fleet`), the
    other depot is solved alone; the merged result keeps both."""
    problem = RoutingProblem(
        depots=(Depot("w1", 0, 0), Depot("w2", 10, 0)),
        orders=(Order("a", 1, 0, 1, depot_id="w1"), Order("b", 9, 0, 1, depot_id="w2")),
        vehicles=(Vehicle("v1", "w1", 10),),
    )
    split = split_by_depot(problem)
    assert [p.depots[0].id for p in split.parts] == ["w1"]
    assert [(u.order_id, u.reason) for u in split.unserved] == [("b", "fleet")]
    solved = [PyVrpRouter(deterministic=True).plan(p, time_limit_s=0.2) for p in split.parts]
    merged = merge_results(solved, split.unserved)
    assert merged.stops_by_vehicle() == {"v1": ("a",)}
    assert [u.order_id for u in merged.unserved] == ["b"]
    assert merge_results([]) == RoutingResult((), 0)


def _runner(clock: FakeClock) -> PlanRunner:
    runner = PlanRunner(clock=clock, commands=command_log(clock=clock), travel=TRAVEL)
    runner.apply([DepotSeen("s", "w1"), DepotSeen("s", "w2")])
    runner.apply([VehicleSeen("s", "v1"), VehicleSeen("s", "v2")])
    runner.set_fleet(
        [DepotSpec("w1", 0, 0, lat=W1[0], lon=W1[1]), DepotSpec("w2", 0, 0, lat=W2[0], lon=W2[1])],
        [VehicleSpec("v1", "w1", 50), VehicleSpec("v2", "w2", 50)],
    )
    return runner


def _routes(runner: PlanRunner) -> dict[str, RouteUpdate]:
    sent: dict[str, RouteUpdate] = {}
    for message in runner.commands.publisher.messages:  # type: ignore[attr-defined]
        update = plan_update(decode(message.topic, message.payload))  # type: ignore[arg-type]
        assert isinstance(update, RouteUpdate)
        sent[update.vehicle_id] = update
    return sent


def test_a_delivery_from_w2_stock_goes_on_w2s_van_even_next_to_w1() -> None:
    """The service routes a delivery bound to w2 on w2's van although w1's is nearer."""
    clock = FakeClock()
    runner = _runner(clock)
    drop = DeliveryOrder("ship.o-1", 0, 0, 2, lat=NEAR_W1[0], lon=NEAR_W1[1], depot_id="w2")
    runner.submit_orders([], [drop])
    clock.advance(5.0)
    assert runner.service.tick()
    routes = runner.routes()["routes"]
    assert [(r["vehicle_id"], r["stops"]) for r in routes] == [("v2", ["ship.o-1"])]


def test_a_made_jobs_units_are_picked_up_at_the_factory_and_unloaded_at_their_warehouse() -> None:
    """A produced job that `carry` gives a transfer for becomes a pickup stop (action,
    transfer id, SKU, good units) on a van of the warehouse it goes to, whose route ends
    at that depot; taking the same job again changes nothing."""
    clock = FakeClock()
    runner = _runner(clock)
    pickup = DeliveryOrder(
        "t.job-1", 0, 0, 7, lat=FACTORY[0], lon=FACTORY[1], depot_id="w2",
        action="pickup", transfer_id="t.job-1", sku="SKU-0003", service_s=60.0,
    )  # fmt: skip
    runner.carry = lambda job_id: pickup if job_id == "job-1" else None
    runner.jobs_produced(["job-1", "job-2"])
    runner.jobs_produced(["job-1"])
    assert [d.id for d in runner.orders()[1]] == ["t.job-1"]
    clock.advance(5.0)
    assert runner.service.tick()
    route = _routes(runner)["v2"]
    stops = [s for s in route.stops if isinstance(s, RouteStop)]
    assert [(s.stop_id, s.action, s.transfer_id, s.sku, s.quantity) for s in stops] == [
        ("t.job-1", "pickup", "t.job-1", "SKU-0003", 7),
        ("w2", "depot", "", "", 0),
    ]
    assert "v1" not in _routes(runner) or _routes(runner)["v1"].stops[:-1] == ()
