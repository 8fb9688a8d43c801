"""Property tests: on random problems with every constraint type, plans are feasible."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from coordinator.plan.schedule.evaluate import violations
from coordinator.plan.schedule.planner import CpSatScheduler, DispatchScheduler, cost
from coordinator.plan.schedule.problem import (
    Job,
    Machine,
    Operation,
    OperationOption,
    ReservePolicy,
    SchedulingProblem,
    Setup,
    Window,
)
from coordinator.plan.schedule.replan import advance, machine_down


@st.composite
def problems(draw: st.DrawFn) -> SchedulingProblem:
    """Small flexible job shops with setups, downtime, releases, dues, rush jobs, reserve."""
    machine_ids = [f"M{k}" for k in range(draw(st.integers(1, 4)))]
    machines = []
    for mid in machine_ids:
        windows = []
        if draw(st.booleans()):
            start = draw(st.integers(0, 60))
            windows.append(Window(start, start + draw(st.integers(1, 30))))
        machines.append(Machine(mid, tuple(windows)))
    families = ["A", "B", "C"]
    jobs = []
    for j in range(draw(st.integers(1, 6))):
        ops = []
        for k in range(draw(st.integers(1, 3))):
            chosen = draw(
                st.lists(st.sampled_from(machine_ids), min_size=1, max_size=2, unique=True)
            )
            options = tuple(OperationOption(m, draw(st.integers(0, 15))) for m in chosen)
            ops.append(Operation(f"j{j}.{k}", options, draw(st.sampled_from(families))))
        release = draw(st.integers(0, 20))
        due = draw(st.one_of(st.none(), st.integers(release, release + 80)))
        jobs.append(
            Job(f"j{j}", tuple(ops), release, due, draw(st.integers(0, 3)), draw(st.booleans()))
        )
    setups = tuple(
        Setup(a, b, draw(st.integers(0, 6))) for a in families for b in families if a != b
    )
    reserve = ReservePolicy(share=draw(st.sampled_from([0.0, 0.2])), period=20, horizon=80)
    return SchedulingProblem(tuple(machines), tuple(jobs), setups, reserve=reserve)


@settings(max_examples=40, deadline=None)
@given(problems())
def test_dispatch_plans_are_always_feasible(problem: SchedulingProblem) -> None:
    """The dispatch rule never breaks a constraint, before or after a machine failure."""
    first = DispatchScheduler().plan(problem, time_limit_s=1.0)
    assert violations(problem, first) == []
    now = first.makespan // 3
    live = advance(problem, first, now=now, frozen_horizon=5)
    failed = machine_down(live, problem.machines[0].id, Window(now, now + 25))
    second = DispatchScheduler().plan(failed, time_limit_s=1.0)
    assert violations(failed, second) == []


@settings(max_examples=8, deadline=None)
@given(problems())
def test_cpsat_plans_are_feasible_and_no_worse_than_dispatch(problem: SchedulingProblem) -> None:
    """CP-SAT's plan is feasible and its objective terms do not exceed the dispatch plan's."""
    fallback = DispatchScheduler().plan(problem, time_limit_s=1.0)
    plan = CpSatScheduler(deterministic=True).plan(problem, time_limit_s=0.4, seed=1)
    assert violations(problem, plan) == []
    assert cost(problem, plan) <= cost(problem, fallback)
