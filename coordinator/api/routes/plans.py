"""`/api/v1/plans`: the current production schedule and delivery routes (viewer), and
`/api/v1/orders`: production orders for the planner (operator).

Thin routes over the `PlanRunner` at `request.app.state.plans` (`coordinator.plan.wiring`).
Before the first plan both plan routes answer 200 with version 0, `made_ms` null and no
machines' operations / no routes: "no plan yet" is a valid state, not a missing resource.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from coordinator.api.auth import OperatorDep, ViewerDep
from coordinator.errors import CoordinatorError
from coordinator.plan.wiring import JobOrder, OperationOrder, PlanRunner
from protocol.messages import MAX_TS_MS, MIN_TS_MS
from protocol.topics import ID_PATTERN

router = APIRouter(tags=["plans"])

JOB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,59}$"  # operation ids add ":{index}"
MAX_DURATION_S = 30 * 86_400.0


class PlanningUnavailable(CoordinatorError):
    """This coordinator runs without the planner."""

    http_status = 503


def plan_runner(request: Request) -> PlanRunner:
    """The coordinator's planner (503 when it has none)."""
    runner: PlanRunner | None = getattr(request.app.state, "plans", None)
    if runner is None:
        raise PlanningUnavailable("planning is not running on this coordinator")
    return runner


PlansDep = Annotated[PlanRunner, Depends(plan_runner)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class OptionIn(_Strict):
    """A machine an operation may run on, and how long it takes there."""

    machine: str = Field(pattern=ID_PATTERN, description="Machine (edge agent node) id")
    duration_s: float = Field(gt=0, le=MAX_DURATION_S)


class OperationIn(_Strict):
    """One step of a job; `family` selects changeover times."""

    options: list[OptionIn] = Field(min_length=1, max_length=64)
    family: str = Field(default="", max_length=64)

    @model_validator(mode="after")
    def _distinct_machines(self) -> OperationIn:
        machines = [o.machine for o in self.options]
        if len(set(machines)) != len(machines):
            raise ValueError("an operation names the same machine twice")
        return self


class JobIn(_Strict):
    """A production order: operations in order; times in ms since the Unix epoch."""

    id: str = Field(pattern=JOB_ID_PATTERN)
    operations: list[OperationIn] = Field(min_length=1, max_length=100)
    due_ms: int | None = Field(default=None, ge=MIN_TS_MS, le=MAX_TS_MS)
    release_ms: int | None = Field(default=None, ge=MIN_TS_MS, le=MAX_TS_MS)
    weight: int = Field(default=1, ge=0, le=1000)
    rush: bool = False


class OrdersIn(_Strict):
    """A batch of production orders (a job with a known id replaces it)."""

    jobs: list[JobIn] = Field(min_length=1, max_length=1000)


class OrdersAccepted(BaseModel):
    """The job ids taken; the re-plan follows (at once for a rush order)."""

    accepted: list[str]
    rush: int


@router.post(
    "/api/v1/orders",
    summary="Submit production orders",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OrdersAccepted,
)
def submit_orders(body: OrdersIn, plans: PlansDep, _who: OperatorDep) -> OrdersAccepted:
    """Add production orders to the planner; 422 for malformed orders or unknown machines."""
    orders = [
        JobOrder(
            id=job.id,
            operations=tuple(
                OperationOrder({o.machine: o.duration_s for o in op.options}, family=op.family)
                for op in job.operations
            ),
            due_ms=job.due_ms,
            release_ms=job.release_ms,
            weight=job.weight,
            rush=job.rush,
        )
        for job in body.jobs
    ]
    accepted = plans.submit_orders(orders)
    return OrdersAccepted(accepted=accepted, rush=sum(job.rush for job in body.jobs))


@router.get("/api/v1/plans/schedule", summary="Current production schedule")
def current_schedule(plans: PlansDep, _who: ViewerDep) -> dict[str, Any]:
    """The current schedule: `version`, `made_ms`, the `triggers` that caused it, solver
    `status` ("optimal", "feasible" or "fallback"), operations per machine (times in
    `time_unit_s` units since `epoch_s`), and every late job with its `reason`."""
    return plans.schedule()


@router.get("/api/v1/plans/routes", summary="Current delivery routes")
def current_routes(plans: PlansDep, _who: ViewerDep) -> dict[str, Any]:
    """The current routes: `version`, `made_ms`, `triggers`, each vehicle's stops, and
    every unserved order with the `reason` that blocks it."""
    return plans.routes()


__all__ = ["router"]
