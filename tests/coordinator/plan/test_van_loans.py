"""Vans lent between depots in the running coordinator: the depots' van time measured from
timed tours, loans and returns decided by `routing.lending` on what the planner sees, and
the runner sending a lent van to its new depot, its tours from there, and home again."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from coordinator.errors import StoreError
from coordinator.plan.orders.specs import DeliveryOrder, DepotSpec, VehicleSpec
from coordinator.plan.routing.departures import DeparturePolicy
from coordinator.plan.routing.problem import Depot, Vehicle
from coordinator.plan.routing.travel import GreatCircleTravel
from coordinator.plan.runner import PlanRunner
from coordinator.plan.state import MemoryPlanState, PlanState
from coordinator.plan.triggers import DepotSeen
from coordinator.plan.van_loans import DAY_S, Move, VanLoans, VanTimes
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock
from protocol import decode, plan_update
from protocol.plans import RouteStop, RouteUpdate
from tests.coordinator.conftest import command_log

W1 = (29.3069, 120.0751)
W2 = (29.3300, 120.1500)  # about 7 km east of w1
CUSTOMER = (29.3200, 120.0900)
FAR = (29.4500, 120.2500)
HOUR = 3600.0
DEPOTS = {
    "w1": Depot("w1", 0, 0, lat=W1[0], lon=W1[1]),
    "w2": Depot("w2", 0, 0, lat=W2[0], lon=W2[1]),
}
FLEET = (Vehicle("v1", "w1", 5), Vehicle("v2", "w2", 5))


def test_a_depots_van_time_is_its_tours_of_the_last_day() -> None:
    """A tour back within the day counts whole, one that began before the day counts from
    the day's start, one still out counts to now, another depot's not at all."""
    loans = VanLoans()
    now = 10 * DAY_S
    loans.left("v1", "w1", now - DAY_S - HOUR)
    loans.back("v1", now - DAY_S + HOUR)  # one hour inside the day
    loans.left("v1", "w1", now - 5 * HOUR)
    loans.back("v1", now - 3 * HOUR)  # two hours
    loans.left("v3", "w1", now - HOUR)  # still out: one hour
    loans.left("v2", "w2", now - 4 * HOUR)
    loans.back("v2", now - 2 * HOUR)
    loans.back("v9", now)  # back from no tour: nothing
    assert loans.busy_s("w1", now) == pytest.approx(4 * HOUR)
    assert loans.busy_s("w2", now) == pytest.approx(2 * HOUR)
    assert loans.busy_s("w1", now + DAY_S) == pytest.approx(DAY_S)  # v3 out all day


def test_a_depot_behind_borrows_the_nearest_free_van_and_gives_it_back_once_caught_up() -> None:
    """w1's delivery waited 25 h: w2's free van is lent (based at w1 from then on). While
    w1 is still behind it stays; once w1's longest wait is under half a day it goes home."""
    loans = VanLoans()
    now = 5 * DAY_S

    def moves(waits: dict[str, float], free: list[str]) -> list[Move]:
        return loans.moves(declared=FLEET, free=free, waits_s=waits, depots=DEPOTS, now_s=now)

    assert moves({"w1": 23 * HOUR}, ["v2"]) == []  # not behind yet
    assert moves({"w1": 25 * HOUR}, []) == []  # no free van to lend
    assert moves({"w1": 25 * HOUR}, ["v2"]) == [Move("v2", "w1", "lend")]
    assert [v.depot_id for v in loans.based(FLEET)] == ["w1", "w1"]
    assert moves({"w1": 20 * HOUR}, ["v2"]) == []  # caught up only under 12 h
    assert moves({"w1": 2 * HOUR}, ["v1"]) == []  # its own van free: the loan waits
    assert moves({"w1": 2 * HOUR}, ["v2"]) == [Move("v2", "w2", "return")]
    assert loans.bases == {}


def test_a_depot_with_no_place_on_earth_neither_lends_nor_borrows() -> None:
    loans = VanLoans()
    depots = DEPOTS | {"w2": Depot("w2", 0, 0)}
    assert (
        loans.moves(
            declared=FLEET, free=["v2"], waits_s={"w1": 2 * DAY_S}, depots=depots, now_s=DAY_S
        )
        == []
    )


# ---- the runner ----------------------------------------------------------------------
def _sent(runner: PlanRunner) -> list[tuple[str, str, tuple[str, ...]]]:
    """(vehicle, depot, stops) of every route command, the final depot stop left out."""
    out = []
    for message in runner.commands.publisher.messages:  # type: ignore[attr-defined]
        update = plan_update(decode(message.topic, message.payload))  # type: ignore[arg-type]
        assert isinstance(update, RouteUpdate)
        stops = [s for s in update.stops if isinstance(s, RouteStop)]
        assert stops[-1].action == "depot"
        assert stops[-1].stop_id == update.depot_id
        out.append((update.vehicle_id, update.depot_id, tuple(s.stop_id for s in stops[:-1])))
    return out


def _runner(
    clock: FakeClock, state: PlanState | None = None, *, behind_s: float = 2 * HOUR
) -> PlanRunner:
    """A runner lending vans: w1 is behind after 2 h (a van of its own out: the settings
    refuse a limit under the longest hold where every van is free), a thin tour leaves
    after 3 h."""
    runner = PlanRunner(
        clock=clock,
        commands=command_log(clock=clock),
        state=state,
        travel=GreatCircleTravel(detour_factor=1.3, speed_kmh=30),
        departures=DeparturePolicy(fill_share=1.0, max_wait_s=3 * HOUR),
        dispatch_every_s=300.0,
        loans=VanLoans(behind_s=behind_s),
    )
    runner.apply([DepotSeen("s", "w1"), DepotSeen("s", "w2")])
    return runner


def _look(runner: PlanRunner, clock: FakeClock, seconds: float) -> None:
    clock.advance(seconds)
    runner.service.tick()


def _lend_v2(runner: PlanRunner, clock: FakeClock) -> None:
    """v1 is out on a long tour; `a`, bound to w1, waits. Past w1's 2 h limit, w2's free
    van v2 is lent: sent to w1 with no stops."""
    runner.set_fleet(
        [DepotSpec("w1", 0, 0, lat=W1[0], lon=W1[1]), DepotSpec("w2", 0, 0, lat=W2[0], lon=W2[1])],
        [VehicleSpec("v1", "w1", 5), VehicleSpec("v2", "w2", 5)],
    )
    service = runner.service

    def order(order_id: str, where: tuple[float, float], **kw: Any) -> None:
        runner.submit_orders(
            [], [DeliveryOrder(order_id, 0, 0, 1, lat=where[0], lon=where[1], **kw)]
        )

    order("x", FAR, depot_id="w1")
    runner.dispatch("v1", ["x"])  # loaded by hand: v1 is out
    _look(runner, clock, 5.0)
    service.vehicle_at("v1", lat=FAR[0], lon=FAR[1])
    service.vehicle_at("v2", lat=W2[0], lon=W2[1])
    order("a", CUSTOMER, depot_id="w1")
    _look(runner, clock, 5.0)
    while len(_sent(runner)) < 2 and clock.monotonic() < 3 * HOUR:
        _look(runner, clock, 300.0)
    assert _sent(runner) == [("v1", "w1", ("x",)), ("v2", "w1", ())]
    assert 2 * HOUR - 300 <= clock.monotonic() <= 2 * HOUR + 600


def test_the_runner_lends_a_van_sends_its_tours_from_there_and_brings_it_home() -> None:
    """v2 lent to w1 (`_lend_v2`) takes `a` at w1 (once `a` waited its 3 h); with `a`
    delivered and v2 back at w1, v2 goes home."""
    clock = FakeClock()
    runner = _runner(clock)
    service = runner.service
    _lend_v2(runner, clock)
    tours = {t["vehicle_id"]: t for t in runner.routes()["tours"]}
    assert (tours["v2"]["state"], tours["v2"]["depot_id"]) == ("returning", "w1")

    def look(seconds: float) -> None:
        _look(runner, clock, seconds)

    service.vehicle_at("v2", lat=W1[0], lon=W1[1])  # v2 reached w1
    while len(_sent(runner)) < 3 and clock.monotonic() < 4 * HOUR:
        look(300.0)
    assert _sent(runner)[2] == ("v2", "w1", ("a",))
    assert runner.routes()["tours"][1]["reason"] == "waited"

    service.vehicle_at("v2", lat=CUSTOMER[0], lon=CUSTOMER[1])
    runner.close_orders([], ["a"], reason="delivered")
    look(300.0)
    service.vehicle_at("v2", lat=W1[0], lon=W1[1])
    look(300.0)
    look(300.0)
    assert _sent(runner)[3:] == [("v2", "w2", ())]  # home
    assert {v.depot_id for v in service._tours.based(service._vehicles)} == {"w1", "w2"}  # type: ignore[union-attr]


def test_a_lent_van_stays_lent_across_a_restart(tmp_path: Path) -> None:
    """The coordinator is killed with v2 lent to w1 and on its way there. Restarted on the
    same file, v2 is based at w1: reported there, it is not sent home but takes `a` (w1 is
    still behind), and a fleet declared anew then forgets the loan on file too."""
    clock = FakeClock()
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        _lend_v2(_runner(clock, store.plan_state()), clock)
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        runner = _runner(clock, store.plan_state())
        runner.restore_saved()
        assert runner.service.van_bases() == {"v2": "w1"}
        runner.service.vehicle_at("v1", lat=FAR[0], lon=FAR[1])
        runner.service.vehicle_at("v2", lat=W1[0], lon=W1[1])

        def to_v2() -> list[tuple[str, str, tuple[str, ...]]]:
            return [m for m in _sent(runner) if m[0] == "v2"]

        while not to_v2() and clock.monotonic() < 4 * HOUR:
            _look(runner, clock, 300.0)
        assert to_v2() == [("v2", "w1", ("a",))]
        assert store.plan_state().load().van_bases == (("v2", "w1"),)
        runner.set_fleet(
            [DepotSpec("w2", 0, 0, lat=W2[0], lon=W2[1])], [VehicleSpec("v2", "w2", 5)]
        )
        assert store.plan_state().load().van_bases == ()


def test_the_tours_timed_are_given_back_as_they_were_without_those_of_past_days() -> None:
    """`times` keeps the tours back within the last day and the vans out; `restore_times`
    on another `VanLoans` gives the same van time per depot."""
    loans = VanLoans()
    now = 10 * DAY_S
    loans.left("v1", "w1", now - 2 * DAY_S)
    loans.back("v1", now - DAY_S - HOUR)  # a day and an hour ago: forgotten
    loans.left("v1", "w1", now - 5 * HOUR)
    loans.back("v1", now - 3 * HOUR)
    loans.left("v2", "w2", now - HOUR)
    times = loans.times(now)
    assert times.tours == (("w1", now - 5 * HOUR, now - 3 * HOUR),)
    assert times.out == (("v2", "w2", now - HOUR),)
    again = VanLoans()
    again.restore_times(times)
    for depot in ("w1", "w2"):
        assert again.busy_s(depot, now + HOUR) == loans.busy_s(depot, now + HOUR) > 0
    again.back("v2", now + HOUR)  # the van out before the restart is timed when back
    assert again.times(now + HOUR).tours[-1] == ("w2", now - HOUR, now + HOUR)


def test_the_tours_timed_outlive_a_restart(tmp_path: Path) -> None:
    """v1 takes `a` from w1 and comes back, then leaves with `b`; the runner records the
    van time after the looks that changed it. Killed and restarted on the same file, the
    coordinator has the same tours timed (one back, v1 out), so w1's van time of the day is
    what it was, not nothing."""
    clock = FakeClock()
    fleet = (
        [DepotSpec("w1", 0, 0, lat=W1[0], lon=W1[1]), DepotSpec("w2", 0, 0, lat=W2[0], lon=W2[1])],
        [VehicleSpec("v1", "w1", 5), VehicleSpec("v2", "w2", 5)],
    )
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        runner = _runner(clock, store.plan_state(), behind_s=DAY_S)
        runner.set_fleet(*fleet)
        service = runner.service
        service.vehicle_at("v1", lat=W1[0], lon=W1[1])
        service.vehicle_at("v2", lat=W2[0], lon=W2[1])
        for order_id in ("a", "b"):
            runner.submit_orders(
                [],
                [DeliveryOrder(order_id, 0, 0, 1, lat=CUSTOMER[0], lon=CUSTOMER[1], depot_id="w1")],
            )
            while (
                not [m for m in _sent(runner) if order_id in m[2]] and clock.monotonic() < 9 * HOUR
            ):
                _look(runner, clock, 300.0)
                runner.save_van_times()
            if order_id == "a":
                service.vehicle_at("v1", lat=CUSTOMER[0], lon=CUSTOMER[1])
                runner.close_orders([], ["a"], reason="delivered")
                _look(runner, clock, 300.0)
                service.vehicle_at("v1", lat=W1[0], lon=W1[1])
                _look(runner, clock, 300.0)
        assert [m[2] for m in _sent(runner)] == [("a",), ("b",)]
        timed = service.van_times()
        assert timed is not None
        before = timed[1]
        assert len(before.tours) == 1
        assert [(v, d) for v, d, _ in before.out] == [("v1", "w1")]
        busy = service._tours.loans.busy_s("w1", clock.now())  # type: ignore[union-attr]
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        runner = _runner(clock, store.plan_state(), behind_s=DAY_S)
        runner.restore_saved()
        timed = runner.service.van_times()
        assert timed is not None
        assert timed[1] == before
        loans = runner.service._tours.loans  # type: ignore[union-attr]
        assert loans is not None
        assert busy >= 600.0  # a's tour of two looks, and b's from its departure
        assert loans.busy_s("w1", clock.now()) == pytest.approx(busy)


class _FullDisk(MemoryPlanState):
    """A plan state that cannot record van bases or van times."""

    def save_van_bases(self, bases: Mapping[str, str], *, at_ms: int) -> None:
        raise StoreError("disk full", operation="save_van_bases")

    def save_van_times(self, times: VanTimes, *, at_ms: int) -> None:
        raise StoreError("disk full", operation="save_van_times")


def test_a_loan_that_cannot_be_recorded_is_sent_all_same_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The van is lent in the plan already: it is told to go (`_lend_v2` checks it), and
    the failure is logged."""
    clock = FakeClock()
    state = _FullDisk()
    runner = _runner(clock, state)
    _lend_v2(runner, clock)
    assert state.load().van_bases == ()
    assert "could not record where the lent vans are based" in caplog.text
    # the van times too: logged, and tried again at the next call (nothing marked saved)
    for _ in range(2):
        caplog.clear()
        runner.save_van_times()
        assert "could not record the tours timed" in caplog.text


def test_a_fleet_declared_anew_brings_every_lent_van_home() -> None:
    """A loan to a depot the new fleet no longer has must not leave its van based there
    (its routing problem would name an unknown depot)."""
    clock = FakeClock()
    runner = PlanRunner(
        clock=clock,
        commands=command_log(clock=clock),
        departures=DeparturePolicy(),
        loans=VanLoans(),
    )
    runner.apply([DepotSeen("s", "w1"), DepotSeen("s", "w2")])
    runner.set_fleet(
        [DepotSpec("w1", 0, 0, lat=W1[0], lon=W1[1]), DepotSpec("w2", 0, 0, lat=W2[0], lon=W2[1])],
        [VehicleSpec("v1", "w1", 5), VehicleSpec("v2", "w2", 5)],
    )
    tours = runner.service._tours
    assert tours is not None
    assert tours.loans is not None
    tours.loans.bases["v2"] = "w1"
    runner.set_fleet([DepotSpec("w2", 0, 0, lat=W2[0], lon=W2[1])], [VehicleSpec("v2", "w2", 5)])
    assert tours.loans.bases == {}
