"""`/api/v1/plans`: the current production schedule and delivery routes (viewer), and
what they are made with: the delivery fleet, changeover times, rush reserve and product
recipes (operator; the recipes admin; the reserve and the recipes readable by a viewer).
Plans span every site: a token covering every site (`coordinator.api.app`).

Thin routes over the `PlanRunner` (`PlansDep`, `coordinator.plan.runner`). Before the
first plan both plan routes answer 200 with version 0, `made_ms` null and no machines'
operations / no routes: "no plan yet" is a valid state, not a missing resource.
"""

from __future__ import annotations

from fastapi import APIRouter

from coordinator.api.deps import AdminDep, OperatorDep, PlansDep, ViewerDep
from coordinator.api.models.common import LocationIn, check_distinct_machines
from coordinator.api.models.plans import (
    ChangeoversIn,
    ChangeoversOut,
    DeclaredFleetOut,
    DepotIn,
    FleetIn,
    FleetOut,
    ProductIn,
    ProductOperationIn,
    ProductOptionIn,
    ProductsIn,
    ProductsOut,
    ReserveIn,
    ReserveOut,
    RoutesOut,
    ScheduleOut,
    VehicleIn,
)
from coordinator.api.problems import problem_responses
from coordinator.plan.orders.specs import (
    ChangeoverSpec,
    DepotSpec,
    ProductSpec,
    ReserveSpec,
    StepOption,
    VehicleSpec,
)

router = APIRouter(tags=["plans"])


@router.put(
    "/api/v1/plans/fleet",
    summary="Declare the delivery fleet",
    response_model=FleetOut,
    responses=problem_responses(422),
)
def set_fleet(body: FleetIn, plans: PlansDep, _who: OperatorDep) -> FleetOut:
    """Replace the depots (known micro-warehouses) and vehicles routes are planned for.

    Rules beyond the schema, answered 422 `order-rejected` with the offending `field`: a
    depot is a micro-warehouse the coordinator has seen; a vehicle's depot is declared;
    ids are not repeated; a depot does not close before it opens."""
    plans.set_fleet(
        [
            DepotSpec(
                d.id,
                d.x,
                d.y,
                open_ms=d.open_ms,
                close_ms=d.close_ms,
                lat=d.location.lat if d.location else None,
                lon=d.location.lon if d.location else None,
            )
            for d in body.depots
        ],
        [
            VehicleSpec(v.id, v.depot_id, v.capacity, max_duration_s=v.max_duration_s)
            for v in body.vehicles
        ],
    )
    return FleetOut(depots=[d.id for d in body.depots], vehicles=[v.id for v in body.vehicles])


@router.get("/api/v1/plans/fleet", summary="The delivery fleet", response_model=DeclaredFleetOut)
def current_fleet(plans: PlansDep, _who: ViewerDep) -> DeclaredFleetOut:
    """The depots (where they are, their opening times) and vehicles routes are planned
    for, as last declared with `PUT`; empty lists before a fleet is declared."""
    depots, vehicles = plans.fleet()
    return DeclaredFleetOut(
        depots=[
            DepotIn(
                id=d.id,
                x=d.x,
                y=d.y,
                open_ms=d.open_ms,
                close_ms=d.close_ms,
                location=None
                if d.lat is None or d.lon is None
                else LocationIn(lat=d.lat, lon=d.lon),
            )
            for d in depots
        ],
        vehicles=[
            VehicleIn(
                id=v.id, depot_id=v.depot_id, capacity=v.capacity, max_duration_s=v.max_duration_s
            )
            for v in vehicles
        ],
    )


@router.put(
    "/api/v1/plans/changeovers",
    summary="Declare changeover times between product families",
    response_model=ChangeoversOut,
    responses=problem_responses(422),
)
def set_changeovers(body: ChangeoversIn, plans: PlansDep, _who: OperatorDep) -> ChangeoversOut:
    """Replace the changeover times the scheduler plans with.

    Rule beyond the schema, answered 422 `order-rejected`: no family pair is given twice."""
    plans.set_changeovers(
        [ChangeoverSpec(c.from_family, c.to_family, c.duration_s) for c in body.changeovers]
    )
    return ChangeoversOut(changeovers=len(body.changeovers))


@router.put(
    "/api/v1/plans/products",
    summary="Declare how SKUs are made and which are replenished automatically",
    response_model=ProductsOut,
    responses=problem_responses(422),
)
def set_products(body: ProductsIn, plans: PlansDep, _who: AdminDep) -> ProductsOut:
    """Replace the product recipes.

    Rules beyond the schema, answered 422 `order-rejected` with the offending `field`: no
    SKU is given twice; every machine is one the coordinator has seen; an operation's
    options name distinct machines; `max_batch` is not below `min_batch`."""
    for i, p in enumerate(body.products):
        for k, op in enumerate(p.operations):
            check_distinct_machines(
                [o.machine for o in op.options], field=f"products[{i}].operations[{k}].options"
            )
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
            max_scrap_share=p.max_scrap_share,
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
                max_scrap_share=p.max_scrap_share,
            )
            for p in plans.products()
        ]
    )


@router.put(
    "/api/v1/plans/reserve",
    summary="Set the share of capacity kept free for rush orders",
    response_model=ReserveOut,
    responses=problem_responses(422),
)
def set_reserve(body: ReserveIn, plans: PlansDep, _who: OperatorDep) -> ReserveOut:
    """Replace the rush reserve the scheduler plans with.

    Rules beyond the schema, answered 422 `order-rejected`: a share above 0 needs a
    positive `horizon_s`; the slice kept (share of a period, in whole plan units) does not
    fill its whole period; the horizon holds a bounded number of periods."""
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
