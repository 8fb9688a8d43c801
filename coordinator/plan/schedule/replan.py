"""Pure re-planning steps: move a problem forward in time and apply events to it.

Each function takes an immutable problem and returns a new one; the planner then solves
it with the previous plan as hint and as the reference of the stability term.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from coordinator.plan.schedule.problem import (
    Job,
    Machine,
    Operation,
    OperationOption,
    PinnedOperation,
    Schedule,
    SchedulingProblem,
    Window,
)

__all__ = [
    "Observed",
    "add_jobs",
    "advance",
    "affected_by_downtime",
    "estimate_end",
    "keep_started",
    "machine_down",
    "machine_up",
]


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


@dataclass(frozen=True, slots=True)
class Observed:
    """What a machine reported of an operation it started, in plan units: where and when
    it started, when its counts were last read, units made so far (good or not) of
    `quantity` (None: unknown), and when it was done (None: still running or paused)."""

    operation_id: str
    machine_id: str
    start: int
    last_report: int
    made: int = 0
    quantity: int | None = None
    done_at: int | None = None


def estimate_end(observed: Observed, planned_duration: int, *, now: int, resume: int) -> int:
    """When a started operation will end, from what was observed.

    Done: when it was done. Running with units made: the remaining units at the observed
    cycle time (time since start per unit made), from `resume` (now, or the end of the
    machine's current downtime). Nothing made yet: the planned duration from its start,
    but never before `resume`. A running operation ends at least one unit after `resume`.
    """
    if observed.done_at is not None:
        return max(observed.start, observed.done_at)
    if observed.quantity is not None and observed.made > 0:
        cycle = max(observed.last_report - observed.start, 1) / observed.made
        remaining = max(observed.quantity - observed.made, 0) * cycle
        return resume + max(1, math.ceil(remaining))
    return max(observed.start + planned_duration, resume + 1)


def _subtract(windows: tuple[Window, ...], spans: list[tuple[int, int]]) -> tuple[Window, ...]:
    """`windows` without the parts `spans` cover (an operation paused through a breakdown
    holds its machine for the whole span)."""
    out = list(windows)
    for lo, hi in spans:
        cut: list[Window] = []
        for w in out:
            if w.end <= lo or hi <= w.start:
                cut.append(w)
                continue
            if w.start < lo:
                cut.append(Window(w.start, lo))
            if hi < w.end:
                cut.append(Window(hi, w.end))
        out = cut
    return tuple(out)


def keep_started(
    problem: SchedulingProblem, observed: Iterable[Observed], *, now: int
) -> SchedulingProblem:
    """The problem with the facts of the shop floor; these replace the pins the plan clock
    made, and operations nobody reported are free to move (from `now` on).

    A running operation stays on its machine at its reported start (never moved back in
    time) and lasts until its estimated end (`estimate_end`), so a late one pushes its
    successors; it is pinned even when its job's next operation started before it ended
    (machines do not wait: that start is a fact too). A done operation, and an operation
    nobody reported that lies before a reported one of its job, are behind the job and
    leave the problem; a job with nothing left leaves too. On one machine only the latest
    started of the running operations is running; earlier ones count as done. Reports of
    operations or machines not in the problem are ignored."""
    ops = {op.id: op for job in problem.jobs for op in job.operations}
    machines = {m.id: m for m in problem.machines}
    facts = {
        o.operation_id: o for o in observed if o.operation_id in ops and o.machine_id in machines
    }
    running: dict[str, Observed] = {}  # machine → its running operation
    for fact in facts.values():
        seen = running.get(fact.machine_id)
        if fact.done_at is None and (
            seen is None or (fact.start, fact.operation_id) > (seen.start, seen.operation_id)
        ):
            running[fact.machine_id] = fact
    pins: list[PinnedOperation] = []
    resized: dict[str, Operation] = {}
    spans: dict[str, list[tuple[int, int]]] = {}
    for machine_id, fact in running.items():
        op = ops[fact.operation_id]
        durations = [o.duration for o in op.options if o.machine_id == machine_id]
        planned = durations[0] if durations else min(o.duration for o in op.options)
        resume = now
        for w in machines[machine_id].unavailable:
            if w.start <= now < w.end:
                resume = max(resume, w.end)
        end = estimate_end(fact, planned, now=now, resume=resume)
        resized[op.id] = replace(op, options=(OperationOption(machine_id, end - fact.start),))
        pins.append(PinnedOperation(op.id, machine_id, fact.start))
        spans.setdefault(machine_id, []).append((fact.start, end))
    jobs: list[Job] = []
    for job in problem.jobs:
        reported = [p for p, op in enumerate(job.operations) if op.id in facts]
        last = max(reported, default=-1)
        kept = tuple(
            resized.get(op.id, op)
            for p, op in enumerate(job.operations)
            if p > last or op.id in resized
        )
        if kept:
            jobs.append(replace(job, operations=kept))
    kept_machines = tuple(
        replace(m, unavailable=_subtract(m.unavailable, spans[m.id])) if m.id in spans else m
        for m in problem.machines
    )
    return replace(problem, jobs=tuple(jobs), machines=kept_machines, pinned=tuple(pins))
