"""Turn assignments into a `Schedule`: objective terms, late-job reasons, moves, and checks.

`build_schedule` is what every scheduler calls last, so figures are computed one way.
`violations` is an independent feasibility check used by tests and by the planner as a
last guard before a plan leaves the package.
"""

from __future__ import annotations

from collections.abc import Mapping

from coordinator.plan.schedule.problem import (
    Job,
    LateJob,
    Schedule,
    ScheduledOperation,
    SchedulingProblem,
)
from coordinator.plan.schedule.rules import (
    FixedSlot,
    earliest_start,
    fixed_slots,
    operation_index,
    reserved_blocks,
)

__all__ = ["Assignment", "build_schedule", "moved_operations", "violations"]

Assignment = dict[str, tuple[str, int]]  # operation id -> (machine id, start)


def build_schedule(
    problem: SchedulingProblem,
    assignment: Assignment,
    *,
    status: str,
    solver: str,
    lower_bound: int | None = None,
    wall_time_s: float = 0.0,
) -> Schedule:
    """Assemble a `Schedule` from operation → (machine, start) and compute its figures."""
    index = operation_index(problem)
    families = {m.id: m.initial_family for m in problem.machines}
    rows: list[ScheduledOperation] = []
    for op_id, (machine_id, start) in sorted(
        assignment.items(), key=lambda kv: (kv[1][0], kv[1][1], kv[0])
    ):
        job, _, op = index[op_id]
        duration = next(o.duration for o in op.options if o.machine_id == machine_id)
        setup = 0
        if duration:  # zero-length operations are instantaneous: no changeover
            setup = (
                problem.setup_time(families[machine_id], op.family) if families[machine_id] else 0
            )
            families[machine_id] = op.family
        rows.append(ScheduledOperation(op_id, job.id, machine_id, start, start + duration, setup))
    ends = {r.operation_id: r.end for r in rows}
    makespan = max(ends.values(), default=0)
    late: list[LateJob] = []
    tardiness = 0
    by_op = {r.operation_id: r for r in rows}
    fixed: dict[str, FixedSlot] | None = None  # once for all late jobs (it indexes every op)
    for job in problem.jobs:
        completion = ends[job.operations[-1].id]
        if job.due is not None and completion > job.due:
            tardiness += job.weight * (completion - job.due)
            fixed = fixed_slots(problem) if fixed is None else fixed
            late.append(_late_reason(problem, job, completion, by_op, fixed))
    return Schedule(
        operations=tuple(rows),
        makespan=makespan,
        weighted_tardiness=tardiness,
        changeover=sum(r.setup for r in rows),
        late_jobs=tuple(late),
        status=status,
        solver=solver,
        lower_bound=lower_bound,
        operations_moved=len(moved_operations(problem.previous, rows)) if problem.previous else 0,
        wall_time_s=wall_time_s,
    )


def moved_operations(
    previous: Schedule | None, rows: tuple[ScheduledOperation, ...] | list[ScheduledOperation]
) -> list[str]:
    """Operations present in `previous` whose machine or start differs in `rows`."""
    if previous is None:
        return []
    before = previous.by_operation()
    return [
        r.operation_id
        for r in rows
        if r.operation_id in before
        and (before[r.operation_id].machine_id, before[r.operation_id].start)
        != (r.machine_id, r.start)
    ]


def _late_reason(
    problem: SchedulingProblem,
    job: Job,
    completion: int,
    by_op: dict[str, ScheduledOperation],
    fixed: Mapping[str, FixedSlot],
) -> LateJob:
    """Name the main cause of lateness: the job's own length, downtime, reserve or queueing;
    `fixed` is `fixed_slots(problem)`."""
    due = job.due if job.due is not None else completion
    # Time left for the operations that are still free to move.
    start = earliest_start(problem, job)
    remaining = [op for op in job.operations if op.id not in fixed]
    if len(remaining) < len(job.operations):
        start = max(start, by_op[job.operations[len(job.operations) - len(remaining) - 1].id].end)
    shortest = sum(min(o.duration for o in op.options) for op in remaining)
    if start + shortest > due:
        return LateJob(
            job.id,
            due,
            completion,
            "too_short_window",
            f"earliest start {start} + shortest processing {shortest} > due {due}",
            earliest_start=start,
            processing=shortest,
        )
    # The operation that waited longest after it became ready decides the reason.
    ready = job.release
    worst_wait, worst_row = -1, by_op[job.operations[0].id]
    for op in job.operations:
        row = by_op[op.id]
        if row.start - ready > worst_wait:
            worst_wait, worst_row = row.start - ready, row
        ready = row.end
    wait_from = worst_row.start - worst_wait
    machine = next(m for m in problem.machines if m.id == worst_row.machine_id)
    for window in machine.unavailable:
        if window.start < worst_row.start and wait_from < window.end:
            return LateJob(
                job.id,
                due,
                completion,
                "machine_unavailable",
                f"{machine.id} unavailable [{window.start}, {window.end}) "
                f"delayed {worst_row.operation_id}",
                machine_id=machine.id,
                operation_id=worst_row.operation_id,
                unavailable_from=window.start,
                unavailable_until=window.end,
            )
    if not job.rush and any(
        b.start < worst_row.start and wait_from < b.end for b in reserved_blocks(problem)
    ):
        reason = "reserved_capacity"
        detail = (
            f"capacity on {machine.id} reserved for rush orders delayed {worst_row.operation_id}"
        )
    else:
        reason = "machine_capacity"
        detail = (
            f"{worst_row.operation_id} waited {worst_wait} for {machine.id}, busy with other jobs"
        )
    return LateJob(
        job.id,
        due,
        completion,
        reason,
        detail,
        machine_id=machine.id,
        operation_id=worst_row.operation_id,
        waited=worst_wait,
    )


def violations(problem: SchedulingProblem, schedule: Schedule) -> list[str]:
    """Every constraint the schedule breaks (empty when feasible)."""
    index = operation_index(problem)
    found: list[str] = []
    rows = schedule.by_operation()
    missing = set(index) - set(rows)
    found.extend(f"operation {op_id} not scheduled" for op_id in sorted(missing))
    fixed = fixed_slots(problem)
    for slot_id, slot in fixed.items():
        row = rows.get(slot_id)
        if row and (row.machine_id, row.start) != (slot.machine_id, slot.start):
            found.append(f"fixed operation {slot_id} moved")
    for job in problem.jobs:
        ready = job.release
        for op in job.operations:
            row = rows.get(op.id)
            if row is None:
                break
            if op.id not in fixed:
                ready = max(ready, earliest_start(problem, job))
            started = op.id in fixed and fixed[op.id].pinned  # its start is a fact
            if row.start < ready and not started:
                found.append(f"{op.id} starts at {row.start} before {ready}")
            durations = [o.duration for o in op.options if o.machine_id == row.machine_id]
            if not durations:
                found.append(f"{op.id} runs on {row.machine_id}, not one of its machines")
            elif row.end - row.start != durations[0]:
                found.append(f"{op.id} has the wrong duration")
            ready = row.end
    families = {m.id: m.initial_family for m in problem.machines}
    blocks = reserved_blocks(problem)
    for machine in problem.machines:
        on_machine = sorted(
            (r for r in schedule.operations if r.machine_id == machine.id), key=lambda r: r.start
        )
        last_end, last_family = None, families[machine.id]
        for row in on_machine:
            if row.end == row.start:
                continue  # instantaneous: occupies no machine time
            _, _, op = index[row.operation_id]
            setup = problem.setup_time(last_family, op.family) if last_family else 0
            if last_end is not None and row.start < last_end + setup:
                found.append(f"{row.operation_id} overlaps its predecessor on {machine.id}")
            found.extend(
                f"{row.operation_id} runs during downtime of {machine.id}"
                for w in machine.unavailable
                if row.start < w.end and w.start < row.end
            )
            job = index[row.operation_id][0]
            if not job.rush and row.operation_id not in fixed:
                found.extend(
                    f"{row.operation_id} uses reserved capacity on {machine.id}"
                    for b in blocks
                    if row.start < b.end and b.start < row.end
                )
            last_end, last_family = row.end, op.family
    return found
