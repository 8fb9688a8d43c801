"""Bodies of the order routes (`coordinator.api.routes.orders`): production and delivery
orders, closing them, and dispatching deliveries to a vehicle.

Times are ms since the Unix epoch; positions are in plan units of driving.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BaseModel, Field, model_validator

from coordinator.api.models.common import (
    MAX_COORDINATE,
    MAX_DURATION_S,
    MAX_QUANTITY,
    StrictModel,
)
from protocol.messages import MAX_TS_MS, MIN_TS_MS
from protocol.topics import ID_PATTERN, NAME_PATTERN

MAX_JOB_ID_CHARS: Final = 60  # operation ids add ":{index}" to a job id
OrderId = Annotated[str, Field(pattern=ID_PATTERN)]  # job ids match it too (shorter)


class OptionIn(StrictModel):
    """A machine an operation may run on, and how long it takes there."""

    machine: str = Field(pattern=ID_PATTERN, description="Machine (edge agent node) id")
    duration_s: float = Field(gt=0, le=MAX_DURATION_S)


class OperationIn(StrictModel):
    """One step of a job; `family` selects changeover times."""

    options: list[OptionIn] = Field(min_length=1, max_length=64)
    family: str = Field(default="", max_length=64)

    @model_validator(mode="after")
    def _distinct_machines(self) -> OperationIn:
        machines = [o.machine for o in self.options]
        if len(set(machines)) != len(machines):
            raise ValueError("an operation names the same machine twice")
        return self


class JobIn(StrictModel):
    """A production order: operations in order; times in ms since the Unix epoch."""

    id: str = Field(max_length=MAX_JOB_ID_CHARS, pattern=ID_PATTERN)
    operations: list[OperationIn] = Field(min_length=1, max_length=100)
    due_ms: int | None = Field(default=None, ge=MIN_TS_MS, le=MAX_TS_MS)
    release_ms: int | None = Field(default=None, ge=MIN_TS_MS, le=MAX_TS_MS)
    weight: int = Field(default=1, ge=0, le=1000)
    rush: bool = False
    quantity: int | None = Field(
        default=None, ge=1, le=MAX_QUANTITY, description="good units that finish the job"
    )
    sku: str | None = Field(
        default=None, max_length=64, pattern=NAME_PATTERN, description="what the job makes"
    )


class DeliveryIn(StrictModel):
    """A delivery order: position (in plan units of driving), load, service window (ms
    since the Unix epoch) and service time."""

    id: str = Field(pattern=ID_PATTERN)
    x: float = Field(ge=-MAX_COORDINATE, le=MAX_COORDINATE)
    y: float = Field(ge=-MAX_COORDINATE, le=MAX_COORDINATE)
    demand: int = Field(ge=0, le=MAX_QUANTITY)
    ready_ms: int | None = Field(default=None, ge=MIN_TS_MS, le=MAX_TS_MS)
    due_ms: int | None = Field(default=None, ge=MIN_TS_MS, le=MAX_TS_MS)
    service_s: float = Field(default=0.0, ge=0, le=MAX_DURATION_S)


class OrdersIn(StrictModel):
    """A batch of production orders and delivery orders, at least one of either. An order
    whose id is held already replaces it, or is left alone if it is the same."""

    jobs: list[JobIn] = Field(default_factory=list, max_length=1000)
    deliveries: list[DeliveryIn] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _not_empty(self) -> OrdersIn:
        if not self.jobs and not self.deliveries:
            raise ValueError("send at least one job or delivery")
        return self


class OrdersAccepted(BaseModel):
    """The ids taken (stored durably); the re-plan follows (at once for a rush order)."""

    accepted: list[str] = Field(description="Job ids of the batch")
    deliveries: list[str] = Field(description="Delivery ids of the batch")
    rush: int
    unchanged: list[str] = Field(
        description="Job ids already held with the same content (left alone, no re-plan)"
    )
    unchanged_deliveries: list[str] = Field(
        description="Delivery ids already held with the same content"
    )


class CloseIn(StrictModel):
    """Held orders to forget: jobs done or cancelled, deliveries delivered or cancelled."""

    jobs: list[OrderId] = Field(default_factory=list, max_length=1000)
    deliveries: list[OrderId] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _not_empty(self) -> CloseIn:
        if not self.jobs and not self.deliveries:
            raise ValueError("name at least one job or delivery")
        return self


class OrdersClosedOut(BaseModel):
    """The ids forgotten (durably), and those that were not held (closed before, finished,
    or never sent); the plans they were in are made again."""

    jobs: list[str]
    deliveries: list[str]
    unknown_jobs: list[str]
    unknown_deliveries: list[str]


class DispatchIn(StrictModel):
    """Held deliveries loaded on a vehicle, in the order it will serve them."""

    vehicle_id: str = Field(pattern=ID_PATTERN)
    deliveries: list[OrderId] = Field(min_length=1, max_length=1000)


class DispatchedOut(BaseModel):
    """The deliveries now pinned to the vehicle (durably), and the ids that were not held."""

    vehicle_id: str
    deliveries: list[str]
    unknown: list[str]


class ReplenishmentOut(BaseModel):
    """What a replenishment job makes, for which shelf, the transfer that carries it there
    and how much of it arrived (the job closes on that transfer's receipt)."""

    sku: str
    location: str = Field(description="site/node of the micro-warehouse")
    quantity: int
    stock_at_submit: int = Field(description="The shelf's stock when the job was made")
    transfer_id: str = Field(description="The transfer whose receipt closes the job")
    received: int = Field(description="Units received against the transfer")
    submitted_ms: int


class JobOut(JobIn):
    """A held production job; `replenishment` is set on the jobs the coordinator made for
    a shelf running low (ids `replenish-...`)."""

    replenishment: ReplenishmentOut | None = None


class OrdersOut(BaseModel):
    """The held orders as accepted, in order of first acceptance (a job leaves once its
    last operation has ended)."""

    jobs: list[JobOut]
    deliveries: list[DeliveryIn]


__all__ = [
    "MAX_JOB_ID_CHARS",
    "CloseIn",
    "DeliveryIn",
    "DispatchIn",
    "DispatchedOut",
    "JobIn",
    "JobOut",
    "OperationIn",
    "OptionIn",
    "OrdersAccepted",
    "OrdersClosedOut",
    "OrdersIn",
    "OrdersOut",
    "ReplenishmentOut",
]
