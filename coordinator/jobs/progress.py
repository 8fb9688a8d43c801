"""Job progress from the machines' reports (pure: values in, values out).

An operation's progress folds its reports: counts only grow (a replayed or late report
never lowers them), the first report says when it started, `done` is final. A job is
`finished` when the good units of its last operation reach its quantity (a job without
a quantity: when its last operation is done), `short` when its last operation is done
with fewer good units, `started` once any operation reported, `planned` before. Only good
units count; scrap is summed over the operations. The plan clock plays no part.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final, Literal

from coordinator.jobs.facts import OperationReport, OperationState

JobState = Literal["planned", "started", "finished", "short"]
JOB_STATES: Final = ("planned", "started", "finished", "short")


def operation_id(job_id: str, index: int) -> str:
    """The id of a job's operation at `index` (0-based), as plans and machines name it."""
    return f"{job_id}:{index}"


def operation_index(op_id: str) -> int:
    """The position of an operation in its job, read from its id (-1 if it has none)."""
    _, _, tail = op_id.rpartition(":")
    return int(tail) if tail.isdigit() else -1


@dataclass(frozen=True, slots=True)
class OperationProgress:
    """One operation as its machine reported it, counts so far."""

    operation_id: str
    job_id: str
    machine: str
    state: OperationState
    good: int
    scrap: int
    started_ms: int
    updated_ms: int
    finished_ms: int | None = None

    @property
    def made(self) -> int:
        """Units made so far, good or not."""
        return self.good + self.scrap


def advance_operation(
    current: OperationProgress | None, report: OperationReport
) -> OperationProgress:
    """`current` with one more report taken into account (in any order, any number of times)."""
    done_ms = report.ts_ms if report.state == "done" else None
    if current is None:
        return OperationProgress(
            operation_id=report.operation_id,
            job_id=report.job_id,
            machine=report.node,
            state=report.state,
            good=report.good,
            scrap=report.scrap,
            started_ms=report.ts_ms,
            updated_ms=report.ts_ms,
            finished_ms=done_ms,
        )
    newer = report.ts_ms >= current.updated_ms
    if current.state == "done" or report.state == "done":
        state: OperationState = "done"
    else:
        state = report.state if newer else current.state
    finished = current.finished_ms
    if done_ms is not None:
        finished = done_ms if finished is None else min(finished, done_ms)
    return replace(
        current,
        machine=report.node if newer else current.machine,
        state=state,
        good=max(current.good, report.good),
        scrap=max(current.scrap, report.scrap),
        started_ms=min(current.started_ms, report.ts_ms),
        updated_ms=max(current.updated_ms, report.ts_ms),
        finished_ms=finished,
    )


@dataclass(frozen=True, slots=True)
class TrackedJob:
    """A job the coordinator follows: units to make (None: unknown), its SKU, how many
    operations it has, and when tracking began."""

    job_id: str
    quantity: int | None
    operations: int
    sku: str = ""
    tracked_ms: int = 0

    def __post_init__(self) -> None:
        if self.operations < 1:
            raise ValueError(f"job {self.job_id}: at least one operation")
        if self.quantity is not None and self.quantity < 1:
            raise ValueError(f"job {self.job_id}: quantity must be positive")


@dataclass(frozen=True, slots=True)
class JobProgress:
    """Where a job stands, from its operations' reports."""

    job: TrackedJob
    state: JobState
    good: int
    scrap: int
    started_ms: int | None
    finished_ms: int | None
    operations: tuple[OperationProgress, ...]

    @property
    def shortfall(self) -> int:
        """Good units still missing once the job's last operation is done (else 0)."""
        if self.state != "short" or self.job.quantity is None:
            return 0
        return self.job.quantity - self.good


def job_progress(job: TrackedJob, operations: Iterable[OperationProgress]) -> JobProgress:
    """The job's state and counts from the progress of its operations (others are ignored)."""
    mine = sorted(
        (o for o in operations if o.job_id == job.job_id),
        key=lambda o: operation_index(o.operation_id),
    )
    last_id = operation_id(job.job_id, job.operations - 1)
    last = next((o for o in mine if o.operation_id == last_id), None)
    good = last.good if last is not None else 0
    scrap = sum(o.scrap for o in mine)
    state: JobState = "planned"
    finished_ms: int | None = None
    if last is not None and job.quantity is not None and good >= job.quantity:
        state = "finished"
        finished_ms = last.finished_ms if last.finished_ms is not None else last.updated_ms
    elif last is not None and last.state == "done":
        state = "finished" if job.quantity is None else "short"
        finished_ms = last.finished_ms
    elif mine:
        state = "started"
    return JobProgress(
        job=job,
        state=state,
        good=good,
        scrap=scrap,
        started_ms=min((o.started_ms for o in mine), default=None),
        finished_ms=finished_ms,
        operations=tuple(mine),
    )


__all__ = [
    "JOB_STATES",
    "JobProgress",
    "JobState",
    "OperationProgress",
    "TrackedJob",
    "advance_operation",
    "job_progress",
    "operation_id",
    "operation_index",
]
