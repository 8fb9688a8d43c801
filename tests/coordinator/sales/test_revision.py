"""Promises revised by a re-plan (pure): the schedule's and the routes' verdict on each
promise, the constraint named, and what counts as a new revision."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from coordinator.sales.revision import (
    PlannedDelivery,
    PlannedJob,
    Revision,
    revise_delivery,
    revise_production,
    route_deliveries,
    schedule_jobs,
)

H = 3_600_000  # one hour in ms
T0 = 1_800_000_000_000
# one line: 4 from stock (ETA T0+1h), 10 made at fA (ready T0+5h, ETA T0+6h), 6 at fB
PROMISE: dict[str, Any] = {
    "eta_ms": T0 + 7 * H,
    "promised_ms": T0 + 8 * H,
    "lines": [
        {
            "from_stock": [{"warehouse": "w1", "qty": 4, "eta_ms": T0 + H}],
            "made": [
                {"factory": "fA", "qty": 10, "ready_ms": T0 + 5 * H, "eta_ms": T0 + 6 * H},
                {"factory": "fB", "qty": 6, "ready_ms": T0 + 5 * H, "eta_ms": T0 + 7 * H},
            ],
        }
    ],
}


def _job(job_id: str, end_h: float, reason: str = "", detail: str = "") -> PlannedJob:
    return PlannedJob(job_id, "m1", T0 + round(end_h * H), reason, detail)


def test_planned_completion_plus_the_promised_delivery_leg_within_the_promise_confirms() -> None:
    """fA's job ends at 5.5 h (+1 h leg = 6.5 h), fB's at 5 h (+2 h = 7 h): the latest, 7 h,
    is before the promised 8 h, so the promise is confirmed with that planned ETA."""
    jobs = [_job("sales.o.0.0", 5.5), _job("sales.o.0.1", 5.0)]
    revision = revise_production(PROMISE, jobs, version=3, at_ms=T0)
    assert revision is not None
    assert revision.verdict == "on_time"
    assert revision.planned_eta_ms == T0 + 7 * H
    assert (revision.plan, revision.plan_version, revision.constraint) == ("schedule", 3, "")


def test_equal_to_the_promised_time_is_on_time_and_a_minute_later_is_late() -> None:
    """ETA exactly the promised time confirms; one minute after it is late."""
    on_time = revise_production(PROMISE, [None, _job("sales.o.0.1", 6.0)], version=1, at_ms=T0)
    assert on_time is not None
    assert on_time.verdict == "on_time"
    late_job = PlannedJob("sales.o.0.1", "m2", T0 + 6 * H + 60_000)
    late = revise_production(PROMISE, [None, late_job], version=1, at_ms=T0)
    assert late is not None
    assert late.verdict == "late"


def test_a_late_part_names_its_job_machine_and_the_planner_s_reason() -> None:
    """fA's job pushed to 9 h by a breakdown: ETA 10 h, after the promised 8 h; the
    revision names the job, the machine and `machine_unavailable` with its detail."""
    jobs = [_job("sales.o.0.0", 9.0, "machine_unavailable", "m1 unavailable [0, 240)"), None]
    revision = revise_production(PROMISE, jobs, version=7, at_ms=T0)
    assert revision is not None
    assert revision.verdict == "late"
    assert revision.planned_eta_ms == T0 + 10 * H
    assert revision.constraint == "machine_unavailable"
    assert revision.job_id == "sales.o.0.0"
    assert "sales.o.0.0" in revision.reason
    assert "on m1 (machine_unavailable: m1 unavailable [0, 240))" in revision.reason
    assert "schedule 7" in revision.reason


def test_a_late_job_without_a_planner_reason_is_bound_by_machine_capacity() -> None:
    """Late against the promise but not listed late by the schedule: `machine_capacity`."""
    revision = revise_production(PROMISE, [_job("sales.o.0.0", 8.0), None], version=1, at_ms=T0)
    assert revision is not None
    assert (revision.verdict, revision.constraint) == ("late", "machine_capacity")


def test_a_schedule_holding_none_of_the_jobs_says_nothing() -> None:
    """No job of the order in the schedule (finished, or not planned yet): no revision."""
    assert revise_production(PROMISE, [None, None], version=1, at_ms=T0) is None


def test_the_key_changes_with_verdict_constraint_or_job_not_with_times() -> None:
    """Two re-plans that move a late job by minutes give the same key (nothing new to push);
    a different binding job or verdict gives another."""
    a = revise_production(PROMISE, [_job("sales.o.0.0", 9.0), None], version=1, at_ms=T0)
    b = revise_production(PROMISE, [_job("sales.o.0.0", 9.2), None], version=2, at_ms=T0 + H)
    c = revise_production(PROMISE, [None, _job("sales.o.0.1", 9.0)], version=3, at_ms=T0 + H)
    assert a is not None
    assert b is not None
    assert c is not None
    assert a.key == b.key
    assert a.key != c.key
    assert Revision.from_json(a.to_json()) == a


def test_schedule_jobs_reads_the_planner_view_in_unix_ms() -> None:
    """The end of each job's last operation (epoch + units × unit), its machine, and the
    late jobs' reasons; other jobs are left out by the prefix."""
    view = {
        "epoch_s": T0 / 1000,
        "time_unit_s": 60.0,
        "machines": {
            "m1": [{"job_id": "sales.o.0.0", "end": 30}, {"job_id": "other", "end": 90}],
            "m2": [{"job_id": "sales.o.0.0", "end": 60}],
        },
        "late_jobs": [{"job_id": "sales.o.0.0", "reason": "machine_capacity", "detail": "d"}],
    }
    jobs = schedule_jobs(view, prefix="sales.")
    assert jobs == {
        "sales.o.0.0": PlannedJob("sales.o.0.0", "m2", T0 + 3_600_000, "machine_capacity", "d")
    }


def test_the_planner_s_figures_are_phrased_in_time_not_plan_units() -> None:
    """A late job's unavailable window (units 60 to 300 of a minute each) and another's wait
    (45 units) read as times and minutes; a plan saved without the figures keeps its own
    detail."""
    rows = {"m1": [{"job_id": "sales.a.0.0", "operation_id": "sales.a.0.0:0", "end": 400},
                   {"job_id": "sales.b.0.0", "operation_id": "sales.b.0.0:0", "end": 500},
                   {"job_id": "sales.c.0.0", "operation_id": "sales.c.0.0:0", "end": 600}]}  # fmt: skip
    view = {
        "epoch_s": T0 / 1000,
        "time_unit_s": 60.0,
        "machines": rows,
        "late_jobs": [
            {"job_id": "sales.a.0.0", "reason": "machine_unavailable", "detail": "[60, 300)",
             "machine_id": "m1", "operation_id": "sales.a.0.0:0",
             "unavailable_from": 60, "unavailable_until": 300},
            {"job_id": "sales.b.0.0", "reason": "reserved_capacity", "detail": "x",
             "machine_id": "m1", "operation_id": "sales.b.0.0:0", "waited": 45},
            {"job_id": "sales.c.0.0", "reason": "machine_capacity", "detail": "waited 45"},
        ],
    }  # fmt: skip
    jobs = schedule_jobs(view, prefix="sales.")
    start = datetime.fromtimestamp(T0 / 1000 + 3600, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    end = datetime.fromtimestamp(T0 / 1000 + 5 * 3600, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    assert jobs["sales.a.0.0"].late_detail == (
        f"m1 unavailable {start} to {end}, delaying sales.a.0.0:0"
    )
    assert jobs["sales.b.0.0"].late_detail == (
        "sales.b.0.0:0 waited 45 min: capacity on m1 held for rush orders"
    )
    assert jobs["sales.c.0.0"].late_detail == "waited 45"


def _too_short(*ops: tuple[str, int, int]) -> dict[str, Any]:
    """A schedule at `now` 10 with (job, start, end) operations on m1; the sales job is
    listed late as `too_short_window`."""
    rows = [{"operation_id": f"{j}/0", "job_id": j, "start": a, "end": b, "setup": 0}
            for j, a, b in ops]  # fmt: skip
    return {"epoch_s": T0 / 1000, "time_unit_s": 60.0, "now": 10, "machines": {"m1": rows},
            "late_jobs": [{"job_id": "sales.o.0.0", "reason": "too_short_window", "detail": ""}]}  # fmt: skip


def test_a_job_late_by_its_own_length_is_explained_by_what_it_waited_for() -> None:
    """`too_short_window` speaks of the due time the promise set (no slack), not of the
    promise: the wait is read from the schedule. m1 idle from now (10) to 250: unavailable
    for 240 min; busy with another job until 250 instead: capacity; started: no wait."""
    idle = schedule_jobs(_too_short(("sales.o.0.0", 250, 450)), prefix="sales.")
    assert idle["sales.o.0.0"].late_reason == "machine_unavailable"
    assert idle["sales.o.0.0"].late_detail.startswith(
        "m1 not available for 240 min before sales.o.0.0/0"
    )
    busy = schedule_jobs(_too_short(("x", 0, 250), ("sales.o.0.0", 250, 450)), prefix="sales.")
    assert busy["sales.o.0.0"].late_reason == "machine_capacity"
    assert busy["sales.o.0.0"].late_detail == (
        "sales.o.0.0/0 waited 240 min for m1, busy with other jobs"
    )
    started = schedule_jobs(_too_short(("sales.o.0.0", 5, 450)), prefix="sales.")
    assert started["sales.o.0.0"].late_reason == "too_short_window"
    # with the planner's figures, its own reason reads in time too
    view = _too_short(("sales.o.0.0", 5, 450))
    view["late_jobs"][0] |= {"earliest_start": 60, "processing": 35}
    at = datetime.fromtimestamp(T0 / 1000 + 3600, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    assert schedule_jobs(view, prefix="sales.")["sales.o.0.0"].late_detail == (
        f"it can start {at} at the earliest and needs 35 min of machine time"
    )


def test_routes_unserved_is_late_routed_is_on_time_until_the_promise_passes() -> None:
    """An unserved delivery is late with the router's reason; a routed one confirms, unless
    the promised time has already passed."""
    view = {
        "routes": [{"stops": ["ship.a", "w9"]}],
        "unserved": [{"order_id": "ship.b", "reason": "time_window", "detail": "too far"}],
    }
    drops = route_deliveries(view, prefix="ship.")
    assert drops == {
        "ship.a": PlannedDelivery("ship.a", True),
        "ship.b": PlannedDelivery("ship.b", False, "time_window", "too far"),
    }
    late = revise_delivery(T0, drops["ship.b"], version=4, at_ms=T0 - H)
    assert (late.verdict, late.constraint, late.plan) == ("late", "delivery_time_window", "routes")
    assert "too far" in late.reason
    assert revise_delivery(T0, drops["ship.a"], version=4, at_ms=T0 - H).verdict == "on_time"
    passed = revise_delivery(T0, drops["ship.a"], version=5, at_ms=T0 + 1)
    assert (passed.verdict, passed.constraint) == ("late", "promise_passed")
