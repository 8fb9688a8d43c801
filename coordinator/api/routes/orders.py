"""`/api/v1/orders`: production and delivery orders (operator to change, viewer to read;
replenishment jobs the coordinator made are marked `replenishment`).

Thin routes over the `PlanRunner` (`PlansDep`). Orders are durable when `POST
/api/v1/orders` answers; posting an order id again is idempotent: the same content is left
alone (listed in `unchanged`), other content replaces the held order. `POST
/api/v1/orders/close` forgets held orders (done, delivered or cancelled) and re-plans
without them; `POST /api/v1/orders/dispatch` pins deliveries loaded on a vehicle to it.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from coordinator.api.deps import OperatorDep, PlansDep, ViewerDep
from coordinator.api.models.common import check_distinct_machines
from coordinator.api.models.orders import (
    CloseIn,
    DeliveryIn,
    DispatchedOut,
    DispatchIn,
    JobOut,
    OperationIn,
    OptionIn,
    OrdersAccepted,
    OrdersClosedOut,
    OrdersIn,
    OrdersOut,
    ReplenishmentOut,
)
from coordinator.api.problems import problem_responses
from coordinator.plan.orders.specs import JobOrder, OperationOrder

router = APIRouter(tags=["plans"])


@router.post(
    "/api/v1/orders",
    summary="Submit production orders",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OrdersAccepted,
    responses=problem_responses(422),
)
def submit_orders(body: OrdersIn, plans: PlansDep, _who: OperatorDep) -> OrdersAccepted:
    """Add production and delivery orders to the planner (nothing of a refused batch is
    taken).

    Rules beyond the schema, answered 422 `order-rejected` with the offending `field`:
    every machine is one the coordinator has seen; an operation's options name distinct
    machines; ids are unique within the batch; job ids do not start with `replenish-`
    (kept for replenishment jobs); a delivery id is not a depot's; a window does not
    close before it opens."""
    for i, job in enumerate(body.jobs):
        for k, op in enumerate(job.operations):
            check_distinct_machines(
                [o.machine for o in op.options], field=f"jobs[{i}].operations[{k}].options"
            )
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
            quantity=job.quantity,
            sku=job.sku or "",
        )
        for job in body.jobs
    ]
    deliveries = [d.order() for d in body.deliveries]
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
    responses=problem_responses(422),
)
def dispatch_orders(body: DispatchIn, plans: PlansDep, _who: OperatorDep) -> DispatchedOut:
    """Pin held deliveries to a vehicle: every re-plan keeps them first on its route, in
    this order, until they are closed.

    Rule beyond the schema, answered 422 `order-rejected` (`field` `vehicle_id`): the
    vehicle is one of the declared fleet (`PUT /api/v1/plans/fleet`)."""
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
                    transfer_id=made[j.id].transfer_id,
                    received=made[j.id].received,
                    submitted_ms=made[j.id].submitted_ms,
                ),
            )
            for j in jobs
        ],
        deliveries=[DeliveryIn.of(d) for d in deliveries],
    )


__all__ = ["router"]
