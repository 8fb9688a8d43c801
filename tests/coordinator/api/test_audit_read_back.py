"""The audit trail's digests of sales orders, read directly (`coordinator.api.read_backs`):
each equals the sha256 of the body `GET /api/v1/sales-orders/{id}` answers that caller with
200, or '' when it answers otherwise (404 before a create, 403 for a caller who may not
read it); the direct reader agrees with the route for every kind of caller; and a
sales-order write reaches the app once, with no read-back request through it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from coordinator.access.audit_log import AuditLog, AuditRecord
from coordinator.access.tokens import TokenFile
from coordinator.api.app import create_app
from coordinator.api.read_backs import direct_read_back
from coordinator.api.routes.sales import order_as_read
from coordinator.settings import CoordinatorSettings
from tests.coordinator.api.test_sales_api import NETWORK, _order
from tests.coordinator.conftest import Node, feed, serve

ORDERS = "/api/v1/sales-orders"


class Seen:
    """An ASGI app in front of the routes (inside the request guard) that notes every
    request reaching them, the guard's own read-backs included."""

    def __init__(self, app: ASGIApp, *, into: list[tuple[str, str]]) -> None:
        self.app = app
        self.requests = into

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.requests.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)


@dataclass
class Shop:
    http: httpx.Client
    app: Any
    audit_db: Path
    operator: str
    viewer: str
    scoped: str  # an operator of site s1 only: sales orders span every site
    metrics: str
    seen: list[tuple[str, str]]  # (method, path) of every request reaching the routes


def _as(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """A coordinator (no broker) taking sales orders, shelf-1 holding 5 CUP, with tokens
    of an admin, an operator, a viewer, an operator of one site and a metrics reader."""
    work: Path = tmp_path_factory.mktemp("audit-read-back")
    tokens = TokenFile(work / "tokens.json")
    _, admin = tokens.add("ada", "admin")
    _, operator = tokens.add("otto", "operator")
    _, viewer = tokens.add("vic", "viewer")
    _, scoped = tokens.add("sam", "operator", ("s1",))
    _, metrics = tokens.add("prom", "metrics")
    settings = CoordinatorSettings(token_file=work / "tokens.json", db_path=work / "c.db")
    app = create_app(settings, start_service=False)
    seen: list[tuple[str, str]] = []
    app.user_middleware.append(Middleware(Seen, into=seen))  # the innermost: after the guard
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        shelf = Node(site="s1", node="shelf-1")
        feed(app.state.coordinator, shelf.birth(), shelf.stock("snapshot", {"CUP": 5}))
        assert http.put("/api/v1/network", json=NETWORK, headers=_as(admin)).status_code == 200
        yield Shop(http, app, Path(settings.audit_db_file), operator, viewer, scoped, metrics, seen)


def _last_record(shop: Shop) -> AuditRecord:
    log = AuditLog(shop.audit_db)
    try:
        return log.records()[-1]
    finally:
        log.close()


def _digest_of_get(shop: Shop, order_id: str, token: str | None) -> str:
    """What the audit trail must hold for this caller: sha256 of a 200 body, else ''."""
    shown = shop.http.get(f"{ORDERS}/{order_id}", headers=_as(token))
    return hashlib.sha256(shown.content).hexdigest() if shown.status_code == 200 else ""


def test_create_retry_and_cancel_record_the_digests_of_what_get_answers(shop: Shop) -> None:
    """A create records '' before (the GET was 404) and the GET's digest after; a retry
    (200) the same digest twice; a cancel the GET's digests before and after, which differ."""
    assert shop.http.get(f"{ORDERS}/ra-1", headers=_as(shop.operator)).status_code == 404
    created = shop.http.post(ORDERS, json=_order("ra-1", 1), headers=_as(shop.operator))
    assert created.status_code == 201, created.text
    record = _last_record(shop)
    shown = _digest_of_get(shop, "ra-1", shop.operator)
    assert (record.path, record.status) == (ORDERS, 201)
    assert (record.before_sha256, record.after_sha256) == ("", shown)
    assert shown != ""

    retried = shop.http.post(ORDERS, json=_order("ra-1", 1), headers=_as(shop.operator))
    assert retried.status_code == 200
    record = _last_record(shop)
    assert (record.status, record.before_sha256, record.after_sha256) == (200, shown, shown)

    cancelled = shop.http.post(f"{ORDERS}/ra-1/cancel", headers=_as(shop.operator))
    assert cancelled.status_code == 200, cancelled.text
    record = _last_record(shop)
    after = _digest_of_get(shop, "ra-1", shop.operator)
    assert (record.before_sha256, record.after_sha256) == (shown, after)
    assert after not in ("", shown)


def test_a_caller_who_may_not_read_the_order_records_empty_digests(shop: Shop) -> None:
    """An operator of one site is refused the order (403, fleet-wide) and its refused
    writes record '' before and after; a viewer's refused cancel records the digest of the
    order as the viewer reads it, unchanged."""
    placed = shop.http.post(ORDERS, json=_order("ra-2", 1), headers=_as(shop.operator))
    assert placed.status_code == 201, placed.text
    assert shop.http.get(f"{ORDERS}/ra-2", headers=_as(shop.scoped)).status_code == 403
    for path, body in ((ORDERS, _order("ra-2", 1)), (f"{ORDERS}/ra-2/cancel", None)):
        refused = shop.http.post(path, json=body, headers=_as(shop.scoped))
        assert refused.status_code == 403
        record = _last_record(shop)
        assert (record.principal, record.path, record.status) == ("sam", path, 403)
        assert (record.before_sha256, record.after_sha256) == ("", "")

    refused = shop.http.post(f"{ORDERS}/ra-2/cancel", headers=_as(shop.viewer))
    assert refused.status_code == 403
    record = _last_record(shop)
    shown = _digest_of_get(shop, "ra-2", shop.viewer)
    assert (record.principal, record.before_sha256, record.after_sha256) == ("vic", shown, shown)
    assert shown != ""


def test_the_direct_reader_answers_what_the_route_answers_every_caller(shop: Shop) -> None:
    """For a known and an unknown order and every kind of caller (operator, viewer, an
    operator of one site, a metrics reader, an unknown token, none), the reader gives the
    GET's body exactly when the GET answers 200, and None otherwise."""
    placed = shop.http.post(ORDERS, json=_order("ra-3", 1), headers=_as(shop.operator))
    assert placed.status_code == 201, placed.text
    callers = (shop.operator, shop.viewer, shop.scoped, shop.metrics, "not-a-token", None)
    statuses = set()
    for order_id in ("ra-3", "ra-unknown"):
        read = direct_read_back(f"{ORDERS}/{order_id}", "")
        assert read is not None
        for token in callers:
            shown = shop.http.get(f"{ORDERS}/{order_id}", headers=_as(token))
            statuses.add(shown.status_code)
            expected = shown.content if shown.status_code == 200 else None
            assert read(shop.app.state, token) == expected, (order_id, token)
            assert order_as_read(shop.app.state, token, order_id) == expected
    assert statuses == {200, 401, 403, 404}


def test_a_sales_order_write_reaches_the_app_once(shop: Shop) -> None:
    """Placing and cancelling an order each reach the routes once (no read-back request
    through the app); a write without a direct reader (the network) is still read back
    through the app, before and after."""
    shop.seen.clear()
    placed = shop.http.post(ORDERS, json=_order("ra-4", 1), headers=_as(shop.operator))
    assert placed.status_code == 201, placed.text
    assert shop.http.post(f"{ORDERS}/ra-4/cancel", headers=_as(shop.operator)).status_code == 200
    assert shop.seen == [("POST", ORDERS), ("POST", f"{ORDERS}/ra-4/cancel")]

    shop.seen.clear()
    admin_only = shop.http.put("/api/v1/network", json=NETWORK, headers=_as(shop.operator))
    assert admin_only.status_code == 403
    assert shop.seen == [
        ("GET", "/api/v1/network"),
        ("PUT", "/api/v1/network"),
        ("GET", "/api/v1/network"),
    ]


def test_only_plain_order_paths_are_read_directly() -> None:
    """A query, a sub-path or another resource is read through the app."""
    assert direct_read_back(f"{ORDERS}/so-1", "") is not None
    assert direct_read_back(f"{ORDERS}/so-1", "x=1") is None
    assert direct_read_back(f"{ORDERS}/so-1/cancel", "") is None
    assert direct_read_back(ORDERS, "") is None
    assert direct_read_back("/api/v1/alarms/a-1", "") is None
