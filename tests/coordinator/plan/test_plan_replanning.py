"""Re-planning: debouncing on a fake clock, plan diffs, and the PlanService loop."""

from __future__ import annotations

import json
from typing import Any

import pytest

from coordinator.plan.debounce import Debouncer, Trigger
from coordinator.plan.diff import diff_routes, diff_schedules
from coordinator.plan.errors import PlanError
from coordinator.plan.routing.planner import PyVrpRouter
from coordinator.plan.routing.problem import Depot, Order, PinnedStop, Route, RoutingResult, Vehicle
from coordinator.plan.schedule.planner import DispatchScheduler
from coordinator.plan.schedule.problem import Machine, Schedule, ScheduledOperation
from fleet_runtime.clock import FakeClock
from tests.coordinator.plan.plan_fixtures import job, op


def test_debouncer_waits_for_quiet_then_releases_one_batch() -> None:
    """Triggers within the quiet window are batched and released once, deduplicated."""
    clock = FakeClock()
    debouncer = Debouncer(clock, quiet_s=2.0, urgent_quiet_s=0.2, max_delay_s=10.0)
    debouncer.submit(Trigger("new_orders", "batch"))
    clock.advance(1.0)
    debouncer.submit(Trigger("new_orders", "batch"))
    clock.advance(1.5)
    assert debouncer.take_due() == []
    clock.advance(0.6)
    batch = debouncer.take_due()
    assert [t.kind for t in batch] == ["new_orders"]
    assert debouncer.take_due() == []
    assert debouncer.deadline() is None


def test_urgent_trigger_shortens_the_wait() -> None:
    """A machine-down trigger makes the batch due after the urgent quiet time."""
    clock = FakeClock()
    debouncer = Debouncer(clock, quiet_s=2.0, urgent_quiet_s=0.2)
    debouncer.submit(Trigger("new_orders", "batch"))
    debouncer.submit(Trigger("machine_down", "M1"))
    clock.advance(0.25)
    assert {t.kind for t in debouncer.take_due()} == {"new_orders", "machine_down"}


def test_a_steady_stream_is_released_by_max_delay() -> None:
    """Triggers arriving faster than the quiet time still fire after max_delay_s."""
    clock = FakeClock()
    debouncer = Debouncer(clock, quiet_s=2.0, max_delay_s=5.0)
    fired_at = None
    for step in range(10):
        debouncer.submit(Trigger("new_orders", f"o{step}"))
        clock.advance(1.0)
        if debouncer.take_due():
            fired_at = step
            break
    assert fired_at == 4


def test_after_a_replan_the_next_waits_its_duration_times_the_rest_factor() -> None:
    """A burst keeps triggers coming: after a re-plan of 3 s with rest factor 2, urgent
    triggers wait until 6 s after it ended, then go as one batch; a re-plan of 0 s
    delays nothing."""
    clock = FakeClock()
    debouncer = Debouncer(clock, quiet_s=2.0, urgent_quiet_s=0.2, rest_factor=2.0)
    debouncer.ran(3.0)
    for n in range(40):
        debouncer.submit(Trigger("rush_order", f"j{n}"))
        clock.advance(0.125)  # 5 s of orders, none ever quiet for 0.2 s
    assert debouncer.take_due() == []
    clock.advance(0.875)  # 5.875 s after the re-plan ended
    assert debouncer.take_due() == []
    clock.advance(0.125)
    assert len(debouncer.take_due()) == 40
    debouncer.ran(0.0)
    debouncer.submit(Trigger("machine_down", "m1"))
    clock.advance(0.2)
    assert [t.key for t in debouncer.take_due()] == ["m1"]


def test_debouncer_rejects_unknown_kinds_and_bad_settings() -> None:
    """Unknown trigger kinds and inconsistent windows raise ValueError."""
    with pytest.raises(ValueError, match="kind"):
        Debouncer(FakeClock()).submit(Trigger("reboot"))
    with pytest.raises(ValueError, match="urgent"):
        Debouncer(FakeClock(), quiet_s=1.0, max_delay_s=0.5)
    with pytest.raises(ValueError, match="rest_factor"):
        Debouncer(FakeClock(), rest_factor=-1.0)


def _row(op_id: str, machine: str, start: int) -> ScheduledOperation:
    return ScheduledOperation(op_id, op_id.split(".", maxsplit=1)[0], machine, start, start + 5)


def test_schedule_diff_separates_moves_reassignments_and_new_work() -> None:
    """The diff lists moved, reassigned, added and removed operations and touched machines."""
    old = Schedule((_row("a.0", "M1", 0), _row("b.0", "M1", 5), _row("c.0", "M2", 0)), 10, 0, 0)
    new = Schedule((_row("a.0", "M1", 0), _row("b.0", "M2", 5), _row("d.0", "M3", 0)), 10, 0, 0)
    diff = diff_schedules(old, new)
    assert diff.reassigned == ("b.0",)
    assert diff.added == ("d.0",)
    assert diff.removed == ("c.0",)
    assert diff.moved == ()
    assert diff.machines == ("M1", "M2", "M3")
    assert diff_schedules(new, new).empty


def test_route_diff_names_changed_vehicles_and_reassigned_orders() -> None:
    """Vehicles whose stops changed, and orders that changed vehicle, are reported."""
    old = RoutingResult(
        (Route("v1", "D", ("a", "b"), 1, 0, 1, 2), Route("v2", "D", ("c",), 1, 0, 1, 1)), 2
    )
    new = RoutingResult(
        (Route("v1", "D", ("a",), 1, 0, 1, 1), Route("v2", "D", ("c", "b"), 1, 0, 1, 2)), 2
    )
    diff = diff_routes(old, new)
    assert diff.changed_vehicles == ("v1", "v2")
    assert diff.reassigned_orders == ("b",)
    assert diff_routes(new, new).empty


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, node_id: str, payload: dict[str, Any]) -> None:
        self.sent.append((node_id, payload))


def _service(clock: FakeClock, publish: _Recorder) -> Any:
    from coordinator.plan.service import PlanService

    return PlanService(
        clock=clock,
        publish=publish,
        scheduler=DispatchScheduler(),
        router=PyVrpRouter(deterministic=True),
        route_time_limit_s=0.3,
    )


def test_service_plans_after_debounce_and_publishes_per_machine() -> None:
    """Submitted jobs are planned once the batch is due; each machine gets its sequence."""
    clock, publish = FakeClock(), _Recorder()
    service = _service(clock, publish)
    service.set_factory([Machine("M1"), Machine("M2")])
    service.submit_jobs([job("a", op("a.0", ("M1", 30)), op("a.1", ("M2", 30)))])
    assert service.tick() is False
    clock.advance(2.5)
    assert service.tick() is True
    schedule = service.current_schedule()
    json.dumps(schedule)
    assert [o["operation_id"] for o in schedule["machines"]["M1"]] == ["a.0"]
    assert {node for node, _ in publish.sent} == {"M1", "M2"}
    assert all(p["kind"] == "schedule" for _, p in publish.sent)


def test_machine_down_replans_urgently_around_the_downtime() -> None:
    """A machine-down event re-plans within the urgent window and avoids the machine."""
    clock, publish = FakeClock(), _Recorder()
    service = _service(clock, publish)
    service.set_factory([Machine("M1"), Machine("M2")])
    service.submit_jobs([job(f"j{k}", op(f"j{k}.0", ("M1", 10), ("M2", 12))) for k in range(4)])
    clock.advance(3.0)
    service.tick()
    publish.sent.clear()
    before = {
        o["operation_id"]: m
        for m, ops in service.current_schedule()["machines"].items()
        for o in ops
    }
    service.machine_down("M1", duration=1000)
    clock.advance(0.3)
    assert service.tick() is True
    schedule = service.current_schedule()
    now = schedule["now"]
    assert all(o["start"] < now or o["start"] >= now + 1000 for o in schedule["machines"]["M1"])
    sent = dict(publish.sent)
    moved_over = sorted(
        o["operation_id"] for o in schedule["machines"]["M2"] if before[o["operation_id"]] == "M1"
    )
    assert moved_over, "work leaves the failed machine"
    assert sent["M2"]["reassigned_in"] == moved_over
    assert sent["M1"]["reassigned_out"] == moved_over


def test_service_routes_orders_and_keeps_committed_stops() -> None:
    """Delivery orders are routed; committed stops stay first on their vehicle."""
    clock, publish = FakeClock(), _Recorder()
    service = _service(clock, publish)
    service.set_fleet([Depot("W", 0, 0)], [Vehicle("v1", "W", 10), Vehicle("v2", "W", 10)])
    service.submit_delivery_orders(
        [Order("o1", 5, 0, 4), Order("o2", 0, 5, 4), Order("o3", 5, 5, 4)]
    )
    service.commit_stops([PinnedStop("o2", "v2")])
    clock.advance(2.5)
    assert service.tick() is True
    routes = service.current_routes()
    json.dumps(routes)
    by_vehicle = {r["vehicle_id"]: r["stops"] for r in routes["routes"]}
    assert by_vehicle["v2"][0] == "o2"
    assert sorted(s for stops in by_vehicle.values() for s in stops) == ["o1", "o2", "o3"]
    assert {node for node, _ in publish.sent} == {"W"}


def test_closed_orders_leave_the_next_plans() -> None:
    """A job done or cancelled and an order delivered leave the problems: closing them
    re-plans without them (ids not held change nothing)."""
    clock, publish = FakeClock(), _Recorder()
    service = _service(clock, publish)
    service.set_factory([Machine("M1")])
    service.submit_jobs([job("a", op("a.0", ("M1", 30))), job("b", op("b.0", ("M1", 30)))])
    service.set_fleet([Depot("W", 0, 0)], [Vehicle("v1", "W", 10)])
    service.submit_delivery_orders([Order("o1", 5, 0, 4), Order("o2", 0, 5, 4)])
    clock.advance(2.5)
    assert service.tick() is True

    service.close_orders(["a", "nope"], ["o1"])
    clock.advance(2.5)
    assert service.tick() is True
    assert [o["operation_id"] for o in service.current_schedule()["machines"]["M1"]] == ["b.0"]
    stops = [s for r in service.current_routes()["routes"] for s in r["stops"]]
    assert stops == ["o2"]

    service.close_orders(["nope"], ["o1"])
    clock.advance(2.5)
    assert service.tick() is False  # nothing held was closed: no re-plan


def test_closing_the_last_jobs_empties_the_schedule() -> None:
    """With no job left the machines are told their operations are gone (a new, empty
    schedule version), not left holding the closed jobs' slots."""
    clock, publish = FakeClock(), _Recorder()
    service = _service(clock, publish)
    service.set_factory([Machine("M1")])
    service.submit_jobs([job("a", op("a.0", ("M1", 30)))])
    clock.advance(2.5)
    assert service.tick() is True
    version = service.current_schedule()["version"]
    publish.sent.clear()

    service.close_orders(["a"], [])
    clock.advance(2.5)
    assert service.tick() is True
    view = service.current_schedule()
    assert view["version"] == version + 1
    assert view["machines"].get("M1", []) == []
    [(node, payload)] = publish.sent
    assert (node, payload["operations"], payload["removed"]) == ("M1", [], ["a.0"])


def test_a_pin_on_a_vehicle_that_left_the_fleet_frees_its_order() -> None:
    """An order committed to a vehicle the fleet no longer has is planned like any other
    (the re-plan does not fail on the stale pin)."""
    clock, publish = FakeClock(), _Recorder()
    service = _service(clock, publish)
    service.set_fleet([Depot("W", 0, 0)], [Vehicle("v1", "W", 10), Vehicle("v2", "W", 10)])
    service.submit_delivery_orders([Order("o1", 5, 0, 4)])
    service.commit_stops([PinnedStop("o1", "v2")])
    service.set_fleet([Depot("W", 0, 0)], [Vehicle("v1", "W", 10)])
    clock.advance(2.5)
    assert service.tick() is True
    assert [(r["vehicle_id"], r["stops"]) for r in service.current_routes()["routes"]] == [
        ("v1", ["o1"])
    ]


def test_views_before_any_plan_are_empty_but_valid() -> None:
    """Before the first plan the views are JSON with no machines and no routes."""
    service = _service(FakeClock(), _Recorder())
    assert service.current_schedule()["machines"] == {}
    assert service.current_routes()["routes"] == []


def test_a_failing_replan_keeps_the_previous_plan(caplog: pytest.LogCaptureFixture) -> None:
    """A planner error is logged, the batch is consumed, and the old schedule stays."""
    from coordinator.plan.service import PlanService

    class Broken:
        def plan(self, problem: object, *, time_limit_s: float, seed: int = 0) -> Schedule:
            raise PlanError("solver exploded")

    clock, publish = FakeClock(), _Recorder()
    service = PlanService(clock=clock, publish=publish, scheduler=Broken())
    service.set_factory([Machine("M1")])
    service.submit_jobs([job("a", op("a.0", ("M1", 5)))])
    clock.advance(3.0)
    assert service.tick() is True
    assert service.current_schedule()["machines"] == {}
    assert "re-planning failed" in caplog.text
    assert publish.sent == []


def test_finished_jobs_leave_the_plan_and_the_service() -> None:
    """A job whose last operation ended before a re-plan is neither planned nor kept."""
    clock, publish = FakeClock(), _Recorder()
    service = _service(clock, publish)
    service.set_factory([Machine("M1")])
    service.submit_jobs([job("old", op("old.0", ("M1", 1)))])
    clock.advance(3.0)
    assert service.tick() is True
    clock.advance(600.0)
    service.submit_jobs([job("new", op("new.0", ("M1", 1)))])
    clock.advance(3.0)
    assert service.tick() is True
    assert [o["job_id"] for o in service.current_schedule()["machines"]["M1"]] == ["new"]
    assert set(service._jobs) == {"new"}
