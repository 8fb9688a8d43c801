"""Routing from the road: a loaded vehicle starts from where it is, delivered stops drop
out, a failed delivery goes back into the plan (pure step, the service, and the runner fed
by stop events, durably)."""

from __future__ import annotations

import itertools
from contextlib import closing
from pathlib import Path

import pytest

from coordinator.ingest.progress import fleet_facts
from coordinator.ingest.records import AgentEvent, BatchOutcome, WriteBatch
from coordinator.plan.orders.specs import DeliveryOrder, DepotSpec, VehicleSpec
from coordinator.plan.routing.live import Position, from_the_road, locate, place_of
from coordinator.plan.routing.planner import PyVrpRouter
from coordinator.plan.routing.problem import (
    Depot,
    Order,
    PinnedStop,
    RoutingProblem,
    Vehicle,
    VehicleStart,
)
from coordinator.plan.routing.travel import GreatCircleTravel, LatLon
from coordinator.plan.runner import PlanRunner
from coordinator.plan.triggers import DepotSeen
from coordinator.store.port import CommitResult
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock
from protocol import Event
from protocol.reports import StopReport
from tests.coordinator.conftest import command_log

DEPOT = (29.3069, 120.0751)
NEAR_A = (29.3300, 120.1000)  # a few km north-east of the depot
A = (29.3310, 120.1010)
B = (29.2800, 120.0500)
TRAVEL = GreatCircleTravel(detour_factor=1.3, speed_kmh=30)


def problem() -> RoutingProblem:
    return RoutingProblem(
        depots=(Depot("w1", 0, 0, lat=DEPOT[0], lon=DEPOT[1]),),
        orders=(
            Order("a", 0, 0, 1, lat=A[0], lon=A[1]),
            Order("b", 0, 0, 1, lat=B[0], lon=B[1]),
        ),
        vehicles=(Vehicle("v1", "w1", 5), Vehicle("v2", "w1", 5)),
        pinned=(PinnedStop("a", "v1"),),
    )


def test_a_loaded_vehicle_starts_from_its_position() -> None:
    """v1 carries `a` and is at NEAR_A: it starts there, now; v2 (nothing loaded) at home."""
    positions = {
        "v1": Position("v1", *NEAR_A, at=40),
        "v2": Position("v2", *NEAR_A, at=40),
    }
    live = from_the_road(problem(), positions=positions, failed=(), now=50)
    v1, v2 = live.vehicles
    assert v1.start == VehicleStart(place_of("v1"), time=50)
    assert v2.start is None


def test_a_failed_stop_is_unpinned_but_stays_an_order() -> None:
    """`a` failed: no longer pinned to v1 (so v1 is no longer loaded), still to deliver."""
    live = from_the_road(problem(), positions={}, failed={"a"}, now=0)
    assert live.pinned == ()
    assert [o.id for o in live.orders] == ["a", "b"]


def test_the_route_is_driven_from_the_position_on_road_times() -> None:
    """Located with v1 at NEAR_A: v1 serves `a` first, leaving at `now`, and its route
    length is the road time from its position to `a`, then on and home."""
    positions = {"v1": Position("v1", *NEAR_A, at=50)}
    live = from_the_road(problem(), positions=positions, failed=(), now=50)
    located = locate(live, TRAVEL, time_unit_s=60.0, positions=positions)
    assert located.travel is not None
    assert place_of("v1") in located.travel.ids
    result = PyVrpRouter(deterministic=True).plan(located, time_limit_s=1.0, seed=1)
    v1 = next(r for r in result.routes if r.vehicle_id == "v1")
    assert v1.stops[0] == "a"
    assert v1.start == pytest.approx(50, abs=0.1)
    index, t = located.travel.index(), located.travel.times
    path = [place_of("v1"), *v1.stops, "w1"]
    driven = sum(t[index[x]][index[y]] for x, y in itertools.pairwise(path))
    assert v1.distance == pytest.approx(driven, abs=0.1 * len(path))
    assert t[index[place_of("v1")]][index["a"]] < t[index["w1"]][index["a"]]
    assert result.unserved == ()


def test_a_planar_problem_stays_planar() -> None:
    """An order given in x/y only: no travel matrix (the solver benchmarks' form)."""
    planar = RoutingProblem(
        depots=(Depot("w1", 0, 0, lat=DEPOT[0], lon=DEPOT[1]),),
        orders=(Order("a", 3, 4, 1),),
        vehicles=(Vehicle("v1", "w1", 5),),
    )
    assert locate(planar, TRAVEL, time_unit_s=60.0, positions={}).travel is None


def _stop_event(name: str, stop_id: str, seq: int, reason: str = "") -> AgentEvent:
    report = StopReport(route_version=1, stop_id=stop_id, index=0, lat=A[0], lon=A[1])
    return AgentEvent(
        Event(
            site="s",
            node="v1",
            bd_seq=0,
            seq=seq,
            ts=1_700_000_000_000,
            name=name,
            data=report.to_data(),
            reason=reason,
        )
    )


def _runner(store: SqliteStore) -> PlanRunner:
    clock = FakeClock()
    runner = PlanRunner(
        clock=clock, commands=command_log(clock=clock), state=store.plan_state(), travel=TRAVEL
    )
    runner.apply([DepotSeen("s", "w1")])
    runner.restore_saved()
    return runner


def test_stop_events_close_delivered_and_unpin_failed_durably(tmp_path: Path) -> None:
    """`stop_delivered` closes `a`; `stop_failed` takes `b` off v1, also after a restart;
    v1's latest lat/lon is its position."""
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        runner = _runner(store)
        runner.set_fleet(
            [DepotSpec("w1", 0, 0, lat=DEPOT[0], lon=DEPOT[1])],
            [VehicleSpec("v1", "w1", 5)],
        )
        runner.submit_orders(
            [],
            [
                DeliveryOrder("a", 0, 0, 1, lat=A[0], lon=A[1]),
                DeliveryOrder("b", 0, 0, 1, lat=B[0], lon=B[1]),
            ],
        )
        runner.dispatch("v1", ["a", "b"])
        outcome = BatchOutcome(
            WriteBatch(latest=(("s", "v1", {"lat": (1, NEAR_A[0]), "lon": (1, NEAR_A[1])}),))
        )
        runner.on_commit(outcome, CommitResult(0, 0, 0, 0))
        events = (
            _stop_event("stop_delivered", "a", 5),
            _stop_event("stop_failed", "b", 6, reason="nobody home"),
        )
        facts = [fact for e in events for fact in fleet_facts(e.event)]  # as ingest reads them
        runner.follow_fleet(facts)
        runner.follow_fleet(facts)  # taken again (a kill before the inbox was emptied)
        assert [d.id for d in runner.orders()[1]] == ["b"]
        assert runner.service._pins == {}
        assert runner.service._positions["v1"].lat == NEAR_A[0]
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        again = _runner(store)
        assert [d.id for d in again.orders()[1]] == ["b"]
        assert again.service._pins == {}


def test_located_stops_are_sent_with_their_place() -> None:
    """A route command names each located stop with its latitude, longitude and quantity,
    and ends back at the located depot (a `depot` stop, where the van unloads)."""
    clock = FakeClock()
    runner = PlanRunner(clock=clock, commands=command_log(clock=clock), travel=TRAVEL)
    runner.apply([DepotSeen("s", "w1")])
    runner.set_fleet(
        [DepotSpec("w1", 0, 0, lat=DEPOT[0], lon=DEPOT[1])], [VehicleSpec("v1", "w1", 5)]
    )
    runner.submit_orders([], [DeliveryOrder("a", 0, 0, 2, lat=A[0], lon=A[1])])
    clock.advance(5.0)
    assert runner.service.tick()
    from protocol import decode, plan_update
    from protocol.plans import RouteStop, RouteUpdate

    (sent,) = runner.commands.publisher.messages  # type: ignore[attr-defined]
    update = plan_update(decode(sent.topic, sent.payload))  # type: ignore[arg-type]
    assert isinstance(update, RouteUpdate)
    (stop, home) = update.stops
    assert isinstance(stop, RouteStop)
    assert isinstance(home, RouteStop)
    assert (stop.stop_id, stop.lat, stop.lon, stop.quantity) == ("a", A[0], A[1], 2)
    assert LatLon(stop.lat, stop.lon) == LatLon(*A)
    assert (home.stop_id, home.lat, home.lon, home.action) == ("w1", *DEPOT, "depot")


def test_a_route_goes_to_the_vehicle_when_it_has_an_agent_of_its_own() -> None:
    """A vehicle node announced (`node_kind: vehicle`) gets its route on its own command
    topic; a vehicle without one, through its depot's agent."""
    from coordinator.plan.triggers import TriggerMapper, VehicleSeen

    topics = []
    for announced in (False, True):
        clock = FakeClock()
        runner = PlanRunner(clock=clock, commands=command_log(clock=clock), travel=TRAVEL)
        runner.apply([DepotSeen("s", "w1")])
        if announced:
            runner.apply([VehicleSeen("s", "v1")])
        depot = DepotSpec("w1", 0, 0, lat=DEPOT[0], lon=DEPOT[1])
        runner.set_fleet([depot], [VehicleSpec("v1", "w1", 5)])
        runner.submit_orders([], [DeliveryOrder("a", 0, 0, 2, lat=A[0], lon=A[1])])
        clock.advance(5.0)
        assert runner.service.tick()
        topics += runner.commands.publisher.topics()  # type: ignore[attr-defined]
    assert topics == ["ff/v1/s/w1/cmd/route", "ff/v1/s/v1/cmd/route"]
    mapper = TriggerMapper(stock_threshold_for=lambda _sku: None)
    assert mapper.restore([("s", "v1", "vehicle", True)]) == [VehicleSeen("s", "v1")]
