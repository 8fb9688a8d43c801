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
    """The problem with the facts of the shop floor: each started operation stays on its
    machine at its reported start (never moved back in time) and lasts until its
    estimated end (`estimate_end`), so a late one pushes its successors; operations
    nobody reported are free to move (from `now` on). These pins replace the ones the
    plan clock made. An earlier operation of a job whose later one started counts as done
    at that start. Reports of operations or machines not in the problem are ignored."""
    ops = {op.id: (job, pos, op) for job in problem.jobs for pos, op in enumerate(job.operations)}
    machines = {m.id: m for m in problem.machines}
    facts = {
        o.operation_id: o for o in observed if o.operation_id in ops and o.machine_id in machines
    }
    new_ops: dict[str, Operation] = {}
    pins: dict[str, PinnedOperation] = {}
    spans: dict[str, list[tuple[int, int]]] = {}
    for fact in sorted(facts.values(), key=lambda f: (f.start, f.operation_id)):
        _, _, op = ops[fact.operation_id]
        durations = [o.duration for o in op.options if o.machine_id == fact.machine_id]
        planned = durations[0] if durations else min(o.duration for o in op.options)
        resume = now
        for w in machines[fact.machine_id].unavailable:
            if w.start <= now < w.end:
                resume = max(resume, w.end)
        end = estimate_end(fact, planned, now=now, resume=resume)
        new_ops[op.id] = replace(op, options=(OperationOption(fact.machine_id, end - fact.start),))
        pins[op.id] = PinnedOperation(op.id, fact.machine_id, fact.start)
        spans.setdefault(fact.machine_id, []).append((fact.start, end))
    for job in problem.jobs:  # earlier operations of a started one: done at its start
        last = max((p for p, op in enumerate(job.operations) if op.id in pins), default=0)
        for op in job.operations[:last]:
            if op.id not in pins:
                at = pins[job.operations[last].id].start
                machine = op.options[0].machine_id
                new_ops[op.id] = replace(op, options=(OperationOption(machine, 0),))
                pins[op.id] = PinnedOperation(op.id, machine, at)
    jobs = tuple(
        replace(job, operations=tuple(new_ops.get(op.id, op) for op in job.operations))
        for job in problem.jobs
    )
    kept_machines = tuple(
        replace(m, unavailable=_subtract(m.unavailable, spans[m.id])) if m.id in spans else m
        for m in problem.machines
    )
    return replace(problem, jobs=jobs, machines=kept_machines, pinned=tuple(pins.values()))
