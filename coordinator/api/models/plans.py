"""Response bodies of the plan and order routes (`coordinator.api.routes.plans`).

Plan times are integers in `time_unit_s` seconds since `epoch_s` (the plan epoch, kept
across restarts); routing times and distances are in the same units of driving.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "LateJobOut",
    "PlannedOperationOut",
    "RouteOut",
    "RoutesOut",
    "ScheduleOut",
    "TriggerOut",
    "UnservedOut",
]


class TriggerOut(BaseModel):
    """What caused a re-plan: its kind and subject (a machine, a job, "batch", ...)."""

    kind: str = Field(
        description="machine_down, machine_up, rush_order, new_orders, stockout_risk "
        "or routing_orders"
    )
    key: str


class PlannedOperationOut(BaseModel):
    """One operation on a machine (plan units since `epoch_s`)."""

    operation_id: str = Field(description='"{job_id}:{index}"')
    job_id: str
    start: int
    end: int
    setup: int = Field(description="Changeover time before it")


class LateJobOut(BaseModel):
    """A job that misses its due time, with what made it late."""

    job_id: str
    due: int
    completion: int
    reason: str = Field(
        description="too_short_window, machine_unavailable, reserved_capacity or machine_capacity"
    )
    detail: str


class ScheduleOut(BaseModel):
    """The current production schedule (version 0, nothing planned before the first)."""

    version: int = Field(description="Grows by one with every plan, across restarts")
    made_ms: int | None = Field(description="When it was made (ms since the Unix epoch)")
    triggers: list[TriggerOut]
    time_unit_s: float
    epoch_s: float = Field(description="Unix time (s) from which plan units count")
    now: int = Field(description="The current time in plan units")
    status: str | None = Field(description='"optimal", "feasible" or "fallback"')
    solver: str | None
    makespan: int | None = None
    weighted_tardiness: int | None = None
    changeover: int | None = None
    operations_moved: int | None = Field(
        default=None, description="Operations of the previous plan this one moved"
    )
    machines: dict[str, list[PlannedOperationOut]] = Field(
        description="Operations per machine (edge agent node id), in start order"
    )
    late_jobs: list[LateJobOut]


class RouteOut(BaseModel):
    """One vehicle's route from its depot."""

    vehicle_id: str
    depot_id: str
    stops: list[str] = Field(description="Delivery order ids in visiting order")
    distance: float
    start: float
    end: float
    load: int


class UnservedOut(BaseModel):
    """A delivery no route serves, and the limit that blocks it."""

    order_id: str
    reason: str = Field(description='"capacity", "time_window", "route_length" or "fleet"')
    detail: str


class RoutesOut(BaseModel):
    """The current delivery routes (version 0, no routes before the first plan)."""

    version: int = Field(description="Grows by one with every plan, across restarts")
    made_ms: int | None
    triggers: list[TriggerOut]
    solver: str | None
    total_distance: float
    routes: list[RouteOut]
    unserved: list[UnservedOut]
