"""Operations a machine should have started and did not report (pure).

An operation is overdue when its planned start lies more than `grace_ms` in the past, its
machine has reported nothing of it, and it could start: it is its job's first operation
or the one before it is done. Such a job is not being executed: the tracker raises an
alarm until the machine reports the start (or the plan moves the operation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from coordinator.jobs.progress import OperationProgress, operation_id, operation_index


@dataclass(frozen=True, slots=True)
class PlannedStart:
    """An operation of the current schedule: where and when (ms) it should start."""

    operation_id: str
    job_id: str
    machine_id: str
    start_ms: int


@dataclass(frozen=True, slots=True)
class Overdue:
    """A planned start the machine never reported."""

    operation_id: str
    job_id: str
    machine_id: str
    planned_start_ms: int
    late_ms: int


def overdue_starts(
    planned: Iterable[PlannedStart],
    progress: Mapping[str, OperationProgress],
    *,
    now_ms: int,
    grace_ms: int,
) -> list[Overdue]:
    """The planned operations overdue at `now_ms` (see the module), by planned start."""
    out: list[Overdue] = []
    for item in planned:
        if item.operation_id in progress or item.start_ms + grace_ms >= now_ms:
            continue
        index = operation_index(item.operation_id)
        if index > 0:
            before = progress.get(operation_id(item.job_id, index - 1))
            if before is None or before.state != "done":
                continue
        out.append(
            Overdue(
                operation_id=item.operation_id,
                job_id=item.job_id,
                machine_id=item.machine_id,
                planned_start_ms=item.start_ms,
                late_ms=now_ms - item.start_ms,
            )
        )
    return sorted(out, key=lambda o: (o.planned_start_ms, o.operation_id))


__all__ = ["Overdue", "PlannedStart", "overdue_starts"]
