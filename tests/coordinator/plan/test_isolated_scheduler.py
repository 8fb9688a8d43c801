"""The scheduler in a child process: same plans, errors passed back, nothing lost when
the child dies or hangs, and no child left behind a killed coordinator."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from coordinator.plan.errors import ProblemError
from coordinator.plan.orders.specs import JobOrder, OperationOrder
from coordinator.plan.schedule.isolated import IsolatedScheduler
from coordinator.plan.schedule.planner import CpSatScheduler, DispatchScheduler
from coordinator.plan.schedule.problem import Schedule, SchedulingProblem
from coordinator.plan.schedule.synthetic import factory_problem
from coordinator.plan.triggers import MachineSeen
from coordinator.service import Coordinator
from coordinator.settings import load_settings

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class WhereMade:
    """The dispatch rule, with the id of the process that planned in `solver`; in any
    process but `home` it first sleeps `child_sleep_s`."""

    home: int
    child_sleep_s: float = 0.0

    def plan(self, problem: SchedulingProblem, *, time_limit_s: float, seed: int = 0) -> Schedule:
        if os.getpid() != self.home:
            time.sleep(self.child_sleep_s)
        made = DispatchScheduler().plan(problem, time_limit_s=time_limit_s, seed=seed)
        return replace(made, solver=f"pid {os.getpid()}")


@dataclass(frozen=True)
class Refuses:
    def plan(self, problem: SchedulingProblem, *, time_limit_s: float, seed: int = 0) -> Schedule:
        raise ProblemError(f"{len(problem.jobs)} jobs refused in {os.getpid()}")


@pytest.fixture
def problem() -> SchedulingProblem:
    return factory_problem(machines=6, operations=40, seed=3)


def test_plans_in_a_child_process_what_the_planner_plans_here(problem: SchedulingProblem) -> None:
    isolated = IsolatedScheduler(WhereMade(home=os.getpid()))
    try:
        made = isolated.plan(problem, time_limit_s=1.0)
        assert isolated.pid is not None
        assert isolated.pid != os.getpid()
        assert made.solver == f"pid {isolated.pid}"
        here = WhereMade(home=os.getpid()).plan(problem, time_limit_s=1.0)
        assert made.operations == here.operations
        assert made.makespan == here.makespan
        again = isolated.plan(problem, time_limit_s=1.0)
        assert again.solver == made.solver  # one long-lived child
    finally:
        isolated.close()
    assert isolated.pid is None


def test_cp_sat_in_the_child_gives_the_same_plan_as_in_this_process() -> None:
    problem = factory_problem(machines=8, operations=60, seed=5)
    # its own wall limit: the deterministic limit ends both searches on a loaded machine too
    planner = CpSatScheduler(deterministic=True, num_workers=1, wall_limit_s=60.0)
    isolated = IsolatedScheduler(planner)
    try:
        there = isolated.plan(problem, time_limit_s=1.0, seed=2)
    finally:
        isolated.close()
    here = planner.plan(problem, time_limit_s=1.0, seed=2)
    assert there.operations == here.operations
    assert (there.status, there.solver) == (here.status, here.solver)


def test_a_planning_error_comes_back_as_itself(problem: SchedulingProblem) -> None:
    isolated = IsolatedScheduler(Refuses())
    try:
        with pytest.raises(ProblemError, match="jobs refused in") as raised:
            isolated.plan(problem, time_limit_s=1.0)
        assert str(os.getpid()) not in raised.value.reason
        assert isolated.pid is not None  # the child lives on
    finally:
        isolated.close()


def test_a_child_killed_mid_plan_costs_no_plan_and_the_next_plan_gets_a_new_child(
    problem: SchedulingProblem,
) -> None:
    isolated = IsolatedScheduler(WhereMade(home=os.getpid(), child_sleep_s=30.0))
    isolated.start()
    first = isolated.pid
    assert first is not None
    killer = threading.Timer(0.5, os.kill, (first, signal.SIGKILL))
    killer.start()
    try:
        started = time.monotonic()
        made = isolated.plan(problem, time_limit_s=60.0)
        assert time.monotonic() - started < 10
        assert made.solver == f"pid {os.getpid()}"  # made here instead
        assert {r.operation_id for r in made.operations} == {
            op.id for job in problem.jobs for op in job.operations
        }
        assert isolated.pid is None
        isolated.start()
        assert isolated.pid not in {None, first}
    finally:
        killer.cancel()
        isolated.close()


def test_a_child_that_does_not_answer_in_time_is_killed_and_the_plan_made_here(
    problem: SchedulingProblem,
) -> None:
    isolated = IsolatedScheduler(WhereMade(home=os.getpid(), child_sleep_s=60.0), grace_s=0.5)
    isolated.start()
    hung = isolated.pid
    assert hung is not None
    try:
        started = time.monotonic()
        made = isolated.plan(problem, time_limit_s=0.5)
        assert time.monotonic() - started < 10
        assert made.solver == f"pid {os.getpid()}"
        assert not _alive(hung)
    finally:
        isolated.close()


def test_the_child_exits_when_its_coordinator_is_killed(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from coordinator.plan.schedule.isolated import IsolatedScheduler
        isolated = IsolatedScheduler()
        isolated.start()
        print(isolated.pid, flush=True)
        time.sleep(600)
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True
    ) as parent:
        _kill_and_watch_the_child(parent)


def _kill_and_watch_the_child(parent: subprocess.Popen[str]) -> None:
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert _alive(child)
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child)
    finally:
        parent.kill()


def test_problems_and_schedules_pickle_as_their_arguments(problem: SchedulingProblem) -> None:
    schedule = DispatchScheduler().plan(problem, time_limit_s=1.0)
    with_previous = replace(problem, previous=schedule)
    assert with_previous.operations_by_id  # a cache, not pickled
    copy = pickle.loads(pickle.dumps(with_previous))
    assert copy == with_previous
    assert "operations_by_id" not in copy.__dict__
    assert pickle.loads(pickle.dumps(schedule)) == schedule


def test_the_coordinator_plans_in_a_child_and_stops_it(tmp_path: Path) -> None:
    """By default (`plan_isolated`) the coordinator's re-plans run in a child process of
    its own, which stopping the coordinator ends; with it off, no child is started."""
    for isolated in (True, False):
        settings = load_settings(
            dev_mode=True,
            db_path=tmp_path / f"c-{isolated}.db",
            broker_url="mqtt://127.0.0.1:1",
            plan_isolated=isolated,
            plan_quiet_s=0.0,
            plan_urgent_quiet_s=0.0,
            plan_rest_factor=0.0,
            plan_time_limit_s=1.0,
        )
        before = _children()
        coordinator = Coordinator.open(settings)
        try:
            plans = coordinator.plans
            assert plans is not None
            plans.apply([MachineSeen("s1", "m1")])
            plans.submit_orders([JobOrder("j1", (OperationOrder({"m1": 600.0}),))])
            assert plans.service.tick()
            schedule = plans.service.current_schedule()
            assert [op["job_id"] for op in schedule["machines"]["m1"]] == ["j1"]
            started = _children() - before
            assert len(started) == (1 if isolated else 0)
        finally:
            coordinator.stop()
        assert not any(_alive(pid) for pid in started)


def _children() -> set[int]:
    """This process's child processes that are running."""
    pids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        pids.update(int(p) for p in (task / "children").read_text().split())
    return {pid for pid in pids if _alive(pid)}


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False
