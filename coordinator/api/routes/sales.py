"""`/api/v1/sales-orders` and `/api/v1/network`: customer orders promised from stock or
factory capacity, their status, cancellation and corrections; and the supply network they
are promised on (operator to change orders, admin the network, viewer to read; all
fleet-wide, so a token covering every site: `coordinator.api.app`).

Thin routes over the `SalesBook` (`SalesDep`). `POST /api/v1/sales-orders` answers 201 with
the promise and a tracking token shown only then, 200 with the stored answer for a retry of
the same id and content, 409 for the same id with other content, 422 naming the field for
anything that cannot be promised (nothing of a refused order is kept).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Final

import orjson
from fastapi import APIRouter, Body, Query, Request, Response, status
from pydantic import TypeAdapter

from coordinator.api.auth import api_principal, require_every_site, require_role
from coordinator.api.deps import (
    AdminDep,
    OperatorDep,
    SalesDep,
    SettingsDep,
    ViewerDep,
    sales_book_of,
)
from coordinator.api.models.sales import (
    CancelIn,
    CorrectionIn,
    RevisionOut,
    SalesOrderIn,
    SalesOrderListOut,
    SalesOrderOut,
    SalesSummaryOut,
    TransitionOut,
)
from coordinator.api.problems import problem_responses
from coordinator.errors import CoordinatorError
from coordinator.sales.book import OrderRequest, SalesBook
from coordinator.sales.lifecycle import Status, Transition
from coordinator.sales.promise import Line
from coordinator.sales.records import SalesOrder
from coordinator.sales.revision import Revision
from coordinator.sales.webhooks import check_webhook_url
from protocol.topics import ID_PATTERN

router = APIRouter(tags=["sales"])
_ORDER_JSON: Final = TypeAdapter(SalesOrderOut)

NETWORK_DOC = """`{"factories": [{"id", "location": {"lat", "lon"}, "machines": [node ids],
"hours": {"open": "HH:MM", "close": "HH:MM", "weekdays": [0-6], "utc_offset_min"},
"capacity_share": 0..1, "min_batch"}], "warehouses": [{"id", "location", "nodes": [shelf node
ids], "service_radius_km"?}], "products": [{"sku", "factories": [factory ids]}], "rules":
[{"below_qty", "max_km"}], "service_radius_km"?}`: orders of fewer than `below_qty` units go
only to factories within `max_km`; a destination beyond every warehouse's service radius
(its own, else the network's, else 200 km) is refused."""


def order_out(
    order: SalesOrder,
    *,
    timeline: list[Transition] | None = None,
    token: str | None = None,
    base_url: str = "",
    revision: Revision | None = None,
) -> SalesOrderOut:
    """The API form of a stored order."""
    body = orjson.loads(order.body)
    return SalesOrderOut(
        id=order.id,
        customer=order.customer,
        status=order.standing.status,
        delayed_from=order.standing.delayed_from,
        service=body["service"],
        lines=body["lines"],
        destination=body["destination"],
        promise=order.promise,
        created_ms=order.created_ms,
        updated_ms=order.updated_ms,
        tracking_token=token,
        tracking_url=None if token is None else f"{base_url}/track/{token}",
        timeline=None if timeline is None else [transition_out(t) for t in timeline],
        revision=None if revision is None else RevisionOut(**revision.to_json()),
    )


def transition_out(change: Transition) -> TransitionOut:
    """The API form of a transition."""
    return TransitionOut(
        status=change.status,
        at_ms=change.at_ms,
        cause=change.cause,
        actor=change.actor,
        reason=change.reason,
    )


@router.post(
    "/api/v1/sales-orders",
    summary="Place a sales order and get its promise",
    status_code=status.HTTP_201_CREATED,
    response_model=SalesOrderOut,
    responses={
        200: {"model": SalesOrderOut, "description": "A retry (same id and content)"},
        **problem_responses(
            409, 422, s409="The id is taken with other content", s422="Cannot be promised"
        ),
    },
)
async def place_order(
    body: SalesOrderIn,
    request: Request,
    response: Response,
    book: SalesDep,
    settings: SettingsDep,
    _who: OperatorDep,
) -> SalesOrderOut:
    """Promise the order from stock at the warehouse(s) that deliver in time at least cost,
    else from factory capacity split across factories; reserve it atomically. 422 naming the
    field for an unknown SKU, a quantity that cannot be made within the planning horizon,
    or a destination no micro-warehouse of the network serves (its service radius).
    The promise is computed on the event loop and the order stored by group commit
    (`SalesBook.submit_async`): no worker thread per order."""
    if body.webhook_url is not None:  # resolves the host: off the event loop
        await asyncio.to_thread(
            check_webhook_url, body.webhook_url, allow_private=settings.dev_mode
        )
    taken = await book.submit_async(
        OrderRequest(
            id=body.id,
            customer=body.customer,
            lines=tuple(Line(line.sku, line.qty) for line in body.lines),
            destination=(body.destination.lat, body.destination.lon),
            address=body.destination.address,
            service=body.service,
            webhook_url=body.webhook_url,
        )
    )
    if not taken.created:
        response.status_code = status.HTTP_200_OK
    base = str(request.base_url).rstrip("/")
    return order_out(
        taken.order, timeline=book.timeline_of(taken.order), token=taken.token, base_url=base
    )


@router.get("/api/v1/sales-orders", summary="List sales orders", response_model=SalesOrderListOut)
def list_orders(
    book: SalesDep,
    _who: ViewerDep,
    status_filter: Annotated[Status | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
) -> SalesOrderListOut:
    """Orders by id, optionally of one status; page with `after`."""
    orders = book.list_orders(status=status_filter, limit=limit, after=after)
    return SalesOrderListOut(
        count=len(orders),
        orders=[order_out(o) for o in orders],
        next_after=orders[-1].id if len(orders) == limit else None,
    )


@router.get(
    "/api/v1/sales-summary",
    summary="Orders by status, on-time rate and lead times",
    response_model=SalesSummaryOut,
)
def sales_summary(book: SalesDep, _who: ViewerDep) -> SalesSummaryOut:
    """Every order counted by status; of the delivered ones, how many arrived by the
    promised time given when they were taken, and the median and 95th percentile hours
    from taken to delivered (null while nothing was delivered)."""
    return SalesSummaryOut.model_validate(book.summary(), from_attributes=True)


@router.get(
    "/api/v1/sales-orders/{order_id}",
    summary="One sales order with its timeline",
    response_model=SalesOrderOut,
    responses=problem_responses(404),
)
async def get_order(order_id: str, book: SalesDep, _who: ViewerDep) -> Response:
    """The order, its promise, every transition and the latest revision of the promise by a
    re-plan (404 for an unknown id)."""
    # On the event loop: three indexed reads on this thread's own reader connection (they
    # never wait for the writer), cheaper than a worker-thread hop.
    return Response(order_body(book, order_id), media_type="application/json")


def order_body(book: SalesBook, order_id: str) -> bytes:
    """The body of `GET /api/v1/sales-orders/{order_id}` (`NotFound` for an unknown id),
    rendered as FastAPI renders a `response_model` (pydantic's JSON of the model): the
    route and the audit trail's read-back (`order_as_read`) both answer with it."""
    order = book.get(order_id)
    out = order_out(order, timeline=book.timeline_of(order), revision=book.revision(order_id))
    return _ORDER_JSON.dump_json(out)


def order_as_read(app_state: object, token: str | None, order_id: str) -> bytes | None:
    """The body `GET /api/v1/sales-orders/{order_id}` answers the bearer of `token` with
    200, or None when it answers anything else, without a request through the app: the
    route's own checks (an API token of at least a viewer, covering every site, as the
    router's dependency in `coordinator.api.app.FLEET_WIDE` requires; a sales book; a known
    order) and its own body (`order_body`)."""
    try:
        caller = api_principal(getattr(app_state, "settings", None), token)
        require_role("viewer", caller)
        require_every_site(caller)
        return order_body(sales_book_of(app_state), order_id)
    except CoordinatorError:
        return None


@router.post(
    "/api/v1/sales-orders/{order_id}/cancel",
    summary="Cancel a sales order",
    response_model=SalesOrderOut,
    responses=problem_responses(404, 409, s409="Shipped already"),
)
def cancel_order(
    order_id: str, book: SalesDep, who: OperatorDep, body: CancelIn | None = None
) -> SalesOrderOut:
    """Release its stock and capacity and close its production jobs; 409 once shipped."""
    order = book.cancel(order_id, actor=who, reason=body.reason if body else "")
    return order_out(order, timeline=book.timeline_of(order))


@router.post(
    "/api/v1/sales-orders/{order_id}/status",
    summary="Correct a sales order's status",
    response_model=SalesOrderOut,
    responses=problem_responses(404, 409, 422),
)
def correct_status(
    order_id: str, body: CorrectionIn, book: SalesDep, who: OperatorDep
) -> SalesOrderOut:
    """Set the status by hand; the transition is recorded as a correction by the caller."""
    order = book.correct(order_id, body.status, actor=who, reason=body.reason)
    return order_out(order, timeline=book.timeline_of(order))


@router.get("/api/v1/network", summary="The supply network")
def get_network(book: SalesDep, _who: ViewerDep) -> dict[str, Any]:
    """Factories, micro-warehouses, which factories make each SKU, and allocation rules."""
    document: dict[str, Any] = book.network_document()
    return document


@router.put(
    "/api/v1/network",
    summary="Replace the supply network",
    responses=problem_responses(422),
)
def put_network(
    book: SalesDep,
    _who: AdminDep,
    document: Annotated[dict[str, Any], Body(description=NETWORK_DOC)],
) -> dict[str, Any]:
    """Validate and store the network (422 naming the field); orders placed from now on are
    promised on it."""
    network = book.set_network(document)
    return {
        "factories": len(network.factories),
        "warehouses": len(network.warehouses),
        "skus": len(network.makers),
        "rules": len(network.rules),
    }
