"""Bodies of the sales routes (`coordinator.api.routes.sales`): the network, sales orders,
their promises and timelines, cancellation and corrections, and the public tracking view.

Times are ms since the Unix epoch; places are latitude / longitude in degrees.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import Field

from coordinator.api.models.common import Integer, StrictModel
from coordinator.sales.lifecycle import STATUSES, Status
from protocol.topics import ID_PATTERN, NAME_PATTERN

MAX_LINES: Final = 100
MAX_LINE_QTY: Final = 1_000_000
MAX_ORDER_ID_CHARS: Final = 40  # the planner's job ids add `sales.` and `.{line}.{part}`
TEXT_PATTERN: Final = r"^[^\x00-\x1f\x7f]*$"  # printable: no control characters
URL_PATTERN: Final = r"^https?://[^\s\x00-\x1f\x7f]+$"


class Destination(StrictModel):
    """Where the order goes."""

    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    address: str = Field(default="", max_length=300, pattern=TEXT_PATTERN)


class LineIn(StrictModel):
    """One line: a SKU and how many units."""

    sku: str = Field(pattern=NAME_PATTERN, max_length=64)
    qty: Integer = Field(ge=1, le=MAX_LINE_QTY)


class SalesOrderIn(StrictModel):
    """A customer's order. Posting the same id again with the same content answers the
    first answer; other content is refused (409)."""

    id: str = Field(max_length=MAX_ORDER_ID_CHARS, pattern=ID_PATTERN)
    customer: str = Field(min_length=1, max_length=128, pattern=TEXT_PATTERN)
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)
    destination: Destination
    service: Literal["express", "standard", "economy"] = "standard"
    webhook_url: str | None = Field(default=None, max_length=2048, pattern=URL_PATTERN)


class TransitionOut(StrictModel):
    """One change of status: when, why (`cause`), by whom (`actor`)."""

    status: Status
    at_ms: int
    cause: str
    actor: str
    reason: str


class RevisionOut(StrictModel):
    """What the latest re-plan that said something new of the promise said: `on_time`
    (confirmed) or `late` (the order was delayed), by which plan, the planned ETA (None for
    a delivery routed inside its window), the binding constraint and job, and why."""

    verdict: Literal["on_time", "late"]
    plan: Literal["schedule", "routes"]
    plan_version: int
    promised_ms: int
    planned_eta_ms: int | None
    constraint: str
    job_id: str
    reason: str
    at_ms: int


class SalesOrderOut(StrictModel):
    """An order: its status, promise (per line: from stock or made where, ETA, what bound
    the date), the latest revision of that promise by a re-plan (on one order's own routes;
    not in lists) and, on creation only, the tracking token (never shown again)."""

    id: str
    customer: str
    status: Status
    delayed_from: Status | None
    service: str
    lines: list[dict[str, Any]]
    destination: dict[str, Any]
    promise: dict[str, Any]
    created_ms: int
    updated_ms: int
    tracking_token: str | None = None
    tracking_url: str | None = None
    timeline: list[TransitionOut] | None = None
    revision: RevisionOut | None = None


class SalesOrderListOut(StrictModel):
    """A page of orders by id; pass `next_after` as `after` for the next page."""

    count: int
    orders: list[SalesOrderOut]
    next_after: str | None


class SalesSummaryOut(StrictModel):
    """How the sales orders stand as a whole (`coordinator.sales.summary`)."""

    orders: int = Field(description="Orders taken (refused ones are not kept)")
    by_status: dict[str, int] = Field(description="Orders by current status")
    delivered: int = Field(description="Orders with a `delivered` transition")
    delivered_on_time: int = Field(
        description="Of those, delivered at or before the promised time given when taken"
    )
    on_time_rate: float | None = Field(description="delivered_on_time / delivered")
    lead_time_p50_h: float | None = Field(
        description="Median hours from taken to delivered (nearest rank)"
    )
    lead_time_p95_h: float | None = Field(description="95th percentile of the same")


class CancelIn(StrictModel):
    """Why the order is cancelled."""

    reason: str = Field(default="", max_length=500, pattern=TEXT_PATTERN)


class CorrectionIn(StrictModel):
    """An operator's correction of the status, recorded as such."""

    status: Status
    reason: str = Field(min_length=1, max_length=500, pattern=TEXT_PATTERN)


class TrackingStep(StrictModel):
    """A status and when it was reached (who and why stay internal)."""

    status: Status
    at_ms: int


class TrackingOut(StrictModel):
    """What a customer may see of one order through its tracking link: `eta_ms` is the
    latest planned ETA when a re-plan found the promise late, else the promised ETA."""

    order_id: str
    status: Status
    eta_ms: int
    promised_ms: int
    timeline: list[TrackingStep]


__all__ = [
    "MAX_ORDER_ID_CHARS",
    "STATUSES",
    "CancelIn",
    "CorrectionIn",
    "Destination",
    "LineIn",
    "RevisionOut",
    "SalesOrderIn",
    "SalesOrderListOut",
    "SalesOrderOut",
    "SalesSummaryOut",
    "TrackingOut",
    "TrackingStep",
    "TransitionOut",
]
