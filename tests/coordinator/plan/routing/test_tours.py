"""Tours in the running coordinator: a van at its depot leaves with its planned route only
when the departure rules say so, its stops loaded (durably, before it is told); a van on a
tour drives what it carries; a van is back for a new tour at its depot (pure rules, then
the planner runner on a fake clock)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from coordinator.plan.orders.specs import DeliveryOrder, DepotSpec, VehicleSpec
from coordinator.plan.routing.departures import DeparturePolicy
from coordinator.plan.routing.problem import (
    NO_LIMIT,
    Depot,
    Order,
    Route,
    RoutingProblem,
    TravelMatrix,
    Vehicle,
)
from coordinator.plan.routing.tours import at_depot, look_at_tour, on_board_to_send, tour_offsets
from coordinator.plan.routing.travel import GreatCircleTravel, LatLon
from coordinator.plan.runner import PlanRunner
from coordinator.plan.state import MemoryPlanState, PlanState
from coordinator.plan.triggers import DepotSeen
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock
from protocol import decode, plan_update
from protocol.plans import RouteStop, RouteUpdate
from tests.coordinator.conftest import command_log

DEPOT = (29.3069, 120.0751)
A = (29.3310, 120.1010)  # about 4 km from the depot
B = (29.2800, 120.0500)
FAR = (29.4000, 120.2000)  # a van out on the road
TRAVEL = GreatCircleTravel(detour_factor=1.3, speed_kmh=30)
HOUR = 3600.0


# ---- the rules (pure) -------------------------------------------------------------------
def _planar(*orders: Order) -> RoutingProblem:
    return RoutingProblem(
        depots=(Depot("d", 0.0, 0.0),), orders=orders, vehicles=(Vehicle("v", "d", 5),)
    )


def test_offsets_are_the_legs_and_the_service_before_each_stop() -> None:
    """Planar: d→a is 5, a's service 2, a→b is 4: service starts at 5 and 11. With a travel
    matrix its times are the legs."""
    problem = _planar(Order("a", 3, 4, 1, service=2), Order("b", 3, 0, 1))
    assert tour_offsets(problem, "d", ["a", "b"]) == [5.0, 11.0]
    matrix = TravelMatrix(("d", "a", "b"), ((0.0, 7.0, 9.0), (7.0, 0.0, 1.5), (9.0, 1.5, 0.0)))
    located = RoutingProblem(
        depots=problem.depots, orders=problem.orders, vehicles=problem.vehicles, travel=matrix
    )
    assert tour_offsets(located, "d", ["b", "a"]) == [9.0, 10.5]


def _reason(
    problem: RoutingProblem, stops: Sequence[str], *, since: float, now: float = 100.0
) -> str | None:
    route = Route("v", "d", tuple(stops), 0.0, 0.0, 0.0, 0)
    return look_at_tour(
        problem,
        route,
        capacity=5,
        since=dict.fromkeys(stops, since),
        now=now,
        next_chance=now + 5,  # five minutes
        unit_s=60.0,
        policy=DeparturePolicy(fill_share=1.0, max_wait_s=HOUR),
    ).reason


def test_a_tour_leaves_full_at_risk_or_waited_and_is_held_otherwise() -> None:
    """Units of one minute, a look every five: 3 of 5 units, a stop 10 minutes old and no
    promise is held; 5 of 5 leave (full); a promise 8 minutes after the 5-minute drive
    cannot wait for the next look (promise), one 20 minutes after can; a stop 56 minutes
    old would be more than an hour old at the next look (waited)."""
    thin = _planar(Order("a", 3, 4, 3))
    assert _reason(thin, ["a"], since=90.0) is None
    assert _reason(_planar(Order("a", 3, 4, 5)), ["a"], since=90.0) == "full"
    assert _reason(_planar(Order("a", 3, 4, 1, due=108.0)), ["a"], since=99.0) == "promise"
    assert _reason(_planar(Order("a", 3, 4, 1, due=125.0)), ["a"], since=99.0) is None
    assert _reason(thin, ["a"], since=44.0) == "waited"
    assert _reason(thin, ["a"], since=46.0) is None
    assert _reason(thin, [], since=0.0) is None


def _one_stop_look(order: Order) -> tuple[object, int, float]:
    """(reason, load, leaves by) of a one-stop tour 5 minutes out, its stop entered at 90,
    looked at 100 with the next look at 105 (minutes), an hour's wait at most."""
    look = look_at_tour(
        _planar(order),
        Route("v", "d", (order.id,), 0.0, 0.0, 0.0, 0),
        capacity=5,
        since={order.id: 90.0},
        now=100.0,
        next_chance=105.0,
        unit_s=60.0,
        policy=DeparturePolicy(fill_share=1.0, max_wait_s=HOUR),
    )
    return look.reason, look.load, look.leaves_by


def test_a_held_tour_leaves_by_its_oldest_stops_longest_wait_or_its_first_promise() -> None:
    """A stop 10 minutes old with an hour's wait leaves by minute 150 (entered at 90); due
    at 120 after a 5-minute drive, by 115, the sooner."""
    assert _one_stop_look(Order("a", 3, 4, 3)) == (None, 3, 150.0)
    assert _one_stop_look(Order("a", 3, 4, 3, due=120.0)) == (None, 3, 115.0)


def test_a_promise_outside_the_window_holds_a_tour_as_a_due_time_does() -> None:
    """A stop promised at 120 but not bound to it (its window open) leaves by 115 as a
    stop due at 120 would; promised at 90, past, it leaves now, on `promise`, where a stop
    promised nothing would wait its hour."""
    assert _one_stop_look(Order("a", 3, 4, 3, promised=120.0)) == (None, 3, 115.0)
    assert _one_stop_look(Order("a", 3, 4, 3, promised=90.0)) == ("promise", 3, 85.0)
    assert _one_stop_look(Order("a", 3, 4, 3, promised=NO_LIMIT)) == (None, 3, 150.0)


def test_a_van_is_told_its_load_again_only_when_it_does_not_drive_it_already() -> None:
    """What it was sent less the stops done since needs no new command; a stop it was not
    sent, another order, or nothing sent yet (a restart) does."""
    sent = ("a", "b", "c")
    assert not on_board_to_send(("a", "b", "c"), sent)
    assert not on_board_to_send(("b", "c"), sent)
    assert not on_board_to_send(("a", "c"), sent)
    assert on_board_to_send(("c", "a"), sent)
    assert on_board_to_send(("a", "d"), sent)
    assert on_board_to_send(("a",), ())
    assert not on_board_to_send((), sent)


def test_a_van_is_at_its_depot_within_300_m_or_when_nothing_says_otherwise() -> None:
    assert at_depot(None, DEPOT)
    assert at_depot(FAR, (None, None))
    assert at_depot((DEPOT[0] + 0.002, DEPOT[1]), DEPOT)  # about 220 m north
    assert not at_depot((DEPOT[0] + 0.004, DEPOT[1]), DEPOT)  # about 450 m
    assert not at_depot(FAR, DEPOT)


# ---- the runner ----------------------------------------------------------------------
class _Runner:
    """A planner runner with tours on a fake clock; `look(s)` advances and ticks."""

    def __init__(
        self,
        *,
        capacity: int = 5,
        max_wait_s: float = HOUR,
        state: PlanState | None = None,
        clock: FakeClock | None = None,
    ) -> None:
        self.clock = clock or FakeClock()
        self.runner = PlanRunner(
            clock=self.clock,
            commands=command_log(clock=self.clock),
            state=state,
            travel=TRAVEL,
            departures=DeparturePolicy(fill_share=1.0, max_wait_s=max_wait_s),
            dispatch_every_s=300.0,
        )
        self.runner.apply([DepotSeen("s", "w1")])
        if state is not None:
            self.runner.restore_saved()
        self.capacity = capacity

    def fleet(self) -> None:
        self.runner.set_fleet(
            [DepotSpec("w1", 0, 0, lat=DEPOT[0], lon=DEPOT[1])],
            [VehicleSpec("v1", "w1", self.capacity)],
        )

    def order(self, order_id: str, qty: int, where: tuple[float, float], **kw: Any) -> None:
        self.runner.submit_orders(
            [], [DeliveryOrder(order_id, 0, 0, qty, lat=where[0], lon=where[1], **kw)]
        )

    def look(self, seconds: float = 5.0) -> None:
        self.clock.advance(seconds)
        self.runner.service.tick()

    def sent(self) -> list[tuple[str, ...]]:
        """The stops of every route command sent so far (the depot stop left out)."""
        tours = []
        for message in self.runner.commands.publisher.messages:  # type: ignore[attr-defined]
            update = plan_update(decode(message.topic, message.payload))  # type: ignore[arg-type]
            assert isinstance(update, RouteUpdate)
            stops = [s for s in update.stops if isinstance(s, RouteStop)]
            assert stops[-1].action == "depot"
            tours.append(tuple(s.stop_id for s in stops[:-1]))
        return tours

    def loaded(self) -> dict[str, str]:
        return {p.order_id: p.vehicle_id for p in self.runner.service._pins.values()}


def test_a_thin_tour_waits_at_the_depot_until_its_stop_has_waited_then_leaves_loaded() -> None:
    """One unit for a van of five, no promise, an hour's wait: nothing is sent while the
    stop waits (the runner looks again every five minutes), then the van is sent with it
    and carries it (pinned)."""
    t = _Runner()
    t.fleet()
    ordered = t.clock.monotonic()
    t.order("a", 1, A)
    t.look()
    assert t.sent() == []
    assert t.loaded() == {}
    assert t.runner.service.deadline() is not None  # it will look again
    while not t.sent() and t.clock.monotonic() - ordered < 2 * HOUR:
        t.look(300.0)
    # it leaves at the last look before it would have waited more than the hour
    assert HOUR - 300.0 <= t.clock.monotonic() - ordered <= HOUR + 300.0
    assert t.sent() == [("a",)]
    assert t.loaded() == {"a": "v1"}
    assert t.runner.state.load().pins == (("a", "v1"),)


def test_a_full_van_leaves_at_once_and_what_comes_next_waits_for_its_return() -> None:
    """3 + 2 units fill the van of five: it leaves on the first plan. `c`, ordered while
    it is out, is planned but not sent (its goods are at the depot) even past its hour's
    wait; once `a` and `b` are delivered and the van reports a position at its depot, the
    next look sends `c`."""
    t = _Runner()
    t.fleet()
    t.order("a", 3, A)
    t.order("b", 2, B)
    t.look()
    assert t.sent() == [("a", "b")] or t.sent() == [("b", "a")]
    t.order("c", 1, A)
    t.look()
    t.runner.service.vehicle_at("v1", lat=FAR[0], lon=FAR[1])
    t.runner.close_orders([], ["a", "b"], reason="delivered")
    for _ in range(15):
        t.look(300.0)
    assert len(t.sent()) == 1  # still out: `c` waits
    t.runner.service.vehicle_at("v1", lat=DEPOT[0], lon=DEPOT[1])
    t.look(300.0)
    assert t.sent()[1:] == [("c",)]
    assert t.loaded() == {"c": "v1"}


def test_a_promise_at_risk_sends_the_van_at_once() -> None:
    """One unit due ten minutes from now, some ten minutes' drive away, cannot wait for
    the next look in five: the van leaves on the first plan. Due in three hours, it waits."""
    for due_in_s, leaves in ((600.0, True), (3 * HOUR, False)):
        t = _Runner(max_wait_s=6 * HOUR)
        t.fleet()
        t.order("a", 1, A, due_ms=int((t.clock.now() + due_in_s) * 1000))
        t.look()
        assert t.sent() == ([("a",)] if leaves else [])


def test_a_delivery_past_its_promise_leaves_with_the_next_van() -> None:
    """A delivery whose promise has passed has an open window (routes must still take
    it) but is promised: the van leaves with it on the first plan, where a delivery
    promised nothing waits for company up to six hours."""
    for promised_in_s, leaves in ((-600.0, True), (None, False)):
        t = _Runner(max_wait_s=6 * HOUR)
        t.fleet()
        promised = None if promised_in_s is None else int((t.clock.now() + promised_in_s) * 1000)
        t.order("a", 1, A, promised_ms=promised)
        t.look()
        assert t.sent() == ([("a",)] if leaves else [])


def test_the_runner_says_how_long_its_vans_are_spoken_for() -> None:
    """Before any route plan nothing is known; with a tour planned for the one van, the
    depot's wait is that tour's length (a drive out, the service, the drive back), and it
    shrinks as the clock runs."""
    t = _Runner(max_wait_s=6 * HOUR)
    assert t.runner.delivery_waits() == {}
    t.fleet()
    t.order("a", 1, A, service_s=120.0)
    t.look()
    (route,) = t.runner.service._routes.routes  # type: ignore[union-attr]
    planned = (route.end - t.runner.service.now_units()) * t.runner.service._unit_s
    wait = t.runner.delivery_waits()["w1"]
    assert wait == pytest.approx(planned, abs=61.0)
    drive_s = TRAVEL.durations_s([LatLon(*DEPOT), LatLon(*A)])[0][1]
    assert wait >= 2 * drive_s + 120.0 - 61.0
    t.clock.advance(600.0)
    assert t.runner.delivery_waits()["w1"] == pytest.approx(wait - 600.0)


def test_deliveries_promised_since_the_plan_count_in_the_wait_until_the_next_one() -> None:
    """A delivery bound to w1 submitted after the plan adds the plan's time per stop (its
    one route's length over its one stop, one van); one bound nowhere adds nothing; the
    next plan routes both and counts them once, in its routes."""
    t = _Runner(max_wait_s=6 * HOUR)
    t.fleet()
    t.order("a", 1, A, service_s=120.0, depot_id="w1")
    t.look()
    service = t.runner.service
    (route,) = service._routes.routes  # type: ignore[union-attr]
    per_stop = (route.end - route.start) * service._unit_s
    before = t.runner.delivery_waits()["w1"]
    t.order("b", 1, A, service_s=120.0, depot_id="w1")
    assert t.runner.delivery_waits()["w1"] == pytest.approx(before + per_stop)
    t.order("c", 1, A, service_s=120.0)
    t.order("b", 1, A, service_s=120.0, depot_id="w1")  # the same delivery again
    assert t.runner.delivery_waits()["w1"] == pytest.approx(before + per_stop)
    t.look()
    (route,) = service._routes.routes  # type: ignore[union-attr]
    assert set(route.stops) == {"a", "b", "c"}
    planned = (route.end - service.now_units()) * service._unit_s
    assert t.runner.delivery_waits()["w1"] == pytest.approx(planned, abs=61.0)


class _FailingPins(MemoryPlanState):
    """A plan state whose first `pin_deliveries` fails (a full disk)."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def pin_deliveries(self, vehicle_id: str, delivery_ids: Sequence[str], *, at_ms: int) -> Any:
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        return super().pin_deliveries(vehicle_id, delivery_ids, at_ms=at_ms)


def test_a_van_is_not_sent_before_its_load_is_recorded() -> None:
    """The load could not be recorded: no command goes out and nothing counts as loaded;
    the next look records it and sends the van."""
    t = _Runner(capacity=1, state=_FailingPins())
    t.fleet()
    t.order("a", 1, A)
    t.look()
    assert t.sent() == []
    assert t.loaded() == {}
    t.look(300.0)
    assert t.sent() == [("a",)]
    assert t.loaded() == {"a": "v1"}


def test_a_tour_recorded_before_a_kill_is_sent_again_at_the_next_start(
    tmp_path: Path,
) -> None:
    """The coordinator records the van's load and dies before the command goes out (the
    publisher fails). The next start plans the van with what it carries and sends it that
    tour; the stops are loaded once, not planned for another tour."""
    clock = FakeClock()
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        t = _Runner(capacity=2, state=store.plan_state(), clock=clock)
        t.fleet()
        publisher = t.runner.commands.publisher

        def dead(*_args: Any, **_kwargs: Any) -> None:
            raise ConnectionError("the coordinator is going down")

        publisher.publish = dead  # type: ignore[method-assign]
        t.order("a", 2, A)
        t.look()
        assert t.loaded() == {"a": "v1"}
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        again = _Runner(capacity=2, state=store.plan_state(), clock=clock)
        again.look()
        assert again.sent() == [("a",)]
        assert again.loaded() == {"a": "v1"}
        again.order("b", 1, B)
        for _ in range(3):
            again.look(300.0)
        assert again.sent() == [("a",)]  # `b` waits for the van; `a` is not sent twice


def test_a_position_off_the_earth_is_ignored() -> None:
    """A hostile or broken fix (latitude 500) is not taken: it would fail every route plan
    and make the van look away from its depot."""
    t = _Runner(capacity=1)
    t.fleet()
    t.runner.service.vehicle_at("v1", lat=500.0, lon=0.0)
    t.runner.service.vehicle_at("v1", lat=float("nan"), lon=0.0)
    assert "v1" not in t.runner.service._positions
    t.order("a", 1, A)
    t.look()
    assert t.sent() == [("a",)]


def test_without_tours_every_route_goes_out_as_planned() -> None:
    """`departures=None` (the setting `dispatch_tours = false`): the planned route is sent
    at once and nothing is loaded."""
    clock = FakeClock()
    runner = PlanRunner(clock=clock, commands=command_log(clock=clock), travel=TRAVEL)
    runner.apply([DepotSeen("s", "w1")])
    runner.set_fleet(
        [DepotSpec("w1", 0, 0, lat=DEPOT[0], lon=DEPOT[1])], [VehicleSpec("v1", "w1", 5)]
    )
    runner.submit_orders([], [DeliveryOrder("a", 0, 0, 1, lat=A[0], lon=A[1])])
    clock.advance(5.0)
    runner.service.tick()
    assert len(runner.commands.publisher.messages) == 1  # type: ignore[attr-defined]
    assert runner.service._pins == {}


@pytest.mark.parametrize("bad", [{"dispatch_max_wait_s": -1}, {"dispatch_fill_share": 0}])
def test_dispatch_settings_are_checked(bad: dict[str, float]) -> None:
    from coordinator.errors import ConfigError
    from coordinator.settings import load_settings

    with pytest.raises(ConfigError, match=next(iter(bad))):
        load_settings(None, dev_mode=True, **bad)


def test_the_routes_view_says_what_each_van_does_and_metrics_count_departures() -> None:
    """Held at the depot with its load and the latest it leaves; out with its load, why and
    when it left; returning once its stops are delivered; idle with nothing planned. The
    departures are counted per reason."""
    t = _Runner(capacity=5)
    t.fleet()
    t.order("a", 2, A)
    t.look()
    (held,) = t.runner.routes()["tours"]
    assert held["state"] == "held"
    assert (held["stops"], held["load"], held["capacity"]) == (["a"], 2, 5)
    entered_ms = (t.clock.now() - 5.0) * 1000
    assert held["leaves_by_ms"] == pytest.approx(entered_ms + HOUR * 1000, abs=60_000)
    t.order("b", 3, B)
    t.look()
    (out,) = t.runner.routes()["tours"]
    assert (out["state"], out["reason"], out["load"]) == ("out", "full", 5)
    assert sorted(out["stops"]) == ["a", "b"]
    assert out["departed_ms"] == pytest.approx(t.clock.now() * 1000)
    t.runner.service.vehicle_at("v1", lat=FAR[0], lon=FAR[1])
    t.runner.close_orders([], ["a", "b"], reason="delivered")
    t.look()
    assert t.runner.routes()["tours"][0]["state"] == "returning"
    t.runner.service.vehicle_at("v1", lat=DEPOT[0], lon=DEPOT[1])
    t.look(300.0)
    assert t.runner.routes()["tours"][0]["state"] == "idle"
    assert t.runner.service.stats().tours_departed == {"full": 1}


def test_a_van_found_away_with_nothing_on_board_is_sent_to_its_depot_once() -> None:
    """At start (a restart) the coordinator has told a van nothing; one reported away from
    its depot with nothing on board is sent back there (a route of no stops ends at its
    depot), once; a delivery planned for it waits until it is back."""
    t = _Runner(capacity=5)
    t.fleet()
    t.runner.service.vehicle_at("v1", lat=FAR[0], lon=FAR[1])
    t.order("a", 5, A)  # a full tour, were the van at its depot
    t.look()
    t.look(300.0)
    assert t.sent() == [()]
    assert t.loaded() == {}
    t.runner.service.vehicle_at("v1", lat=DEPOT[0], lon=DEPOT[1])
    t.look(300.0)
    assert t.sent() == [(), ("a",)]


def test_a_deliverys_wait_outlives_a_restart(tmp_path: Path) -> None:
    """A thin tour held 40 minutes of its hour when the coordinator restarts leaves about
    twenty minutes later, not an hour after the restart: the wait counts from when the
    delivery was accepted (stored with it)."""
    clock = FakeClock()
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        t = _Runner(state=store.plan_state(), clock=clock)
        t.fleet()
        accepted = clock.monotonic()
        t.order("a", 1, A)
        for _ in range(8):
            t.look(300.0)
        assert t.sent() == []
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        again = _Runner(state=store.plan_state(), clock=clock)
        again.look()
        while not again.sent() and clock.monotonic() - accepted < 2 * HOUR:
            again.look(300.0)
        assert again.sent() == [("a",)]
        assert clock.monotonic() - accepted <= HOUR + 300.0


def test_a_delivery_goes_with_a_free_van_not_after_the_stops_of_one_out() -> None:
    """v1 is out with `a`, half full; `c`, next door to `a`, would be cheapest after `a` on
    v1's route, but its goods are at the depot: it is planned on v2, free at the depot,
    and leaves with it (full), instead of waiting for v1 to come back."""
    clock = FakeClock()
    runner = PlanRunner(
        clock=clock,
        commands=command_log(clock=clock),
        travel=TRAVEL,
        departures=DeparturePolicy(fill_share=1.0, max_wait_s=HOUR),
    )
    runner.apply([DepotSeen("s", "w1")])
    runner.set_fleet(
        [DepotSpec("w1", 0, 0, lat=DEPOT[0], lon=DEPOT[1])],
        [VehicleSpec("v1", "w1", 10), VehicleSpec("v2", "w1", 5)],
    )
    runner.submit_orders([], [DeliveryOrder("a", 0, 0, 5, lat=FAR[0], lon=FAR[1])])
    runner.dispatch("v1", ["a"])  # v1 leaves half full, by hand
    clock.advance(5.0)
    runner.service.tick()
    runner.service.vehicle_at("v1", lat=FAR[0], lon=FAR[1])
    near = (FAR[0] + 0.001, FAR[1])
    runner.submit_orders([], [DeliveryOrder("c", 0, 0, 5, lat=near[0], lon=near[1])])
    for _ in range(3):
        clock.advance(5.0)
        runner.service.tick()
    tours = {t["vehicle_id"]: t for t in runner.routes()["tours"]}
    assert (tours["v1"]["state"], tours["v1"]["stops"], tours["v1"]["load"]) == ("out", ["a"], 5)
    assert (tours["v2"]["state"], tours["v2"]["stops"], tours["v2"]["reason"]) == (
        "out",
        ["c"],
        "full",
    )


def test_a_van_on_its_way_back_starts_its_next_route_when_it_can_be_at_its_depot() -> None:
    """v2, empty but far from its depot, starts at the depot after the drive back (whole
    plan units, rounded up); v1 at the depot, one never located and one carrying stops
    (which starts from where it is) are left as they are; the located problem has the
    depot's travel times for v2's start."""
    from coordinator.plan.routing.live import Position, back_at_depot, locate
    from coordinator.plan.routing.problem import VehicleStart
    from coordinator.plan.routing.travel import LatLon

    problem = RoutingProblem(
        depots=(Depot("w1", 0, 0, lat=DEPOT[0], lon=DEPOT[1]),),
        orders=(Order("a", 0, 0, 1, lat=A[0], lon=A[1]),),
        vehicles=(
            Vehicle("v1", "w1", 5),
            Vehicle("v2", "w1", 5),
            Vehicle("v3", "w1", 5),
            Vehicle("v4", "w1", 5, start=VehicleStart("@v4", time=40)),
        ),
    )
    positions = {
        "v1": Position("v1", DEPOT[0], DEPOT[1], at=39),
        "v2": Position("v2", FAR[0], FAR[1], at=39),
        "v4": Position("v4", FAR[0], FAR[1], at=39),
    }
    back = back_at_depot(problem, TRAVEL, time_unit_s=60.0, positions=positions, now=40)
    drive_s = TRAVEL.durations_s([LatLon(*FAR), LatLon(*DEPOT)])[0][1]
    v1, v2, v3, v4 = back.vehicles
    assert (v1, v3, v4) == (problem.vehicles[0], problem.vehicles[2], problem.vehicles[3])
    assert v2.start == VehicleStart("w1", 0.0, 0.0, time=40 + -(-drive_s // 60))
    assert drive_s > 60 * 10  # far: a real wait
    located = locate(back, TRAVEL, time_unit_s=60.0, positions=positions)
    assert located.travel is not None
    assert "@v2" not in located.travel.ids
    assert "@v4" in located.travel.ids
    # and the router plans it from there, then (a start without committed stops)
    from coordinator.plan.routing.planner import PyVrpRouter

    alone = replace(located, vehicles=(v2,))
    (route,) = PyVrpRouter().plan(alone, time_limit_s=0.5, seed=0).routes
    assert route.stops == ("a",)
    assert route.start >= v2.start.time
