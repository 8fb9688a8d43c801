"""Re-planning from the shop floor's facts: started operations stay, late ones push their
successors, a breakdown mid-operation pauses it in place (pure steps and both schedulers)."""

from __future__ import annotations

import pytest

from coordinator.plan.schedule.evaluate import violations
from coordinator.plan.schedule.planner import CpSatScheduler, DispatchScheduler, SchedulePlanner
from coordinator.plan.schedule.problem import (
    Job,
    Machine,
    Operation,
    OperationOption,
    SchedulingProblem,
    Window,
)
from coordinator.plan.schedule.replan import Observed, estimate_end, keep_started, machine_down

PLANNERS = [DispatchScheduler(), CpSatScheduler()]


def two_step_job(job_id: str, first: int = 10, second: int = 10) -> Job:
    return Job(
        job_id,
        (
            Operation(f"{job_id}:0", (OperationOption("m1", first),)),
            Operation(f"{job_id}:1", (OperationOption("m2", second),)),
        ),
    )


def rows(problem: SchedulingProblem, planner: SchedulingPlanner) -> dict[str, tuple[str, int, int]]:
    schedule = planner.plan(problem, time_limit_s=2.0, seed=0)
    assert violations(problem, schedule) == []
    return {r.operation_id: (r.machine_id, r.start, r.end) for r in schedule.operations}


SchedulingPlanner = SchedulePlanner


def test_estimate_from_the_observed_cycle_time() -> None:
    """40 of 100 units in 20 units of time: the other 60 take 30 more from now."""
    seen = Observed("j:0", "m1", start=0, last_report=20, made=40, quantity=100)
    assert estimate_end(seen, 10, now=20, resume=20) == 50
    assert estimate_end(seen, 10, now=20, resume=35) == 65  # after a repair at 35


def test_estimate_without_counts_and_when_done() -> None:
    """Nothing counted yet: the planned duration, but not before resume; done: its time."""
    seen = Observed("j:0", "m1", start=0, last_report=0)
    assert estimate_end(seen, 10, now=4, resume=4) == 10
    assert estimate_end(seen, 10, now=30, resume=30) == 31
    assert estimate_end(Observed("j:0", "m1", 0, 7, done_at=7), 10, now=30, resume=30) == 7


@pytest.mark.parametrize("planner", PLANNERS, ids=lambda p: type(p).__name__)
def test_a_late_running_operation_stays_and_pushes_its_successor(
    planner: SchedulingPlanner,
) -> None:
    """Started at 2, 10 of 40 units made by 20: it ends at 80, and its next step after."""
    job = two_step_job("j")
    problem = SchedulingProblem(machines=(Machine("m1"), Machine("m2")), jobs=(job,), now=20)
    seen = Observed("j:0", "m1", start=2, last_report=20, made=10, quantity=40)
    plan = rows(keep_started(problem, [seen], now=20), planner)
    assert plan["j:0"] == ("m1", 2, 74)  # 18/10 per unit, 30 left: 54 from 20
    assert plan["j:1"][1] >= 74


@pytest.mark.parametrize("planner", PLANNERS, ids=lambda p: type(p).__name__)
def test_a_breakdown_mid_operation_pauses_it_in_place(planner: SchedulingPlanner) -> None:
    """m1 breaks at 20 until 60 while j:0 runs: j:0 keeps its start and ends after the
    repair plus its remaining work; other work on m1 waits for both."""
    other = Job("k", (Operation("k:0", (OperationOption("m1", 5),)),))
    problem = SchedulingProblem(
        machines=(Machine("m1"), Machine("m2")), jobs=(two_step_job("j"), other), now=20
    )
    problem = machine_down(problem, "m1", Window(20, 60))
    seen = Observed("j:0", "m1", start=10, last_report=20, made=5, quantity=10)
    plan = rows(keep_started(problem, [seen], now=20), planner)
    assert plan["j:0"] == ("m1", 10, 70)  # 2 per unit, 5 left after the repair at 60
    assert plan["j:1"][1] >= 70
    assert plan["k:0"][1] >= 70


def test_unreported_operations_are_not_pinned_by_the_plan_clock() -> None:
    """The facts replace the clock's pins: an operation nobody started is free to move."""
    from coordinator.plan.schedule.problem import PinnedOperation

    problem = SchedulingProblem(
        machines=(Machine("m1"), Machine("m2")),
        jobs=(two_step_job("j"),),
        now=20,
        pinned=(PinnedOperation("j:0", "m1", 0),),
    )
    facts = keep_started(problem, [], now=20)
    assert facts.pinned == ()
    assert rows(facts, DispatchScheduler())["j:0"][1] >= 20


def test_an_unreported_earlier_step_of_a_started_one_is_behind_the_job() -> None:
    """j:1 reported started at 12 though j:0 never was: j:0 leaves the problem."""
    problem = SchedulingProblem(
        machines=(Machine("m1"), Machine("m2")), jobs=(two_step_job("j"),), now=15
    )
    seen = Observed("j:1", "m2", start=12, last_report=15)
    plan = rows(keep_started(problem, [seen], now=15), DispatchScheduler())
    assert plan == {"j:1": ("m2", 12, 22)}


@pytest.mark.parametrize("planner", PLANNERS, ids=lambda p: type(p).__name__)
def test_machines_that_did_not_wait_are_kept_as_they_run(planner: SchedulingPlanner) -> None:
    """m2 started j:1 at 5 while m1 still runs j:0 (started 0, late): both stay where they
    are, though j:1 began before j:0 ends; a done job leaves the problem."""
    done = two_step_job("d")
    problem = SchedulingProblem(
        machines=(Machine("m1"), Machine("m2")), jobs=(two_step_job("j"), done), now=20
    )
    facts = [
        Observed("j:0", "m1", start=0, last_report=20, made=4, quantity=10),
        Observed("j:1", "m2", start=5, last_report=20, made=1, quantity=10),
        Observed("d:0", "m1", start=0, last_report=0, done_at=0),
        Observed("d:1", "m2", start=1, last_report=4, done_at=4),
    ]
    plan = rows(keep_started(problem, facts, now=20), planner)
    assert plan == {"j:0": ("m1", 0, 50), "j:1": ("m2", 5, 155)}


def test_only_the_latest_running_operation_runs_on_a_machine() -> None:
    """Two operations reported running on m1: the later start runs, the earlier is over."""
    problem = SchedulingProblem(
        machines=(Machine("m1"), Machine("m2")),
        jobs=(two_step_job("a"), two_step_job("b")),
        now=20,
    )
    facts = [Observed("a:0", "m1", 0, 5), Observed("b:0", "m1", 8, 20)]
    live = keep_started(problem, facts, now=20)
    assert [p.operation_id for p in live.pinned] == ["b:0"]
    assert [op.id for job in live.jobs for op in job.operations] == ["a:1", "b:0", "b:1"]


def test_reports_of_unknown_operations_or_machines_are_ignored() -> None:
    """A report for a job the planner does not hold, or a machine it does not know, pins nothing."""
    problem = SchedulingProblem(
        machines=(Machine("m1"), Machine("m2")), jobs=(two_step_job("j"),), now=5
    )
    facts = keep_started(
        problem,
        [Observed("x:0", "m1", 0, 5), Observed("j:0", "m9", 0, 5)],
        now=5,
    )
    assert facts.pinned == ()


def test_a_plain_job_shop_planned_later_than_time_0_starts_no_earlier_than_now() -> None:
    """One machine per operation but `now` = 1: not a classic instance for the tabu warm
    start (it knows no `now`), and nothing is planned before 1."""
    from coordinator.plan.schedule.planner import is_classic

    problem = SchedulingProblem(
        machines=(Machine("m1"), Machine("m2")), jobs=(two_step_job("k"),), now=1
    )
    assert not is_classic(problem)
    plan = rows(problem, CpSatScheduler())
    assert min(start for _, start, _ in plan.values()) >= 1
