"""Pure re-planning steps: move a problem forward in time and apply events to it.

Each function takes an immutable problem and returns a new one; the planner then solves
it with the previous plan as hint and as the reference of the stability term.
"""

from __future__ import annotations

from dataclasses import replace

from coordinator.plan.schedule.problem import (
    Job,
    Machine,
    PinnedOperation,
    Schedule,
    SchedulingProblem,
    Window,
)

__all__ = ["add_jobs", "advance", "affected_by_downtime", "machine_down", "machine_up"]


def advance(
    problem: SchedulingProblem, previous: Schedule, *, now: int, frozen_horizon: int = 0
) -> SchedulingProblem:
    """The problem at time `now`: operations `previous` started before `now` are pinned."""
    pins = {p.operation_id: p for p in problem.pinned}
    for row in previous.operations:
        if row.start < now and row.operation_id not in pins:
            pins[row.operation_id] = PinnedOperation(row.operation_id, row.machine_id, row.start)
    return replace(
        problem,
        now=now,
        frozen_horizon=frozen_horizon,
        previous=previous,
        pinned=tuple(pins.values()),
    )


def machine_down(problem: SchedulingProblem, machine_id: str, window: Window) -> SchedulingProblem:
    """Add a downtime window; an operation pinned across it restarts (is unpinned)."""
    machines = tuple(
        replace(m, unavailable=(*m.unavailable, window)) if m.id == machine_id else m
        for m in problem.machines
    )
    durations = {
        (op.id, o.machine_id): o.duration
        for job in problem.jobs
        for op in job.operations
        for o in op.options
    }
    kept = tuple(
        p
        for p in problem.pinned
        if p.machine_id != machine_id
        or p.start + durations[(p.operation_id, p.machine_id)] <= window.start
        or p.start >= window.end
    )
    return replace(problem, machines=machines, pinned=kept)


def machine_up(problem: SchedulingProblem, machine_id: str, *, at: int) -> SchedulingProblem:
    """End every downtime window of `machine_id` at `at` (windows starting later are dropped)."""

    def trimmed(m: Machine) -> Machine:
        windows = tuple(
            Window(w.start, min(w.end, at)) if w.start < at else w
            for w in m.unavailable
            if w.start < at
        )
        return replace(m, unavailable=windows)

    return replace(
        problem,
        machines=tuple(trimmed(m) if m.id == machine_id else m for m in problem.machines),
    )


def add_jobs(problem: SchedulingProblem, jobs: tuple[Job, ...]) -> SchedulingProblem:
    """Add new jobs (rush orders or a batch of orders); a job with a known id is replaced."""
    new_ids = {job.id for job in jobs}
    kept = tuple(job for job in problem.jobs if job.id not in new_ids)
    return replace(problem, jobs=kept + jobs)


def affected_by_downtime(previous: Schedule, machine_id: str, *, now: int) -> set[str]:
    """Operations a machine going down at `now` directly disturbs: those planned on it
    that end after `now`, and every later operation of their jobs."""
    hit_jobs: dict[str, int] = {}
    for row in previous.operations:
        if row.machine_id == machine_id and row.end > now:
            hit_jobs[row.job_id] = min(hit_jobs.get(row.job_id, row.start), row.start)
    return {
        row.operation_id
        for row in previous.operations
        if row.job_id in hit_jobs and row.start >= hit_jobs[row.job_id]
    }
