"""The scheduling port and its CP-SAT implementation.

`CpSatScheduler.plan` always returns a feasible schedule within the time limit, never
worse (by the weighted objective) than the dispatch plan: a
dispatch-rule plan is built first (in milliseconds) and used as the solution hint and
as the fallback; on a classic job shop a tabu search improves that hint before CP-SAT
starts; CP-SAT then improves on it until the limit.

Determinism: with `deterministic=True` the heuristic runs a fixed number of iterations
and CP-SAT interleaves its workers on one thread with a deterministic-time limit, so the
same problem and seed give the same plan, unless the wall-clock limit cuts in first on a
loaded machine; `wall_limit_s` gives CP-SAT a wall limit of its own, above the time limit,
for callers that need the same plan on any machine more than a plan on time. With
`deterministic=False` (the default, fastest) CP-SAT runs its workers in parallel and the
result can differ between runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from coordinator.plan.errors import PlanError
from coordinator.plan.schedule.dispatch import dispatch
from coordinator.plan.schedule.evaluate import Assignment, build_schedule, violations
from coordinator.plan.schedule.problem import Schedule, SchedulingProblem

__all__ = [
    "CpSatScheduler",
    "DispatchScheduler",
    "SchedulePlanner",
    "cost",
    "is_classic",
    "warm_up",
]

# Wall time kept back for the solver's stopping latency and building the result, in
# seconds plus a share of the limit (CP-SAT overshoots more on a loaded machine).
_MARGIN_S = 0.2
_MARGIN_SHARE = 0.025


class SchedulePlanner(Protocol):
    """Turns a scheduling problem into a feasible schedule within a time limit."""

    def plan(self, problem: SchedulingProblem, *, time_limit_s: float, seed: int = 0) -> Schedule:
        """A feasible schedule for `problem`, found within `time_limit_s` seconds."""
        ...


def is_classic(problem: SchedulingProblem) -> bool:
    """True for a plain job shop: one machine per operation, makespan only, everything
    free from time 0 (the tabu search knows no `now`)."""
    return (
        problem.now == 0
        and problem.frozen_horizon == 0
        and all(len(op.options) == 1 for job in problem.jobs for op in job.operations)
        and all(job.due is None and job.release == 0 for job in problem.jobs)
        and not any(s.duration for s in problem.setups)
        and not any(m.unavailable for m in problem.machines)
        and not problem.pinned
        and problem.previous is None
        and problem.reserve.share == 0
    )


def _assignment(schedule: Schedule) -> Assignment:
    return {r.operation_id: (r.machine_id, r.start) for r in schedule.operations}


@dataclass(frozen=True, slots=True)
class DispatchScheduler:
    """The dispatch rule alone: instant, feasible, not optimised (the in-memory double)."""

    def plan(self, problem: SchedulingProblem, *, time_limit_s: float, seed: int = 0) -> Schedule:
        """A feasible schedule by insertion list scheduling; `seed` is unused."""
        started = time.perf_counter()
        preferred = _assignment(problem.previous) if problem.previous else None
        assignment = dispatch(problem, preferred=preferred)
        return build_schedule(
            problem,
            assignment,
            status="fallback",
            solver="dispatch",
            wall_time_s=time.perf_counter() - started,
        )


@dataclass(frozen=True, slots=True)
class CpSatScheduler:
    """CP-SAT with a heuristic warm start and a dispatch-rule fallback."""

    num_workers: int = 2
    deterministic: bool = False
    local_search_share: float = 0.25  # of the time limit, on classic instances only
    local_search_stall_iterations: int | None = None  # hand over to CP-SAT when stuck
    # Deterministic mode: CP-SAT deterministic seconds granted per second of time limit.
    deterministic_time_per_s: float = 0.5
    # Deterministic mode: the wall-clock limit CP-SAT gets instead of what is left of the
    # time limit (None: what is left). A caller that needs the same plan on a loaded
    # machine sets it well above the time limit, so the deterministic limit ends every
    # search; a plan may then take up to this long.
    wall_limit_s: float | None = None
    # CP-SAT subsolvers left out on classic instances (names as in CP-SAT's log).
    classic_ignore_subsolvers: tuple[str, ...] = ()

    def plan(
        self,
        problem: SchedulingProblem,
        *,
        time_limit_s: float,
        seed: int = 0,
        hint: Schedule | None = None,
    ) -> Schedule:
        """Best schedule found within `time_limit_s`; `hint` (or `problem.previous`) warms it."""
        started = time.perf_counter()
        # The first call imports OR-Tools (seconds on a cold, loaded machine): inside the budget.
        from coordinator.plan.schedule.cpsat import solve_cpsat

        warm = hint or problem.previous
        start_from = dispatch(problem, preferred=_assignment(warm) if warm else None)
        classic = is_classic(problem)
        if classic and self.local_search_share > 0:
            from coordinator.plan.schedule.tabu import improve

            left_s = time_limit_s - (time.perf_counter() - started)
            budget_s = max(0.0, min(time_limit_s * self.local_search_share, left_s / 2))
            start_from = improve(
                problem,
                start_from,
                time_limit_s=budget_s,
                seed=seed,
                max_iterations=int(budget_s * 4000) if self.deterministic else None,
                max_stall_iterations=self.local_search_stall_iterations,
            )
        finishing = time.perf_counter()
        fallback = build_schedule(problem, start_from, status="fallback", solver="dispatch")
        broken = violations(problem, fallback)
        if broken:
            raise PlanError(f"the dispatch rule produced an infeasible plan: {broken[:3]}")
        # Keep back what building and checking the solver's plan will take (same work).
        reserve_s = (
            1.5 * (time.perf_counter() - finishing) + _MARGIN_S + _MARGIN_SHARE * time_limit_s
        )
        remaining = time_limit_s - (time.perf_counter() - started) - reserve_s
        if self.deterministic and self.wall_limit_s is not None:
            remaining = self.wall_limit_s
        elif remaining <= 0.01:
            return _with_time(fallback, started)
        outcome = solve_cpsat(
            problem,
            time_limit_s=remaining,
            seed=seed,
            num_workers=self.num_workers,
            deterministic_time=(
                self.deterministic_time_per_s * time_limit_s if self.deterministic else None
            ),
            hint=start_from,
            ignore_subsolvers=self.classic_ignore_subsolvers if classic else (),
        )
        if outcome.assignment is None:
            return _with_time(fallback, started)
        bound = int(-(-outcome.lower_bound // 1)) if classic and outcome.lower_bound else None
        schedule = build_schedule(
            problem,
            outcome.assignment,
            status="optimal" if outcome.optimal else "feasible",
            solver="cp-sat",
            lower_bound=bound,
        )
        if violations(problem, schedule) or cost(problem, fallback) < cost(problem, schedule):
            return _with_time(fallback, started)
        return _with_time(schedule, started)


def cost(problem: SchedulingProblem, schedule: Schedule) -> int:
    """The weighted objective the planner minimises (see `ScheduleWeights`)."""
    w = problem.weights
    return (
        w.tardiness * schedule.weighted_tardiness
        + w.changeover * schedule.changeover
        + w.makespan * schedule.makespan
        + w.moved_operation * schedule.operations_moved
    )


def warm_up() -> None:
    """Import the solver libraries now, so the first plan's time limit is spent solving.

    Importing OR-Tools takes seconds on a cold, loaded machine; `plan` counts that time
    against its limit. Long-running callers (the coordinator, the CLI) call this once.
    """
    import coordinator.plan.schedule.cpsat  # noqa: F401


def _with_time(schedule: Schedule, started: float) -> Schedule:
    from dataclasses import replace

    return replace(schedule, wall_time_s=time.perf_counter() - started)
