"""Bodies of the order routes (`coordinator.api.routes.orders`): production and delivery
orders, closing them, and dispatching deliveries to a vehicle.

Times are ms since the Unix epoch; positions are in plan units of driving.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

from coordinator.api.models.common import (
    MAX_COORDINATE,
    MAX_DURATION_S,
    MAX_QUANTITY,
    Integer,
    LocationIn,
    OptionalQuantity,
    OptionalTimestampMs,
    StrictModel,
)
from coordinator.plan.orders.specs import DeliveryOrder
from protocol.topics import ID_PATTERN, NAME_PATTERN

MAX_JOB_ID_CHARS: Final = 60  # operation ids add ":{index}" to a job id
OrderId = Annotated[str, Field(pattern=ID_PATTERN)]  # job ids match it too (shorter)


class OptionIn(StrictModel):
    """A machine an operation may run on, and how long it takes there."""

    machine: str = Field(pattern=ID_PATTERN, description="Machine (edge agent node) id")
    duration_s: float = Field(gt=0, le=MAX_DURATION_S)


class OperationIn(StrictModel):
    """One step of a job; `family` selects changeover times. Its options name distinct
    machines (else 422 `order-rejected`)."""

    options: list[OptionIn] = Field(min_length=1, max_length=64)
    family: str = Field(default="", max_length=64)


class JobIn(StrictModel):
    """A production order: operations in order; times in ms since the Unix epoch."""

    id: str = Field(max_length=MAX_JOB_ID_CHARS, pattern=ID_PATTERN)
    operations: list[OperationIn] = Field(min_length=1, max_length=100)
    due_ms: OptionalTimestampMs = None
    release_ms: OptionalTimestampMs = None
    weight: Integer = Field(default=1, ge=0, le=1000)
    rush: bool = False
    quantity: OptionalQuantity = Field(default=None, description="good units that finish the job")
    sku: str | None = Field(
        default=None, max_length=64, pattern=NAME_PATTERN, description="what the job makes"
    )


class DeliveryIn(StrictModel):
    """A delivery order: position (`location` in degrees; or `x`, `y` in plan units of
    driving, as the solver benchmarks use), load, service window (ms since the Unix epoch)
    and service time; `promised_ms`, when service should start to keep a customer's promise
    (a held tour leaves in time for it; unlike `due_ms`, routes may still take it later)."""

    id: str = Field(pattern=ID_PATTERN)
    x: float = Field(default=0.0, ge=-MAX_COORDINATE, le=MAX_COORDINATE)
    y: float = Field(default=0.0, ge=-MAX_COORDINATE, le=MAX_COORDINATE)
    demand: Integer = Field(ge=0, le=MAX_QUANTITY)
    ready_ms: OptionalTimestampMs = None
    due_ms: OptionalTimestampMs = None
    service_s: float = Field(default=0.0, ge=0, le=MAX_DURATION_S)
    location: LocationIn | None = Field(default=None, description="where it is, if on Earth")
    promised_ms: OptionalTimestampMs = None

    @classmethod
    def of(cls, order: DeliveryOrder) -> DeliveryIn:
        """The body of a held delivery."""
        location = None
        if order.lat is not None and order.lon is not None:
            location = LocationIn(lat=order.lat, lon=order.lon)
        return cls(
            id=order.id,
            x=order.x,
            y=order.y,
            demand=order.demand,
            ready_ms=order.ready_ms,
            due_ms=order.due_ms,
            service_s=order.service_s,
            location=location,
            promised_ms=order.promised_ms,
        )

    def order(self) -> DeliveryOrder:
        """The delivery order this body asks for."""
        return DeliveryOrder(
            id=self.id,
            x=self.x,
            y=self.y,
            demand=self.demand,
            ready_ms=self.ready_ms,
            due_ms=self.due_ms,
            service_s=self.service_s,
            lat=self.location.lat if self.location else None,
            lon=self.location.lon if self.location else None,
            promised_ms=self.promised_ms,
        )


def _one_of_either(first: str, second: str) -> dict[str, Any]:
    """JSON Schema: at least one item in `first` or in `second`."""
    return {
        "anyOf": [
            {"required": [name], "properties": {name: {"minItems": 1}}} for name in (first, second)
        ]
    }


class OrdersIn(StrictModel):
    """A batch of production orders and delivery orders, at least one of either. An order
    whose id is held already replaces it, or is left alone if it is the same."""

    model_config = ConfigDict(json_schema_extra=_one_of_either("jobs", "deliveries"))

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
    """Held orders to forget (at least one): jobs done or cancelled, deliveries delivered
    or cancelled."""

    model_config = ConfigDict(json_schema_extra=_one_of_either("jobs", "deliveries"))

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
