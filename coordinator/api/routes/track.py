"""`/track/{token}`: what a customer may see of one order, without a login.

JSON for clients that ask for it (`Accept: application/json`), else a small HTML page. It
shows that order's status, ETA (the re-planned one when a re-plan found the promise late),
promised time and timeline and nothing else: no customer, address, factory, warehouse, nor
the reasons of a delay (they name machines). An unknown token answers 404 exactly like an
expired or malformed one, so a token cannot be told apart from a guess.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from coordinator.api.deps import SalesDep
from coordinator.api.models.sales import TrackingOut, TrackingStep
from coordinator.api.problems import NOT_FOUND as NOT_FOUND_TYPE
from coordinator.api.problems import PROBLEM_MEDIA_TYPE, problem_body, problem_responses
from coordinator.api.routes.dashboard import SECURITY_HEADERS

router = APIRouter(tags=["tracking"])

TokenPath = Annotated[str, Path(max_length=64, description="The order's tracking token")]
NOT_FOUND = problem_body(NOT_FOUND_TYPE, "no order is tracked under this link", error="NotFound")
_HTML = {"text/html": {"schema": {"type": "string"}}}
PAGE_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
}
"""The tracking page's headers: it loads nothing and runs no script."""


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


@router.get(
    "/track/{token}",
    summary="Track one order (no login)",
    response_model=TrackingOut,
    responses={
        200: {"description": "The order (JSON), or a page for people (HTML)", "content": _HTML},
        404: {
            "description": "Unknown or expired link",
            "content": {**problem_responses(404)[404]["content"], **_HTML},
        },
    },
)
def track(token: TokenPath, request: Request, book: SalesDep) -> Response:
    """The order behind the tracking token: status, ETA, promise and timeline."""
    order = book.track(token)
    wants_json = "application/json" in request.headers.get("accept", "")
    if order is None:
        if wants_json:
            return JSONResponse(NOT_FOUND, status_code=404, media_type=PROBLEM_MEDIA_TYPE)
        return HTMLResponse(_page("Not found", "<p>No order is tracked under this link.</p>"),
                            status_code=404, headers=PAGE_HEADERS)  # fmt: skip
    revision = book.revision(order.id)
    eta_ms = int(order.promise["eta_ms"])
    if revision is not None and revision.verdict == "late" and revision.planned_eta_ms:
        eta_ms = max(eta_ms, revision.planned_eta_ms)
    view = TrackingOut(
        order_id=order.id,
        status=order.standing.status,
        eta_ms=eta_ms,
        promised_ms=order.promise["promised_ms"],
        timeline=[TrackingStep(status=t.status, at_ms=t.at_ms) for t in book.timeline(order.id)],
    )
    if wants_json:
        return JSONResponse(view.model_dump())
    rows = "".join(
        f"<tr><td>{_when(t.at_ms)}</td><td>{html.escape(t.status.replace('_', ' '))}</td></tr>"
        for t in view.timeline
    )
    body = (
        f"<h1>Order {html.escape(view.order_id)}</h1>"
        f"<p class=status>{html.escape(view.status.replace('_', ' '))}</p>"
        f"<p>Expected: {_when(view.eta_ms)} · promised by {_when(view.promised_ms)}</p>"
        f"<table><thead><tr><th>When</th><th>Status</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return HTMLResponse(_page(f"Order {view.order_id}", body), headers=PAGE_HEADERS)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>body{{font:16px system-ui,sans-serif;"
        "max-width:40rem;margin:2rem auto;padding:0 1rem}.status{font-size:1.5rem;"
        "font-weight:600}td,th{padding:.25rem .75rem;text-align:left}</style></head>"
        f"<body>{body}</body></html>"
    )
