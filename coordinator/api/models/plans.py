"""Bodies of the plan routes (`coordinator.api.routes.plans`): the schedule and routes
made, and what they are made with (fleet, changeovers, rush reserve, product recipes).

Plan times are integers in `time_unit_s` seconds since `epoch_s` (the plan epoch, kept
across restarts); routing times and distances are in the same units of driving. Input
times are ms since the Unix epoch.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, Field

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
from protocol.topics import ID_PATTERN, NAME_PATTERN

MAX_RESERVE_SHARE: Final = 0.9
MAX_RESERVE_PERIOD_S: Final = 86_400.0

__all__ = [
    "ChangeoverIn",
    "ChangeoversIn",
    "ChangeoversOut",
    "DeclaredFleetOut",
    "DepotIn",
    "FleetIn",
    "FleetOut",
    "LateJobOut",
    "PlannedOperationOut",
    "ProductIn",
    "ProductOperationIn",
    "ProductOptionIn",
    "ProductsIn",
    "ProductsOut",
    "ReserveIn",
    "ReserveOut",
    "RouteOut",
    "RoutesOut",
    "ScheduleOut",
    "TourOut",
    "TriggerOut",
    "UnservedOut",
    "VehicleIn",
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
    """A job that misses its due time, with what made it late (times in plan units)."""

    job_id: str
    due: int
    completion: int
    reason: str = Field(
        description="too_short_window, machine_unavailable, reserved_capacity or machine_capacity"
    )
    detail: str = Field(description="The reason in a sentence, its figures in plan units")
    machine_id: str | None = Field(
        default=None, description="The machine where it waited (all but too_short_window)"
    )
    operation_id: str | None = Field(default=None, description="The operation that waited")
    earliest_start: int | None = Field(
        default=None, description="too_short_window: the earliest it can start"
    )
    processing: int | None = Field(
        default=None, description="too_short_window: its shortest processing left"
    )
    unavailable_from: int | None = Field(
        default=None, description="machine_unavailable: the window that delayed it"
    )
    unavailable_until: int | None = None
    waited: int | None = Field(
        default=None, description="machine_capacity, reserved_capacity: how long it waited"
    )


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


class TourOut(BaseModel):
    """What a van does under tours (`dispatch_tours`)."""

    vehicle_id: str
    depot_id: str
    capacity: int
    state: Literal["out", "held", "returning", "unloading", "idle"] = Field(
        description="out: on a tour with its stops loaded; held: at its depot, its planned "
        "tour waiting to fill (or for the plan, `waits_for`); returning: its tour done, on its "
        "way back; unloading: back at its depot, waiting for the receipt of the goods it "
        "picked up (`carrying`); idle: nothing planned"
    )
    stops: list[str] = Field(description="out: the stops on board; else the stops planned for it")
    load: int | None = Field(default=None, description="Units on board (out) or planned (held)")
    reason: str | None = Field(
        default=None,
        description='Why it left: "full", "dense" (full, and short enough per stop), "promise" '
        '(waiting would miss one) or "waited" (its oldest stop waited the longest wait); null '
        "when loaded by hand or before a restart",
    )
    departed_ms: int | None = Field(default=None, description="When it left (out)")
    leaves_by_ms: int | None = Field(
        default=None,
        description="Held: the latest it leaves if nothing fills it (its oldest stop's longest "
        "wait, or the latest departure that keeps every promise on it)",
    )
    waits_for: Literal["plan"] | None = Field(
        default=None,
        description="Held, though its tour could leave: it is planned once more first with the "
        "deliveries new at its depot, which may join it",
    )
    carrying: list[str] = Field(
        default_factory=list,
        description="Unloading: the transfers it picked up whose receipt it waits for",
    )


class RoutesOut(BaseModel):
    """The current delivery routes (version 0, no routes before the first plan)."""

    version: int = Field(description="Grows by one with every plan, across restarts")
    made_ms: int | None
    triggers: list[TriggerOut]
    solver: str | None
    total_distance: float
    routes: list[RouteOut]
    unserved: list[UnservedOut]
    tours: list[TourOut] = Field(
        default_factory=list,
        description="What each van does under tours (empty with dispatch_tours off)",
    )


class ProductOptionIn(StrictModel):
    """A machine a product's operation may run on: seconds per unit, setup once per job."""

    machine: str = Field(pattern=ID_PATTERN, description="Machine (edge agent node) id")
    duration_s_per_unit: float = Field(gt=0, le=MAX_DURATION_S)
    setup_s: float = Field(default=0.0, ge=0, le=MAX_DURATION_S)


class ProductOperationIn(StrictModel):
    """One step of making a product; its options name distinct machines (else 422
    `order-rejected`)."""

    options: list[ProductOptionIn] = Field(min_length=1, max_length=64)


class ProductIn(StrictModel):
    """How a SKU is made, the batch bounds of its replenishment jobs, and whether the
    coordinator replenishes it by itself (`auto`) or not (`off`). `max_batch`, when given,
    is not below `min_batch` (else 422 `order-rejected`)."""

    sku: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN)
    family: str = Field(default="", max_length=64)
    operations: list[ProductOperationIn] = Field(min_length=1, max_length=100)
    min_batch: Integer = Field(default=1, ge=1, le=MAX_QUANTITY)
    max_batch: OptionalQuantity = None
    replenish: Literal["auto", "off"]
    max_scrap_share: float | None = Field(
        default=None, ge=0.0, le=1.0, description="scrap share above which a batch alarms"
    )


class ProductsIn(StrictModel):
    """Every product recipe (replaces the previous ones)."""

    products: list[ProductIn] = Field(max_length=1000)


class ProductsOut(BaseModel):
    """The recipes taken: how many, and how many are replenished automatically."""

    products: int
    auto: int


class DepotIn(StrictModel):
    """A micro-warehouse (its node id) as a depot, where it is (`location` in degrees, or
    `x`, `y` in plan units of driving) and its opening times."""

    id: str = Field(pattern=ID_PATTERN)
    x: float = Field(default=0.0, ge=-MAX_COORDINATE, le=MAX_COORDINATE)
    y: float = Field(default=0.0, ge=-MAX_COORDINATE, le=MAX_COORDINATE)
    open_ms: OptionalTimestampMs = None
    close_ms: OptionalTimestampMs = None
    location: LocationIn | None = Field(default=None, description="where it is, if on Earth")


class VehicleIn(StrictModel):
    """A vehicle at a depot: capacity and longest route."""

    id: str = Field(pattern=ID_PATTERN)
    depot_id: str = Field(pattern=ID_PATTERN)
    capacity: Integer = Field(ge=0, le=MAX_QUANTITY)
    max_duration_s: float | None = Field(default=None, gt=0, le=MAX_DURATION_S)


class FleetIn(StrictModel):
    """The whole delivery fleet (replaces the previous one)."""

    depots: list[DepotIn] = Field(min_length=1, max_length=100)
    vehicles: list[VehicleIn] = Field(default_factory=list, max_length=1000)


class ChangeoverIn(StrictModel):
    """Changeover time on any machine when an operation of `to_family` follows one of
    `from_family` (the `family` of job operations)."""

    from_family: str = Field(max_length=64)
    to_family: str = Field(max_length=64)
    duration_s: float = Field(ge=0, le=MAX_DURATION_S)


class ChangeoversIn(StrictModel):
    """Every changeover time (replaces the previous ones; pairs not given cost nothing)."""

    changeovers: list[ChangeoverIn] = Field(max_length=10_000)


class ChangeoversOut(BaseModel):
    """The changeover times taken."""

    changeovers: int = Field(description="How many family pairs have a changeover time")


class ReserveIn(StrictModel):
    """The rush reserve (replaces the previous one): `share` of every machine is kept for
    rush jobs at the end of each period, in the periods starting within `horizon_s` of a
    re-plan. Share 0 removes it."""

    share: float = Field(ge=0, le=MAX_RESERVE_SHARE, allow_inf_nan=False)
    period_s: float = Field(gt=0, le=MAX_RESERVE_PERIOD_S, allow_inf_nan=False)
    horizon_s: float = Field(ge=0, le=MAX_DURATION_S, allow_inf_nan=False)


class ReserveOut(BaseModel):
    """The rush reserve re-plans use, in seconds rounded up to whole plan units."""

    share: float
    period_s: float
    horizon_s: float
    reserved_s: float = Field(
        description="Time kept for rush jobs at the end of each period (0: no reserve)"
    )


class DeclaredFleetOut(BaseModel):
    """The fleet as last declared (no depot before one is)."""

    depots: list[DepotIn]
    vehicles: list[VehicleIn]


class FleetOut(BaseModel):
    """The fleet taken."""

    depots: list[str]
    vehicles: list[str]
