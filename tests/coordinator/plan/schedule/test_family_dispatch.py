"""The dispatch rule keeps product families together when changeovers cost time, and a
service planning from facts starts each machine set up for what it made last."""

from __future__ import annotations

from coordinator.plan.schedule.dispatch import dispatch
from coordinator.plan.schedule.evaluate import build_schedule, violations
from coordinator.plan.schedule.planner import DispatchScheduler
from coordinator.plan.schedule.problem import Machine, SchedulingProblem, Setup
from coordinator.plan.schedule.replan import Observed
from coordinator.plan.service import PlanService
from fleet_runtime.clock import FakeClock
from tests.coordinator.plan.plan_fixtures import job, machines, op

SETUPS = (Setup("A", "B", 7), Setup("B", "A", 7))


def _changeover(problem: SchedulingProblem) -> int:
    schedule = build_schedule(problem, dispatch(problem), status="fallback", solver="dispatch")
    assert violations(problem, schedule) == []
    return schedule.changeover


def test_jobs_ready_together_are_placed_family_by_family() -> None:
    """a1, b1, a2 due in that order on one machine: A, A then B (one changeover, not two)."""
    problem = SchedulingProblem(
        machines=machines("M"),
        jobs=(
            job("a1", op("a1.0", ("M", 5), family="A"), due=100),
            job("b1", op("b1.0", ("M", 5), family="B"), due=110),
            job("a2", op("a2.0", ("M", 5), family="A"), due=120),
        ),
        setups=SETUPS,
    )
    assert _changeover(problem) == 7
    rows = sorted(dispatch(problem).items(), key=lambda kv: kv[1][1])
    assert [op_id for op_id, _ in rows] == ["a1.0", "a2.0", "b1.0"]


def test_without_changeovers_the_order_is_by_due_date() -> None:
    """With no setup times the same jobs keep the plain earliest-due order."""
    problem = SchedulingProblem(
        machines=machines("M"),
        jobs=(
            job("a1", op("a1.0", ("M", 5), family="A"), due=100),
            job("b1", op("b1.0", ("M", 5), family="B"), due=110),
            job("a2", op("a2.0", ("M", 5), family="A"), due=120),
        ),
    )
    rows = sorted(dispatch(problem).items(), key=lambda kv: kv[1][1])
    assert [op_id for op_id, _ in rows] == ["a1.0", "b1.0", "a2.0"]


def _two_machines(due: int) -> SchedulingProblem:
    """M1 is busy with an A job until 5; M2 is idle but set up for B (B→A takes 2)."""
    return SchedulingProblem(
        machines=(Machine("M1", initial_family="A"), Machine("M2", initial_family="B")),
        jobs=(
            job("a0", op("a0.0", ("M1", 5), family="A"), due=5),
            job("a1", op("a1.0", ("M1", 5), ("M2", 5), family="A"), due=due),
        ),
        setups=(Setup("A", "B", 2), Setup("B", "A", 2)),
    )


def test_a_job_with_slack_waits_for_the_machine_set_up_for_its_family() -> None:
    """Due far ahead, a1 queues behind a0 on M1 rather than change M2 over to A."""
    assert dispatch(_two_machines(due=100))["a1.0"][0] == "M1"
    assert _changeover(_two_machines(due=100)) == 0


def test_a_job_that_would_be_late_takes_the_changeover() -> None:
    """Due at 8, a1 would end at 10 behind a0 on M1: M2 changes over and ends it at 7."""
    assert dispatch(_two_machines(due=8))["a1.0"] == ("M2", 2)
    assert _changeover(_two_machines(due=8)) == 2


class _Sink:
    def __call__(self, node_id: str, payload: dict[str, object]) -> None:
        return None


def test_a_service_from_facts_plans_from_the_family_a_machine_made_last() -> None:
    """M made an A job (reported, then closed): a B job now pays the A→B changeover."""
    clock = FakeClock()
    service = PlanService(
        clock=clock,
        publish=_Sink(),
        scheduler=DispatchScheduler(),
        from_facts=True,
        warm_up_solvers=False,
    )
    service.set_factory([Machine("M")], setups=SETUPS)
    service.submit_jobs([job("a", op("a:0", ("M", 5), family="A"))])
    clock.advance(5.0)
    assert service.tick() is True
    service.observe([Observed("a:0", "M", start=0, last_report=0)], replan=False)
    service.close_orders(["a"], [])
    service.observe([], replan=False)
    service.submit_jobs([job("b", op("b:0", ("M", 5), family="B"))])
    clock.advance(5.0)
    assert service.tick() is True
    schedule = service.current_schedule()
    assert schedule["changeover"] == 7
    assert schedule["machines"]["M"][0]["setup"] == 7
