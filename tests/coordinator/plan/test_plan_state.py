"""The planner's durable state: orders stored once (a repeat is left alone, a change
replaces), plans and the fleet round-tripped exactly, finished jobs forgotten with the plan
that finished them, and a restarted runner continuing from the saved plans. Each port test
runs on the in-memory double and on SQLite (reopened from the file)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import pytest

from coordinator.errors import StoreError
from coordinator.notify.publisher import InMemoryPublisher
from coordinator.plan.errors import OrderRejected
from coordinator.plan.orders.specs import (
    ChangeoverSpec,
    DeliveryOrder,
    DepotSpec,
    JobOrder,
    OperationOrder,
    ProductSpec,
    ReserveSpec,
    StepOption,
    VehicleSpec,
)
from coordinator.plan.routing.problem import Route, RoutingResult, Unserved
from coordinator.plan.runner import PlanRunner
from coordinator.plan.schedule.problem import LateJob, Schedule, ScheduledOperation
from coordinator.plan.state import MemoryPlanState, PlanMade, PlanState
from coordinator.plan.triggers import DepotSeen, MachineSeen
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock
from tests.coordinator.conftest import command_log
from tests.coordinator.plan.conftest import Reopen

J1 = JobOrder("j1", (OperationOrder({"m1": 120.0, "m2": 90.0}, family="red"),), due_ms=5, weight=3)
J2 = JobOrder("j2", (OperationOrder({"m2": 60.0}),), release_ms=7, rush=True)
D1 = DeliveryOrder("d1", 3.0, 4.0, 2, ready_ms=1, due_ms=9, service_s=30.0)

SCHEDULE = Schedule(
    operations=(
        ScheduledOperation("j1:0", "j1", "m1", 0, 2),
        ScheduledOperation("j2:0", "j2", "m2", 1, 2, setup=1),
    ),
    makespan=2,
    weighted_tardiness=3,
    changeover=1,
    late_jobs=(LateJob("j1", 1, 2, "machine_capacity", "m1 busy"),),
    status="optimal",
    solver="cpsat",
    lower_bound=2,
    operations_moved=1,
    wall_time_s=0.25,
)
ROUTES = RoutingResult(
    routes=(Route("v1", "w1", ("d1",), 10.0, 0.0, 12.5, 2),),
    total_distance=10.0,
    unserved=(Unserved("d9", "capacity", "needs 20, carries 10"),),
    solver="pyvrp",
    wall_time_s=0.5,
)


def test_a_repeated_order_is_stored_once_and_a_changed_one_replaces(reopen: Reopen) -> None:
    """Posting the same order again changes nothing and says so; a changed order replaces
    the held one in place (first-acceptance order kept)."""
    state = reopen()
    assert state.save_orders([J1, J2], [D1], at_ms=1) == (frozenset(), frozenset())
    j2_later = JobOrder("j2", (OperationOrder({"m1": 30.0}),))
    assert state.save_orders([J1, j2_later], [D1], at_ms=2) == (
        frozenset({"j1"}),
        frozenset({"d1"}),
    )
    assert reopen().orders() == ([J1, j2_later], [D1])
    assert reopen().load().accepted_ms == (("d1", 1),)  # first accepted, not replaced


def test_closed_orders_are_forgotten(reopen: Reopen) -> None:
    """Closing orders removes exactly the held ones named, durably, and reports which were
    held; closing them again finds nothing."""
    state = reopen()
    state.save_orders([J1, J2], [D1], at_ms=1)
    assert state.close_orders(["j1", "j9"], ["d1"]) == (frozenset({"j1"}), frozenset({"d1"}))
    again = reopen()
    assert again.orders() == ([J2], [])
    assert again.close_orders(["j1"], ["d1"]) == (frozenset(), frozenset())


def test_pins_keep_their_order_move_and_leave_with_their_delivery(reopen: Reopen) -> None:
    """Deliveries dispatched to a vehicle come back pinned in dispatch order; one
    dispatched again moves to its new vehicle (last); closing a delivery drops its pin;
    ids not held are not pinned."""
    d2 = DeliveryOrder("d2", 1.0, 1.0, 1)
    d3 = DeliveryOrder("d3", 2.0, 2.0, 1)
    state = reopen()
    state.save_orders([], [D1, d2, d3], at_ms=1)
    assert state.pin_deliveries("v1", ["d2", "d1", "d9"], at_ms=2) == frozenset({"d1", "d2"})
    assert state.pin_deliveries("v2", ["d3", "d2"], at_ms=3) == frozenset({"d2", "d3"})
    assert reopen().load().pins == (("d1", "v1"), ("d3", "v2"), ("d2", "v2"))
    reopen().close_orders([], ["d3"])
    saved = reopen().load()
    assert saved.pins == (("d1", "v1"), ("d2", "v2"))
    assert saved.deliveries == (D1, d2)


def test_changeovers_round_trip_and_are_replaced(reopen: Reopen) -> None:
    """Changeover times come back as saved; saving again replaces them all."""
    assert reopen().load().changeovers == ()
    first = [ChangeoverSpec("red", "blue", 600.0), ChangeoverSpec("blue", "red", 90.5)]
    reopen().save_changeovers(first, at_ms=1)
    assert reopen().load().changeovers == tuple(first)
    reopen().save_changeovers([], at_ms=2)
    assert reopen().load().changeovers == ()


def test_the_reserve_round_trips_and_is_replaced(reopen: Reopen) -> None:
    """The rush reserve comes back as saved (none before one is saved); saving again
    replaces it."""
    assert reopen().load().reserve is None
    reopen().save_reserve(ReserveSpec(0.25, 3600.0, 86_400.5), at_ms=1)
    assert reopen().load().reserve == ReserveSpec(0.25, 3600.0, 86_400.5)
    reopen().save_reserve(ReserveSpec(0.0, 60.0, 0.0), at_ms=2)
    assert reopen().load().reserve == ReserveSpec(0.0, 60.0, 0.0)


def test_plans_and_fleet_round_trip_and_finished_jobs_are_forgotten(reopen: Reopen) -> None:
    """The latest plan of each kind comes back field for field; the jobs a schedule found
    finished leave the store with it."""
    state = reopen()
    state.save_orders([J1, J2], [D1], at_ms=1)
    state.save_fleet([DepotSpec("w1", 0.0, 0.0, open_ms=3)], [VehicleSpec("v1", "w1", 10)], at_ms=1)
    triggers = ({"kind": "new_orders", "key": "batch"},)
    old = PlanMade("schedule", 1, 100, triggers, 1_700_000_000.0, SCHEDULE)
    state.save_plan(old)
    newer = PlanMade("schedule", 2, 200, triggers, 1_700_000_000.0, SCHEDULE, ("j1",))
    routes = PlanMade("routes", 7, 300, (), 1_700_000_000.0, ROUTES)
    state.save_plan(newer)
    state.save_plan(routes)
    saved = reopen().load()
    assert saved.jobs == (J2,)
    assert saved.deliveries == (D1,)
    assert saved.fleet_saved
    assert saved.depots == (DepotSpec("w1", 0.0, 0.0, open_ms=3),)
    assert saved.vehicles == (VehicleSpec("v1", "w1", 10),)
    by_kind = {p.kind: p for p in saved.plans}
    assert by_kind["schedule"].plan == SCHEDULE
    assert (by_kind["schedule"].version, by_kind["schedule"].made_ms) == (2, 200)
    assert by_kind["schedule"].triggers == triggers
    assert by_kind["routes"].plan == ROUTES
    assert by_kind["routes"].version == 7


def test_a_store_that_cannot_write_takes_nothing(tmp_path: Path) -> None:
    """If the orders cannot be stored the call fails with `StoreError` and the planner
    holds none of them (the API answers 503, nothing half-accepted)."""
    store = SqliteStore(tmp_path / "c.db")
    runner = PlanRunner(clock=FakeClock(), commands=command_log(), state=store.plan_state())
    runner.apply([MachineSeen("s", "m1"), MachineSeen("s", "m2")])
    store.close()
    with pytest.raises(StoreError):
        runner.submit_orders([J1])
    assert runner.service._jobs == {}


class _SaveWatcher(MemoryPlanState):
    """Records how many plan updates had been published when each plan was saved."""

    def __init__(self, publisher: InMemoryPublisher) -> None:
        super().__init__()
        self.publisher = publisher
        self.published_at_save: list[int] = []

    def save_plan(self, made: PlanMade) -> None:
        self.published_at_save.append(len(self.publisher.messages))
        super().save_plan(made)


def _runner(clock: FakeClock, state: PlanState, publisher: InMemoryPublisher) -> PlanRunner:
    runner = PlanRunner(
        clock=clock,
        commands=command_log(publisher, clock),
        state=state,
        time_limit_s=1.0,
        seed=1,
    )
    runner.apply([MachineSeen("s", "m1"), MachineSeen("s", "m2"), DepotSeen("s", "w1")])
    return runner


def test_a_restarted_runner_continues_from_the_saved_plans() -> None:
    """A new runner on the saved state serves the same plans and orders at once, keeps the
    plan epoch, re-plans the held orders without moving anything, with the next versions;
    each plan was saved before any of its updates went out."""
    clock = FakeClock()
    publisher = InMemoryPublisher()
    state = _SaveWatcher(publisher)
    first = _runner(clock, state, publisher)
    now_ms = int(clock.now() * 1000)
    first.set_fleet([DepotSpec("w1", 0.0, 0.0)], [VehicleSpec("v1", "w1", 10)])
    first.submit_orders(
        [JobOrder("j1", (OperationOrder({"m1": 120.0}), OperationOrder({"m2": 60.0}))), J2],
        [DeliveryOrder("d1", 3.0, 4.0, 2, due_ms=now_ms + 3_600_000)],
    )
    clock.advance(5.0)
    assert first.service.tick()
    assert state.published_at_save == [0, 2]  # schedule saved, 2 sent, routes saved, 1 sent
    assert len(publisher.messages) == 3
    schedule, routes = first.schedule(), first.routes()

    clock.advance(90.0)
    second = _runner(clock, state, InMemoryPublisher())
    second.restore_saved()
    assert second.orders() == first.orders()
    restored = second.schedule()
    for key in ("version", "made_ms", "triggers", "epoch_s", "machines", "late_jobs"):
        assert restored[key] == schedule[key], key
    assert second.routes() == routes
    clock.advance(5.0)
    assert second.service.tick()
    replanned = second.schedule()
    assert replanned["version"] == schedule["version"] + 1
    assert replanned["operations_moved"] == 0
    assert replanned["machines"] == schedule["machines"]
    assert second.routes()["version"] == routes["version"] + 1
    assert [r["stops"] for r in second.routes()["routes"]] == [["d1"]]


def test_dispatched_deliveries_stay_on_their_vehicle_across_a_restart(tmp_path: Path) -> None:
    """Deliveries loaded on the far vehicle stay on it, in the loaded order, in every
    re-plan, also after a restart on the same SQLite file, although the other vehicle sits
    next to them; a vehicle outside the fleet is refused."""
    clock = FakeClock()
    far, near = VehicleSpec("far", "w2", 10), VehicleSpec("near", "w1", 10)
    drops = [DeliveryOrder("a", 1.0, 0.0, 1), DeliveryOrder("b", 2.0, 0.0, 1)]
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        first = _runner(clock, store.plan_state(), InMemoryPublisher())
        first.apply([DepotSeen("s", "w2")])
        first.set_fleet([DepotSpec("w1", 0.0, 0.0), DepotSpec("w2", 500.0, 0.0)], [far, near])
        first.submit_orders([], drops)
        clock.advance(5.0)
        assert first.service.tick()
        assert {r["vehicle_id"] for r in first.routes()["routes"] if r["stops"]} == {"near"}
        with pytest.raises(OrderRejected):
            first.dispatch("v9", ["a"])
        done = first.dispatch("far", ["b", "a", "zz"])
        assert (done.deliveries, done.unknown) == (["b", "a"], ["zz"])
        clock.advance(5.0)
        assert first.service.tick()
        assert {r["vehicle_id"]: r["stops"] for r in first.routes()["routes"]} == {
            "far": ["b", "a"]
        }
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        second = _runner(clock, store.plan_state(), InMemoryPublisher())
        second.apply([DepotSeen("s", "w2")])
        second.restore_saved()
        clock.advance(5.0)
        assert second.service.tick()
        assert {r["vehicle_id"]: r["stops"] for r in second.routes()["routes"]} == {
            "far": ["b", "a"]
        }


def test_changeovers_shape_the_schedule_and_survive_a_restart() -> None:
    """Two families on one machine cost nothing to switch until changeover times are
    declared; the next schedule then pays them, also after a restart; a pair given twice
    is refused."""
    clock = FakeClock()
    state = MemoryPlanState()
    first = _runner(clock, state, InMemoryPublisher())
    red = JobOrder("r", (OperationOrder({"m1": 600.0}, family="red"),))
    blue = JobOrder("b", (OperationOrder({"m1": 600.0}, family="blue"),))
    first.submit_orders([red, blue])
    clock.advance(5.0)
    assert first.service.tick()
    assert first.schedule()["changeover"] == 0
    with pytest.raises(OrderRejected):
        first.set_changeovers([ChangeoverSpec("red", "blue", 60.0)] * 2)
    switch = [ChangeoverSpec("red", "blue", 1200.0), ChangeoverSpec("blue", "red", 1200.0)]
    first.set_changeovers(switch)
    clock.advance(5.0)
    assert first.service.tick()
    assert first.schedule()["changeover"] == 20  # one switch of 20 one-minute units

    second = _runner(clock, state, InMemoryPublisher())
    second.restore_saved()
    clock.advance(5.0)
    assert second.service.tick()
    assert second.schedule()["changeover"] == 20


HOUR_RESERVE = ReserveSpec(0.5, 3600.0, 4 * 3600.0)
"""Half of every hour for the next four hours: slices [30, 60), [90, 120), [150, 180) and
[210, 240) in one-minute plan units after a re-plan at 0."""


def _m1_rows(runner: PlanRunner) -> list[tuple[str, int, int]]:
    rows = runner.schedule()["machines"]["m1"]
    return sorted((r["operation_id"], r["start"], r["end"]) for r in rows)


def _in_reserved_slices(runner: PlanRunner) -> list[str]:
    """Operations on m1 that overlap a slice of `HOUR_RESERVE` (re-plans made at 0)."""
    assert runner.schedule()["now"] == 0  # the slices below count from this re-plan
    slices = [(k * 60 + 30, k * 60 + 60) for k in range(4)]
    return [
        op for op, start, end in _m1_rows(runner) if any(start < e and s < end for s, e in slices)
    ]


def _twenty_minute_jobs(*ids: str) -> list[JobOrder]:
    return [JobOrder(i, (OperationOrder({"m1": 1200.0}),)) for i in ids]


def test_the_rush_reserve_shapes_the_schedule_and_survives_a_restart(tmp_path: Path) -> None:
    """Non-rush work fills the machine until a reserve is set; setting it alone re-plans,
    and the work then leaves the second half of every hour free, also in the plan of a
    runner restarted on the same SQLite file (which restores the reserve); share 0 gives
    the time back."""
    clock = FakeClock()
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        first = _runner(clock, store.plan_state(), InMemoryPublisher())
        first.submit_orders(_twenty_minute_jobs("a", "b", "c"))
        clock.advance(5.0)
        assert first.service.tick()
        assert [start for _, start, _ in _m1_rows(first)] == [0, 20, 40]
        assert _in_reserved_slices(first) != []

        first.set_reserve(HOUR_RESERVE)
        set_view = {"share": 0.5, "period_s": 3600.0, "horizon_s": 14_400.0, "reserved_s": 1800.0}
        assert first.reserve() == set_view
        clock.advance(5.0)
        assert first.service.tick()  # nothing but the reserve changed
        assert _in_reserved_slices(first) == []
        assert sorted(start for _, start, _ in _m1_rows(first)) == [0, 60, 120]

    with closing(SqliteStore(tmp_path / "c.db")) as store:
        second = _runner(clock, store.plan_state(), InMemoryPublisher())
        assert second.reserve()["share"] == 0.0
        second.restore_saved()
        assert second.reserve() == set_view
        second.close_orders(["a", "b", "c"], [])
        second.submit_orders(_twenty_minute_jobs("d", "e", "f"))
        clock.advance(5.0)
        assert second.service.tick()
        assert _in_reserved_slices(second) == []
        assert sorted(start for _, start, _ in _m1_rows(second)) == [0, 60, 120]

        second.set_reserve(ReserveSpec(0.0, 3600.0, 0.0))
        second.close_orders(["d", "e", "f"], [])
        second.submit_orders(_twenty_minute_jobs("g", "h", "i"))
        clock.advance(5.0)
        assert second.service.tick()
        assert [start for _, start, _ in _m1_rows(second)] == [0, 20, 40]
        assert second.reserve()["reserved_s"] == 0.0
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        assert store.plan_state().load().reserve == ReserveSpec(0.0, 3600.0, 0.0)


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        (ReserveSpec(0.2, 3600.0, 0.0), "horizon_s", "positive horizon_s"),
        (ReserveSpec(0.5, 60.0, 3600.0), "period_s", "whole period"),
        (ReserveSpec(0.1, 120.0, 30 * 86_400.0), "horizon_s", "21600 reserved slices"),
    ],
)
def test_a_reserve_that_cannot_work_is_refused_and_changes_nothing(
    spec: ReserveSpec, field: str, words: str
) -> None:
    """A share without a horizon, a slice that fills its whole period once rounded up to
    one-minute units, or more slices than the limit: refused, naming the field; neither
    the store nor the planner takes it."""
    state = MemoryPlanState()
    runner = _runner(FakeClock(), state, InMemoryPublisher())
    runner.set_reserve(ReserveSpec(0.25, 3600.0, 7200.0))
    before = runner.reserve()
    with pytest.raises(OrderRejected, match=words) as refused:
        runner.set_reserve(spec)
    assert refused.value.field == field
    assert runner.reserve() == before
    assert state.load().reserve == ReserveSpec(0.25, 3600.0, 7200.0)


def test_a_saved_reserve_the_time_unit_no_longer_fits_is_not_restored() -> None:
    """A reserve of a quarter of every two minutes works in one-minute units; a runner
    restarted with two-minute units would reserve whole periods, so it starts without."""
    state = MemoryPlanState()
    _runner(FakeClock(), state, InMemoryPublisher()).set_reserve(ReserveSpec(0.25, 120.0, 3600.0))
    later = PlanRunner(clock=FakeClock(), commands=command_log(), state=state, time_unit_s=120.0)
    later.restore_saved()
    assert later.reserve()["share"] == 0.0


class _HeldSave(MemoryPlanState):
    """A plan state whose `save_orders` waits until `release` is set (a slow disk)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def save_orders(
        self, jobs: Sequence[JobOrder], deliveries: Sequence[DeliveryOrder], *, at_ms: int
    ) -> tuple[frozenset[str], frozenset[str]]:
        self.entered.set()
        assert self.release.wait(10)
        return super().save_orders(jobs, deliveries, at_ms=at_ms)


def test_a_recipe_lookup_does_not_wait_for_orders_being_stored() -> None:
    """The order promise path looks recipes up while a hand-over of orders is being stored:
    the lookup answers at once (with the declared recipe), not after the store."""
    state = _HeldSave()
    runner = PlanRunner(clock=FakeClock(), commands=command_log(), state=state)
    runner.apply([MachineSeen("s", "m1"), MachineSeen("s", "m2")])
    cup = ProductSpec("CUP", ((StepOption("m1", 60.0),),))
    runner.set_products([cup])
    storing = threading.Thread(target=runner.submit_orders, args=([J1],))
    storing.start()
    assert state.entered.wait(10)
    found: list[ProductSpec | None] = []
    lookup = threading.Thread(target=lambda: found.append(runner.product("CUP")))
    lookup.start()
    lookup.join(10)
    answered_while_storing = not lookup.is_alive()
    state.release.set()
    storing.join(10)
    lookup.join(10)
    assert answered_while_storing
    assert found == [cup]
