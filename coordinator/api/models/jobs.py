"""Bodies of the job routes (`coordinator.api.routes.jobs`): a job's progress from its
machines' counts."""

from __future__ import annotations

from pydantic import BaseModel

from coordinator.jobs.facts import OperationState
from coordinator.jobs.progress import JobProgress, JobState, OperationProgress


class OperationProgressOut(BaseModel):
    """One operation as its machine reported it: counts so far and when."""

    operation_id: str
    machine: str
    state: OperationState
    good: int
    scrap: int
    started_ms: int
    updated_ms: int
    finished_ms: int | None

    @classmethod
    def of(cls, op: OperationProgress) -> OperationProgressOut:
        """From an operation's progress."""
        return cls(
            operation_id=op.operation_id,
            machine=op.machine,
            state=op.state,
            good=op.good,
            scrap=op.scrap,
            started_ms=op.started_ms,
            updated_ms=op.updated_ms,
            finished_ms=op.finished_ms,
        )


class JobOut(BaseModel):
    """A job followed from its machines' counts: `planned` until a machine reports it,
    `started`, `finished` once the good units of its last operation reach `quantity`,
    `short` when its last operation is done with fewer (a re-make `remake_id` makes up
    the rest). Only good units count; `scrap` is summed over the operations."""

    id: str
    sku: str
    quantity: int | None
    state: JobState
    good: int
    scrap: int
    started_ms: int | None
    finished_ms: int | None
    remake_id: str | None
    operations: list[OperationProgressOut]

    @classmethod
    def of(cls, job: JobProgress, *, remake_id: str | None = None) -> JobOut:
        """From a job's progress."""
        return cls(
            id=job.job.job_id,
            sku=job.job.sku,
            quantity=job.job.quantity,
            state=job.state,
            good=job.good,
            scrap=job.scrap,
            started_ms=job.started_ms,
            finished_ms=job.finished_ms,
            remake_id=remake_id,
            operations=[OperationProgressOut.of(op) for op in job.operations],
        )


class JobListOut(BaseModel):
    """A page of jobs by id; pass `next_after` as `after` for the next page (null: last)."""

    count: int
    jobs: list[JobOut]
    next_after: str | None


__all__ = ["JobListOut", "JobOut", "OperationProgressOut"]
