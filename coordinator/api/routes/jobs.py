"""`/api/v1/jobs`: production jobs as their machines carry them out (viewer).

Thin routes over the `JobTracker` at `request.app.state.jobs` (`coordinator.jobs.tracker`):
one job by id (404 for an id not followed), or the jobs in one state, by id, paged.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from coordinator.api.auth import ViewerDep
from coordinator.api.job_schemas import JobListOut, JobOut
from coordinator.errors import NotFound
from coordinator.jobs.progress import JobState
from coordinator.jobs.tracker import JobTracker
from coordinator.plan.orders.replenishment import MAX_JOB_ID

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])

JOB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,59}$"  # order ids of POST /api/v1/orders


def job_tracker(request: Request) -> JobTracker:
    """The coordinator's job tracker (404 when it runs without one)."""
    tracker: JobTracker | None = getattr(request.app.state, "jobs", None)
    if tracker is None:
        raise NotFound("jobs", "service")
    return tracker


JobsDep = Annotated[JobTracker, Depends(job_tracker)]


@router.get("", summary="Jobs by state", response_model=JobListOut)
def list_jobs(
    jobs: JobsDep,
    _who: ViewerDep,
    state: Annotated[JobState | None, Query(description="only jobs in this state")] = None,
    after: Annotated[
        str, Query(max_length=MAX_JOB_ID, description="ids after this one (paging)")
    ] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JobListOut:
    """Followed jobs by id, optionally in one state (`planned`, `started`, `finished`,
    `short`; 422 for another)."""
    page = jobs.jobs(state=state, limit=limit, after=after)
    return JobListOut(
        count=len(page),
        jobs=[JobOut.of(j, remake_id=jobs.store.remake_of(j.job.job_id)) for j in page],
        next_after=page[-1].job.job_id if len(page) == limit else None,
    )


@router.get("/{job_id}", summary="One job's progress", response_model=JobOut)
def get_job(
    job_id: Annotated[str, Path(pattern=JOB_ID_PATTERN)], jobs: JobsDep, _who: ViewerDep
) -> JobOut:
    """A job's state, good and scrap units, and each operation as its machine reported it
    (404 for a job not followed)."""
    job = jobs.job(job_id)
    if job is None:
        raise NotFound("job", job_id)
    return JobOut.of(job, remake_id=jobs.store.remake_of(job_id))


__all__ = ["router"]
