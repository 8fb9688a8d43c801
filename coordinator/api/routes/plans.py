"""`/api/v1/plans`: the current production schedule and delivery routes (viewer), the
delivery fleet, changeover times, rush reserve and product recipes (operator; the reserve
and the recipes readable by a viewer), and `/api/v1/orders`: production and delivery
orders (operator; replenishment jobs the coordinator made are marked `replenishment`).

Thin routes over the `PlanRunner` at `request.app.state.plans` (`coordinator.plan.runner`).
Before the first plan both plan routes answer 200 with version 0, `made_ms` null and no
machines' operations / no routes: "no plan yet" is a valid state, not a missing resource.
Orders are durable when `POST /api/v1/orders` answers; posting an order id again is
idempotent: the same content is left alone (listed in `unchanged`), other content
replaces the held order. `POST /api/v1/orders/close` forgets held orders (done, delivered
or cancelled) and re-plans without them; `POST /api/v1/orders/dispatch` pins deliveries
loaded on a vehicle to it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from coordinator.api.auth import OperatorDep, ViewerDep
from coordinator.api.plan_schemas import RoutesOut, ScheduleOut
from coordinator.errors import CoordinatorError
from coordinator.plan.orders.specs import (
    ChangeoverSpec,
    DeliveryOrder,
    DepotSpec,
    JobOrder,
    OperationOrder,
    ProductSpec,
    ReserveSpec,
    StepOption,
    VehicleSpec,
)
from coordinator.plan.runner import PlanRunner
from protocol.messages import MAX_TS_MS, MIN_TS_MS
from protocol.topics import ID_PATTERN

router = APIRouter(tags=["plans"])

JOB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,59}$"  # operation ids add ":{index}"
OrderId = Annotated[str, Field(pattern=ID_PATTERN)]  # job ids match it too (shorter)
MAX_DURATION_S = 30 * 86_400.0
MAX_COORDINATE = 1e6
MAX_QUANTITY = 10**9
MAX_RESERVE_SHARE = 0.9
MAX_RESERVE_PERIOD_S = 86_400.0
SKU_PATTERN = r"^[A-Za-z0-9_.:\-]+$"  # stock item names (protocol.messages)


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


class DeliveryIn(_Strict):
    """A delivery order: position (in plan units of driving), load, service window (ms
    since the Unix epoch) and service time."""

    id: str = Field(pattern=ID_PATTERN)
    x: float = Field(ge=-MAX_COORDINATE, le=MAX_COORDINATE)
    y: float = Field(ge=-MAX_COORDINATE, le=MAX_COORDINATE)
    demand: int = Field(ge=0, le=MAX_QUANTITY)
    ready_ms: int | None = Field(default=None, ge=MIN_TS_MS, le=MAX_TS_MS)
    due_ms: int | None = Field(default=None, ge=MIN_TS_MS, le=MAX_TS_MS)
    service_s: float = Field(default=0.0, ge=0, le=MAX_DURATION_S)


class OrdersIn(_Strict):
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


class CloseIn(_Strict):
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


class DispatchIn(_Strict):
    """Held deliveries loaded on a vehicle, in the order it will serve them."""

    vehicle_id: str = Field(pattern=ID_PATTERN)
    deliveries: list[OrderId] = Field(min_length=1, max_length=1000)


class DispatchedOut(BaseModel):
    """The deliveries now pinned to the vehicle (durably), and the ids that were not held."""

    vehicle_id: str
    deliveries: list[str]
    unknown: list[str]


class ReplenishmentOut(BaseModel):
    """What a replenishment job makes, for which shelf, and how much of it arrived."""

    sku: str
    location: str = Field(description="site/node of the micro-warehouse")
    quantity: int
    stock_at_submit: int = Field(description="The shelf's stock when the job was made")
    received: int = Field(description="Units received at the shelf since")
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


class ProductOptionIn(_Strict):
    """A machine a product's operation may run on: seconds per unit, setup once per job."""

    machine: str = Field(pattern=ID_PATTERN, description="Machine (edge agent node) id")
    duration_s_per_unit: float = Field(gt=0, le=MAX_DURATION_S)
    setup_s: float = Field(default=0.0, ge=0, le=MAX_DURATION_S)


class ProductOperationIn(_Strict):
    """One step of making a product."""

    options: list[ProductOptionIn] = Field(min_length=1, max_length=64)

    @model_validator(mode="after")
    def _distinct_machines(self) -> ProductOperationIn:
        machines = [o.machine for o in self.options]
        if len(set(machines)) != len(machines):
            raise ValueError("an operation names the same machine twice")
        return self


class ProductIn(_Strict):
    """How a SKU is made, the batch bounds of its replenishment jobs, and whether the
    coordinator replenishes it by itself (`auto`) or not (`off`)."""

    sku: str = Field(min_length=1, max_length=64, pattern=SKU_PATTERN)
    family: str = Field(default="", max_length=64)
    operations: list[ProductOperationIn] = Field(min_length=1, max_length=100)
    min_batch: int = Field(default=1, ge=1, le=MAX_QUANTITY)
    max_batch: int | None = Field(default=None, ge=1, le=MAX_QUANTITY)
    replenish: Literal["auto", "off"]

    @model_validator(mode="after")
    def _batch_bounds(self) -> ProductIn:
        if self.max_batch is not None and self.max_batch < self.min_batch:
            raise ValueError("max_batch is below min_batch")
        return self


class ProductsIn(_Strict):
    """Every product recipe (replaces the previous ones)."""

    products: list[ProductIn] = Field(max_length=1000)


class ProductsOut(BaseModel):
    """The recipes taken: how many, and how many are replenished automatically."""

    products: int
    auto: int


class DepotIn(_Strict):
    """A micro-warehouse (its node id) as a depot, with its opening times."""

    id: str = Field(pattern=ID_PATTERN)
    x: float = Field(ge=-MAX_COORDINATE, le=MAX_COORDINATE)
    y: float = Field(ge=-MAX_COORDINATE, le=MAX_COORDINATE)
    open_ms: int | None = Field(default=None, ge=MIN_TS_MS, le=MAX_TS_MS)
    close_ms: int | None = Field(default=None, ge=MIN_TS_MS, le=MAX_TS_MS)


class VehicleIn(_Strict):
    """A vehicle at a depot: capacity and longest route."""

    id: str = Field(pattern=ID_PATTERN)
    depot_id: str = Field(pattern=ID_PATTERN)
    capacity: int = Field(ge=0, le=MAX_QUANTITY)
    max_duration_s: float | None = Field(default=None, gt=0, le=MAX_DURATION_S)


class FleetIn(_Strict):
    """The whole delivery fleet (replaces the previous one)."""

    depots: list[DepotIn] = Field(min_length=1, max_length=100)
    vehicles: list[VehicleIn] = Field(default_factory=list, max_length=1000)


class ChangeoverIn(_Strict):
    """Changeover time on any machine when an operation of `to_family` follows one of
    `from_family` (the `family` of job operations)."""

    from_family: str = Field(max_length=64)
    to_family: str = Field(max_length=64)
    duration_s: float = Field(ge=0, le=MAX_DURATION_S)


class ChangeoversIn(_Strict):
    """Every changeover time (replaces the previous ones; pairs not given cost nothing)."""

    changeovers: list[ChangeoverIn] = Field(max_length=10_000)


class ChangeoversOut(BaseModel):
    """The changeover times taken."""

    changeovers: int = Field(description="How many family pairs have a changeover time")


class ReserveIn(_Strict):
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


class FleetOut(BaseModel):
    """The fleet taken."""

    depots: list[str]
    vehicles: list[str]


@router.post(
    "/api/v1/orders",
    summary="Submit production orders",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OrdersAccepted,
)
def submit_orders(body: OrdersIn, plans: PlansDep, _who: OperatorDep) -> OrdersAccepted:
    """Add production and delivery orders to the planner; 422 for malformed orders or
    unknown machines (nothing of a refused batch is taken)."""
    jobs = [
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
    deliveries = [DeliveryOrder(**d.model_dump()) for d in body.deliveries]
    taken = plans.submit_orders(jobs, deliveries)
    return OrdersAccepted(
        accepted=taken.jobs,
        deliveries=taken.deliveries,
        rush=sum(job.rush for job in body.jobs),
        unchanged=taken.unchanged_jobs,
        unchanged_deliveries=taken.unchanged_deliveries,
    )


@router.post(
    "/api/v1/orders/close",
    summary="Close held orders (done, delivered or cancelled)",
    response_model=OrdersClosedOut,
)
def close_orders(body: CloseIn, plans: PlansDep, _who: OperatorDep) -> OrdersClosedOut:
    """Forget held jobs and deliveries and re-plan without them; ids not held are listed
    as unknown (closing twice is harmless)."""
    closed = plans.close_orders(body.jobs, body.deliveries)
    return OrdersClosedOut(
        jobs=closed.jobs,
        deliveries=closed.deliveries,
        unknown_jobs=closed.unknown_jobs,
        unknown_deliveries=closed.unknown_deliveries,
    )


@router.post(
    "/api/v1/orders/dispatch",
    summary="Deliveries loaded on a vehicle",
    response_model=DispatchedOut,
)
def dispatch_orders(body: DispatchIn, plans: PlansDep, _who: OperatorDep) -> DispatchedOut:
    """Pin held deliveries to a vehicle: every re-plan keeps them first on its route, in
    this order, until they are closed; 422 for a vehicle not in the declared fleet."""
    done = plans.dispatch(body.vehicle_id, body.deliveries)
    return DispatchedOut(
        vehicle_id=done.vehicle_id, deliveries=done.deliveries, unknown=done.unknown
    )


@router.get("/api/v1/orders", summary="Held orders", response_model=OrdersOut)
def held_orders(plans: PlansDep, _who: ViewerDep) -> OrdersOut:
    """The production and delivery orders the planner holds, as they were accepted."""
    jobs, deliveries = plans.orders()
    made = plans.replenishments()
    return OrdersOut(
        jobs=[
            JobOut(
                id=j.id,
                operations=[
                    OperationIn(
                        options=[OptionIn(machine=m, duration_s=s) for m, s in op.options.items()],
                        family=op.family,
                    )
                    for op in j.operations
                ],
                due_ms=j.due_ms,
                release_ms=j.release_ms,
                weight=j.weight,
                rush=j.rush,
                replenishment=None
                if j.id not in made
                else ReplenishmentOut(
                    sku=made[j.id].sku,
                    location=made[j.id].location,
                    quantity=made[j.id].quantity,
                    stock_at_submit=made[j.id].stock_at_submit,
                    received=made[j.id].received,
                    submitted_ms=made[j.id].submitted_ms,
                ),
            )
            for j in jobs
        ],
        deliveries=[DeliveryIn.model_validate(d, from_attributes=True) for d in deliveries],
    )


@router.put("/api/v1/plans/fleet", summary="Declare the delivery fleet", response_model=FleetOut)
def set_fleet(body: FleetIn, plans: PlansDep, _who: OperatorDep) -> FleetOut:
    """Replace the depots (known micro-warehouses) and vehicles routes are planned for;
    422 for an unknown warehouse, a vehicle at an undeclared depot or repeated ids."""
    plans.set_fleet(
        [DepotSpec(d.id, d.x, d.y, open_ms=d.open_ms, close_ms=d.close_ms) for d in body.depots],
        [
            VehicleSpec(v.id, v.depot_id, v.capacity, max_duration_s=v.max_duration_s)
            for v in body.vehicles
        ],
    )
    return FleetOut(depots=[d.id for d in body.depots], vehicles=[v.id for v in body.vehicles])


@router.put(
    "/api/v1/plans/changeovers",
    summary="Declare changeover times between product families",
    response_model=ChangeoversOut,
)
def set_changeovers(body: ChangeoversIn, plans: PlansDep, _who: OperatorDep) -> ChangeoversOut:
    """Replace the changeover times the scheduler plans with; 422 for a pair given twice."""
    plans.set_changeovers(
        [ChangeoverSpec(c.from_family, c.to_family, c.duration_s) for c in body.changeovers]
    )
    return ChangeoversOut(changeovers=len(body.changeovers))


@router.put(
    "/api/v1/plans/products",
    summary="Declare how SKUs are made and which are replenished automatically",
    response_model=ProductsOut,
)
def set_products(body: ProductsIn, plans: PlansDep, _who: OperatorDep) -> ProductsOut:
    """Replace the product recipes; 422 for a SKU given twice or an unknown machine."""
    plans.set_products(
        ProductSpec(
            sku=p.sku,
            operations=tuple(
                tuple(StepOption(o.machine, o.duration_s_per_unit, o.setup_s) for o in op.options)
                for op in p.operations
            ),
            family=p.family,
            min_batch=p.min_batch,
            max_batch=p.max_batch,
            replenish=p.replenish,
        )
        for p in body.products
    )
    return ProductsOut(
        products=len(body.products), auto=sum(p.replenish == "auto" for p in body.products)
    )


@router.get("/api/v1/plans/products", summary="How SKUs are made", response_model=ProductsIn)
def current_products(plans: PlansDep, _who: ViewerDep) -> ProductsIn:
    """The declared product recipes (none before a PUT)."""
    return ProductsIn(
        products=[
            ProductIn(
                sku=p.sku,
                family=p.family,
                operations=[
                    ProductOperationIn(
                        options=[
                            ProductOptionIn(
                                machine=o.machine,
                                duration_s_per_unit=o.duration_s_per_unit,
                                setup_s=o.setup_s,
                            )
                            for o in step
                        ]
                    )
                    for step in p.operations
                ],
                min_batch=p.min_batch,
                max_batch=p.max_batch,
                replenish=p.replenish,
            )
            for p in plans.products()
        ]
    )


@router.put(
    "/api/v1/plans/reserve",
    summary="Set the share of capacity kept free for rush orders",
    response_model=ReserveOut,
)
def set_reserve(body: ReserveIn, plans: PlansDep, _who: OperatorDep) -> ReserveOut:
    """Replace the rush reserve the scheduler plans with; 422 for a share without a
    horizon, a slice that fills its whole period in plan units, or too many periods."""
    plans.set_reserve(ReserveSpec(body.share, body.period_s, body.horizon_s))
    return ReserveOut.model_validate(plans.reserve())


@router.get(
    "/api/v1/plans/reserve",
    summary="Share of capacity kept free for rush orders",
    response_model=ReserveOut,
)
def current_reserve(plans: PlansDep, _who: ViewerDep) -> ReserveOut:
    """The rush reserve re-plans use (share 0 before one is set)."""
    return ReserveOut.model_validate(plans.reserve())


@router.get(
    "/api/v1/plans/schedule", summary="Current production schedule", response_model=ScheduleOut
)
def current_schedule(plans: PlansDep, _who: ViewerDep) -> ScheduleOut:
    """The current schedule: `version`, `made_ms`, the `triggers` that caused it, solver
    `status` ("optimal", "feasible" or "fallback"), operations per machine (times in
    `time_unit_s` units since `epoch_s`), and every late job with its `reason`."""
    return ScheduleOut.model_validate(plans.schedule())


@router.get("/api/v1/plans/routes", summary="Current delivery routes", response_model=RoutesOut)
def current_routes(plans: PlansDep, _who: ViewerDep) -> RoutesOut:
    """The current routes: `version`, `made_ms`, `triggers`, each vehicle's stops, and
    every unserved order with the `reason` that blocks it."""
    return RoutesOut.model_validate(plans.routes())


__all__ = ["router"]
