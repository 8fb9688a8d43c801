"""Rules shared by every scheduler: fixed slots, earliest starts, reserved blocks, bounds.

Pure functions of a `SchedulingProblem`, so the CP-SAT model, the dispatch fallback and
the feasibility checker agree on what "feasible" means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from coordinator.plan.errors import ProblemError
from coordinator.plan.schedule.problem import (
    Job,
    Operation,
    SchedulingProblem,
    Window,
)

__all__ = [
    "FixedSlot",
    "earliest_start",
    "fixed_slots",
    "horizon_bound",
    "operation_index",
    "reserved_blocks",
    "uses_setups",
]


@dataclass(frozen=True, slots=True)
class FixedSlot:
    """An operation that may not move: started (pinned) or inside the frozen horizon."""

    machine_id: str
    start: int
    end: int
    pinned: bool


def operation_index(problem: SchedulingProblem) -> Mapping[str, tuple[Job, int, Operation]]:
    """Map operation id to (job, position in job, operation) (built once per problem)."""
    return problem.operations_by_id


def _duration_on(op: Operation, machine_id: str) -> int | None:
    for opt in op.options:
        if opt.machine_id == machine_id:
            return opt.duration
    return None


def _overlaps(start: int, end: int, windows: tuple[Window, ...]) -> bool:
    return any(start < w.end and w.start < end for w in windows)


def fixed_slots(problem: SchedulingProblem) -> dict[str, FixedSlot]:
    """Operations that keep their slot: pinned ones, then frozen ones from `previous`.

    A frozen operation whose slot now overlaps an unavailability window of its machine
    is released (it has to move); a pinned one there is a contradiction and raises.
    """
    index = operation_index(problem)
    windows = {m.id: m.unavailable for m in problem.machines}
    slots: dict[str, FixedSlot] = {}
    for pin in problem.pinned:
        _, _, op = index[pin.operation_id]
        duration = _duration_on(op, pin.machine_id)
        if duration is None:
            raise ProblemError(f"pinned operation {op.id} cannot run on {pin.machine_id}")
        end = pin.start + duration
        if _overlaps(pin.start, end, windows[pin.machine_id]):
            raise ProblemError(f"pinned operation {op.id} overlaps downtime of {pin.machine_id}")
        slots[op.id] = FixedSlot(pin.machine_id, pin.start, end, pinned=True)
    for job in problem.jobs:
        for before, after in zip(job.operations, job.operations[1:], strict=False):
            if after.id in slots and before.id not in slots:
                raise ProblemError(f"pinned operation {after.id} follows unpinned {before.id}")
    if problem.previous is None or problem.frozen_horizon == 0:
        return slots
    frozen_until = problem.now + problem.frozen_horizon
    previous = problem.previous.by_operation()
    for job in problem.jobs:
        for op in job.operations:
            if op.id in slots:
                continue
            prev = previous.get(op.id)
            # Frozen only if it starts inside the frozen horizon, its machine is still
            # free then, and every earlier operation of the job is fixed too.
            if prev is None or not problem.now <= prev.start < frozen_until:
                break
            duration = _duration_on(op, prev.machine_id)
            if duration is None or prev.machine_id not in windows:
                break
            end = prev.start + duration
            if _overlaps(prev.start, end, windows[prev.machine_id]):
                break
            slots[op.id] = FixedSlot(prev.machine_id, prev.start, end, pinned=False)
    return slots


def earliest_start(problem: SchedulingProblem, job: Job) -> int:
    """The earliest time a non-fixed operation of `job` may start."""
    return max(job.release, problem.now + problem.frozen_horizon)


def reserved_blocks(problem: SchedulingProblem) -> list[Window]:
    """The slices of every machine kept free for rush jobs (the same on each machine)."""
    policy = problem.reserve
    if policy.share <= 0.0 or policy.horizon <= 0:
        return []
    length = policy.slice_length
    blocks: list[Window] = []
    period_start = problem.now
    while period_start < problem.now + policy.horizon:
        end = period_start + policy.period
        blocks.append(Window(end - length, end))
        period_start = end
    return blocks


def uses_setups(problem: SchedulingProblem) -> bool:
    """True when some changeover time between families present in the problem is non-zero."""
    families = {op.family for job in problem.jobs for op in job.operations}
    families |= {m.initial_family for m in problem.machines}
    return any(
        s.duration > 0 and s.from_family in families and s.to_family in families
        for s in problem.setups
    )


def horizon_bound(problem: SchedulingProblem) -> int:
    """A time by which every operation can surely have finished (a safe variable bound)."""
    base = problem.now + problem.frozen_horizon
    base = max([base] + [job.release for job in problem.jobs])
    base = max([base] + [w.end for m in problem.machines for w in m.unavailable])
    max_setup = max((s.duration for s in problem.setups), default=0)
    work = sum(
        max(o.duration for o in op.options) + max_setup
        for job in problem.jobs
        for op in job.operations
    )
    if problem.reserve.share > 0:
        work = int(work / (1.0 - problem.reserve.share)) + problem.reserve.period
    fixed_end = max((s.end for s in fixed_slots(problem).values()), default=0)
    return max(base, fixed_end) + work + 1
