"""Production scheduling: known optima, determinism and every constraint type."""

from __future__ import annotations

import itertools
import time
from dataclasses import replace

import pytest

from coordinator.plan.errors import ProblemError
from coordinator.plan.schedule.evaluate import violations
from coordinator.plan.schedule.jobshop_io import parse_jobshop_text, to_problem
from coordinator.plan.schedule.planner import CpSatScheduler, DispatchScheduler, is_classic
from coordinator.plan.schedule.problem import (
    Machine,
    PinnedOperation,
    ReservePolicy,
    SchedulingProblem,
    Setup,
    Window,
)
from coordinator.plan.schedule.replan import advance, machine_down
from coordinator.plan.schedule.synthetic import factory_problem
from tests.coordinator.plan.plan_fixtures import FT06, job, machines, op

SOLVER = CpSatScheduler(num_workers=2)


def test_ft06_reaches_its_optimum() -> None:
    """ft06 is solved to its proven optimum 55, and CP-SAT proves it."""
    problem = to_problem(parse_jobshop_text(FT06, name="ft06"))
    assert is_classic(problem)
    schedule = SOLVER.plan(problem, time_limit_s=4.0, seed=0)
    assert schedule.makespan == 55
    assert schedule.status == "optimal"
    assert schedule.lower_bound == 55
    assert violations(problem, schedule) == []


def test_same_seed_same_plan_in_deterministic_mode() -> None:
    """Two deterministic runs with one seed give identical schedules."""
    problem = factory_problem(machines=6, operations=40, seed=3)
    planner = CpSatScheduler(deterministic=True)
    first = planner.plan(problem, time_limit_s=1.0, seed=7)
    second = planner.plan(problem, time_limit_s=1.0, seed=7)
    assert first.operations == second.operations
    assert violations(problem, first) == []


def test_a_deterministic_plan_with_a_wall_limit_of_its_own_ignores_a_slow_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a machine so loaded that each look at the clock finds 5 s gone, the time limit
    is spent before CP-SAT starts: the plan falls back to dispatch. With a wall limit of its
    own the deterministic search runs to its deterministic limit and gives the calm
    machine's plan."""
    problem = factory_problem(machines=3, operations=20, seed=5)  # CP-SAT beats dispatch
    planner = CpSatScheduler(deterministic=True, wall_limit_s=30.0)
    calm = planner.plan(problem, time_limit_s=1.0, seed=7)
    assert calm.solver == "cp-sat"
    clock = itertools.count(0.0, 5.0)
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(clock)))
    assert planner.plan(problem, time_limit_s=1.0, seed=7).operations == calm.operations
    slow = CpSatScheduler(deterministic=True).plan(problem, time_limit_s=1.0, seed=7)
    assert slow.status == "fallback"
    assert slow.operations != calm.operations


def test_dispatch_is_feasible_on_a_flexible_factory() -> None:
    """The dispatch fallback returns a feasible plan for a 30-machine factory."""
    problem = factory_problem(machines=30, operations=400, reserve_share=0.1, seed=1)
    schedule = DispatchScheduler().plan(problem, time_limit_s=1.0)
    assert schedule.status == "fallback"
    assert violations(problem, schedule) == []


def test_a_tiny_time_limit_still_returns_a_feasible_plan() -> None:
    """With almost no time the planner returns the dispatch plan, still feasible."""
    problem = factory_problem(machines=10, operations=120, seed=2)
    schedule = SOLVER.plan(problem, time_limit_s=0.05, seed=0)
    assert schedule.status == "fallback"
    assert violations(problem, schedule) == []


def test_changeovers_separate_families_and_are_counted() -> None:
    """Two families on one machine are separated by their setup time, reported as changeover."""
    problem = SchedulingProblem(
        machines=machines("M"),
        jobs=(
            job("a1", op("a1.0", ("M", 5), family="A")),
            job("b1", op("b1.0", ("M", 5), family="B")),
            job("a2", op("a2.0", ("M", 5), family="A")),
        ),
        setups=(Setup("A", "B", 7), Setup("B", "A", 7)),
    )
    schedule = SOLVER.plan(problem, time_limit_s=5.0)
    rows = sorted(schedule.operations, key=lambda r: r.start)
    assert [r.operation_id[0] for r in rows] in (["a", "a", "b"], ["b", "a", "a"])
    assert schedule.changeover == 7
    assert schedule.makespan == 22
    assert violations(problem, schedule) == []


def test_flexible_operations_use_the_faster_free_machine() -> None:
    """An operation with two machine options is placed where it finishes first."""
    problem = SchedulingProblem(
        machines=machines("M1", "M2"),
        jobs=(
            job("x", op("x.0", ("M1", 10))),
            job("y", op("y.0", ("M1", 10), ("M2", 12))),
        ),
    )
    schedule = SOLVER.plan(problem, time_limit_s=5.0)
    assert schedule.by_operation()["y.0"].machine_id == "M2"
    assert schedule.makespan == 12


def test_unavailability_windows_are_respected_and_explained() -> None:
    """No operation runs in a downtime window; a job made late by it says so."""
    problem = SchedulingProblem(
        machines=(Machine("M", unavailable=(Window(0, 50),)),),
        jobs=(job("j", op("j.0", ("M", 10)), due=20),),
    )
    schedule = SOLVER.plan(problem, time_limit_s=5.0)
    assert schedule.by_operation()["j.0"].start == 50
    [late] = schedule.late_jobs
    assert (late.job_id, late.reason, late.machine_id, late.operation_id) == (
        "j",
        "machine_unavailable",
        "M",
        "j.0",
    )
    assert (late.unavailable_from, late.unavailable_until) == (0, 50)
    assert schedule.weighted_tardiness == 40


def test_late_reasons_name_window_and_capacity() -> None:
    """A job too long for its window and a job queued behind others get distinct reasons."""
    problem = SchedulingProblem(
        machines=machines("M"),
        jobs=(
            job("long", op("long.0", ("M", 30)), due=10, weight=1),
            job("vip", op("vip.0", ("M", 20)), due=20, weight=10),
            job("queued", op("queued.0", ("M", 20)), due=25, weight=1),
        ),
    )
    schedule = SOLVER.plan(problem, time_limit_s=5.0)
    late = {j.job_id: j for j in schedule.late_jobs}
    assert "vip" not in late
    long, queued = late["long"], late["queued"]
    assert (long.reason, long.earliest_start, long.processing, long.machine_id) == (
        "too_short_window",
        0,
        30,
        None,
    )
    assert (queued.reason, queued.machine_id, queued.operation_id) == (
        "machine_capacity",
        "M",
        "queued.0",
    )
    assert queued.waited == queued.completion - 20  # from its release (0) to its start


def test_pinned_operations_keep_machine_and_start() -> None:
    """A started operation keeps its slot even when moving it would shorten the plan."""
    problem = SchedulingProblem(
        machines=machines("M1", "M2"),
        jobs=(job("a", op("a.0", ("M1", 5), ("M2", 5))), job("b", op("b.0", ("M1", 5)))),
        pinned=(PinnedOperation("a.0", "M1", 3),),
    )
    schedule = SOLVER.plan(problem, time_limit_s=5.0)
    row = schedule.by_operation()["a.0"]
    assert (row.machine_id, row.start) == ("M1", 3)
    assert violations(problem, schedule) == []


def test_pinned_operation_inside_downtime_is_rejected() -> None:
    """Pinning an operation across a downtime window is a ProblemError, not a crash."""
    problem = SchedulingProblem(
        machines=(Machine("M", unavailable=(Window(0, 10),)),),
        jobs=(job("a", op("a.0", ("M", 5))),),
        pinned=(PinnedOperation("a.0", "M", 2),),
    )
    with pytest.raises(ProblemError, match="downtime"):
        SOLVER.plan(problem, time_limit_s=1.0)


def test_frozen_horizon_keeps_near_operations_and_delays_new_ones() -> None:
    """Operations of the previous plan inside the frozen horizon stay; others start after it."""
    base = SchedulingProblem(
        machines=machines("M"),
        jobs=(job("a", op("a.0", ("M", 10))), job("b", op("b.0", ("M", 10)))),
    )
    first = SOLVER.plan(base, time_limit_s=2.0)
    order = sorted(first.operations, key=lambda r: r.start)
    later = replace(base, previous=first, now=0, frozen_horizon=5)
    second = SOLVER.plan(
        replace(later, jobs=(*later.jobs, job("c", op("c.0", ("M", 1)), due=1, weight=100))),
        time_limit_s=2.0,
    )
    rows = second.by_operation()
    assert rows[order[0].operation_id].start == order[0].start
    assert rows["c.0"].start >= 5
    assert violations(replace(later, jobs=(*later.jobs,)), first) == []


def test_reserved_capacity_is_left_to_rush_jobs() -> None:
    """Normal jobs avoid the reserved slice of each period; a rush job may use it."""
    reserve = ReservePolicy(share=0.5, period=10, horizon=40)
    problem = SchedulingProblem(
        machines=machines("M"),
        jobs=(
            job("n", op("n.0", ("M", 5)), op("n.1", ("M", 5))),
            job("r", op("r.0", ("M", 5)), rush=True),
        ),
        reserve=reserve,
    )
    schedule = SOLVER.plan(problem, time_limit_s=5.0)
    assert violations(problem, schedule) == []
    for row in schedule.operations:
        if not row.operation_id.startswith("r"):
            assert row.start % 10 < 5
            assert row.end % 10 in (0, 5)
    assert schedule.by_operation()["r.0"].start % 10 == 5


def test_replan_after_machine_down_moves_few_operations() -> None:
    """After a machine goes down, the re-plan is feasible and keeps other machines' work."""
    problem = factory_problem(machines=8, operations=60, seed=4)
    first = DispatchScheduler().plan(problem, time_limit_s=1.0)
    now = first.makespan // 5
    live = machine_down(advance(problem, first, now=now), "M00", Window(now, now + 100))
    second = SOLVER.plan(live, time_limit_s=1.0, seed=0)
    assert violations(live, second) == []
    on_down = [r for r in second.operations if r.machine_id == "M00"]
    assert all(r.end <= now or r.start >= now + 100 for r in on_down)
    untouched = [r for r in first.operations if r.machine_id != "M00" and r.start >= now]
    kept = second.by_operation()
    stayed = sum(1 for r in untouched if kept[r.operation_id].start == r.start)
    assert stayed >= 0.5 * len(untouched)
    assert second.operations_moved == sum(
        1
        for r in first.operations
        if (kept[r.operation_id].machine_id, kept[r.operation_id].start) != (r.machine_id, r.start)
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SchedulingProblem(machines("M", "M"), ()), "duplicate machine"),
        (
            lambda: SchedulingProblem(machines("M"), (job("a", op("a.0", ("X", 1))),)),
            "unknown machine",
        ),
        (
            lambda: SchedulingProblem(
                machines("M"), (job("a", op("x", ("M", 1))), job("b", op("x", ("M", 1))))
            ),
            "duplicate operation",
        ),
        (lambda: Window(5, 5), "after start"),
        (lambda: ReservePolicy(share=1.5), "reserve share"),
        (lambda: ReservePolicy(share=0.4, period=1, horizon=10), "whole period"),
        (lambda: op("x", ("M", -1)), "negative duration"),
    ],
)
def test_inconsistent_problems_raise_problem_error(build: object, message: str) -> None:
    """Malformed problems raise ProblemError with a reason, never a foreign exception."""
    with pytest.raises(ProblemError, match=message):
        build()  # type: ignore[operator]
