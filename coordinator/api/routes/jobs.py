"""`/api/v1/jobs`: production jobs as their machines carry them out (viewer).

Thin routes over the `JobTracker` at `request.app.state.jobs` (`coordinator.jobs.tracker`):
one job by id (404 for an id not followed), or the jobs in one state, by id, paged.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from coordinator.api.deps import JobsDep, ViewerDep
from coordinator.api.models.jobs import JobListOut, JobOut
from coordinator.api.models.orders import MAX_JOB_ID_CHARS
from coordinator.api.problems import problem_responses
from coordinator.errors import NotFound
from coordinator.jobs.progress import JobState
from protocol.topics import ID_PATTERN

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])

JobIdPath = Annotated[str, Path(max_length=MAX_JOB_ID_CHARS, pattern=ID_PATTERN)]


@router.get("", summary="Jobs by state", response_model=JobListOut)
def list_jobs(
    jobs: JobsDep,
    _who: ViewerDep,
    state: Annotated[JobState | None, Query(description="only jobs in this state")] = None,
    after: Annotated[
        str, Query(max_length=MAX_JOB_ID_CHARS, description="ids after this one (paging)")
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


@router.get(
    "/{job_id}",
    summary="One job's progress",
    response_model=JobOut,
    responses=problem_responses(404),
)
def get_job(job_id: JobIdPath, jobs: JobsDep, _who: ViewerDep) -> JobOut:
    """A job's state, good and scrap units, and each operation as its machine reported it
    (404 for a job not followed)."""
    job = jobs.job(job_id)
    if job is None:
        raise NotFound("job", job_id)
    return JobOut.of(job, remake_id=jobs.store.remake_of(job_id))


__all__ = ["router"]
