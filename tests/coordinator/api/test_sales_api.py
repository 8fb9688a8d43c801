"""The sales routes over real HTTP: the network, placing an order (201, retry 200, 409),
every 422 naming its field with nothing kept, roles, cancellation, corrections, and the
public tracking link (JSON and HTML, unknown links 404 alike)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from coordinator.api.app import create_app
from coordinator.plan.orders.specs import ProductSpec, StepOption
from coordinator.plan.triggers import MachineSeen
from coordinator.settings import CoordinatorSettings
from tests.coordinator.conftest import Node, feed, serve

VIEWER = "viewer-token-0123456789"
OPERATOR = "operator-token-0123456789"
AS_VIEWER = {"Authorization": f"Bearer {VIEWER}"}
AS_OPERATOR = {"Authorization": f"Bearer {OPERATOR}"}
ADMIN = "admin-token-for-sales-api"
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}
NETWORK: dict[str, Any] = {
    "factories": [
        {"id": "f-yiwu", "location": {"lat": 29.31, "lon": 120.08}, "machines": ["m1"]},
    ],
    "warehouses": [
        {"id": "w-futian", "location": {"lat": 29.33, "lon": 120.10}, "nodes": ["shelf-1"]}
    ],
    "products": [{"sku": "CUP", "factories": ["f-yiwu"]}],
    "rules": [{"below_qty": 100, "max_km": 150}],
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, httpx.Client]]:
    """The coordinator app (no broker) with shelf-1 holding 5 CUP, machine m1 known, CUP's
    recipe declared and the network set."""
    settings = CoordinatorSettings(
        viewer_tokens=VIEWER,
        operator_tokens=OPERATOR,
        admin_tokens=ADMIN,
        db_path=tmp_path_factory.mktemp("sales-api") / "c.db",
    )
    app = create_app(settings, start_service=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        shelf = Node(site="s1", node="shelf-1")
        feed(app.state.coordinator, shelf.birth(), shelf.stock("snapshot", {"CUP": 5}))
        app.state.plans.apply([MachineSeen("s1", "m1")])
        app.state.plans.set_products(
            [ProductSpec("CUP", ((StepOption("m1", 60.0, 300.0),),), family="cups")]
        )
        assert http.put("/api/v1/network", json=NETWORK, headers=AS_ADMIN).status_code == 200
        yield app, http


def _order(order_id: str, qty: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": order_id,
        "customer": "live-shop-12",
        "lines": [{"sku": "CUP", "qty": qty}],
        "destination": {"lat": 29.40, "lon": 120.12, "address": "Yiwu, Choucheng"},
        "service": "express",
        **extra,
    }


def test_an_order_from_stock_is_reserved_and_a_retry_is_idempotent(
    api: tuple[Any, httpx.Client],
) -> None:
    """201 with the promise from the warehouse and a tracking link; the same body again is
    200 with the same promise and no new token; other content is 409."""
    _, http = api
    first = http.post("/api/v1/sales-orders", json=_order("so-1", 2), headers=AS_OPERATOR)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "reserved"
    assert body["promise"]["lines"][0]["from_stock"][0]["warehouse"] == "w-futian"
    assert body["promise"]["bound_by"] == "stock"
    assert body["tracking_url"].endswith(f"/track/{body['tracking_token']}")
    assert [t["status"] for t in body["timeline"]] == ["received", "promised", "reserved"]
    again = http.post("/api/v1/sales-orders", json=_order("so-1", 2), headers=AS_OPERATOR)
    assert again.status_code == 200
    assert again.json()["promise"] == body["promise"]
    assert again.json()["tracking_token"] is None
    clash = http.post("/api/v1/sales-orders", json=_order("so-1", 3), headers=AS_OPERATOR)
    assert clash.status_code == 409
    assert clash.json()["field"] == "id"


def test_an_order_beyond_stock_is_made_and_tracked_publicly(
    api: tuple[Any, httpx.Client],
) -> None:
    """What stock cannot cover is made at the factory; the tracking link shows the status,
    ETA and timeline in JSON and HTML and nothing of the customer or places."""
    app, http = api
    placed = http.post("/api/v1/sales-orders", json=_order("so-2", 10), headers=AS_OPERATOR)
    assert placed.status_code == 201, placed.text
    line = placed.json()["promise"]["lines"][0]
    assert sum(p["qty"] for p in line["from_stock"]) + line["made"][0]["qty"] == 10
    assert line["made"][0]["factory"] == "f-yiwu"
    job_ids = [j.id for j in app.state.plans.orders()[0]]
    assert "sales.so-2.0.0" in job_ids
    token = placed.json()["tracking_token"]
    tracked = http.get(f"/track/{token}", headers={"Accept": "application/json"})
    assert tracked.status_code == 200
    assert tracked.json()["status"] == "promised"
    assert "live-shop-12" not in tracked.text
    assert "Choucheng" not in tracked.text
    assert "f-yiwu" not in tracked.text
    page = http.get(f"/track/{token}")
    assert page.headers["content-type"].startswith("text/html")
    assert "Order so-2" in page.text
    unknown = http.get("/track/" + "x" * 24, headers={"Accept": "application/json"})
    assert unknown.status_code == 404
    assert unknown.json() == http.get("/track/y", headers={"Accept": "application/json"}).json()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": [{"sku": "VASE", "qty": 1}]}, "lines[0].sku"),
        ({"lines": [{"sku": "CUP", "qty": 0}]}, "lines"),
        ({"lines": [{"sku": "CUP", "qty": 1_000_001}]}, "lines"),
        ({"lines": [{"sku": "CUP", "qty": 1}] * 101}, "lines"),
        ({"lines": []}, "lines"),
        ({"destination": {"lat": 91, "lon": 0}}, "destination"),
        ({"destination": {"lat": 0, "lon": -181}}, "destination"),
        ({"service": "overnight"}, "service"),
        ({"customer": "bad\x00name"}, "customer"),
        ({"id": "x" * 41}, "id"),
        ({"webhook_url": "ftp://shop.example/x"}, "webhook_url"),
        ({"webhook_url": "http://127.0.0.1:9/hook"}, "webhook_url"),
        ({"webhook_url": "http://10.1.2.3/hook"}, "webhook_url"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_orders_are_refused_naming_the_field_and_not_kept(
    api: tuple[Any, httpx.Client], change: dict[str, Any], field: str
) -> None:
    """Unknown SKU, quantities out of range, too many or no lines, coordinates out of range,
    unknown service, control characters, an over-long id, webhook URLs that are not http(s)
    or point at loopback or private addresses, unknown members: 422, nothing stored."""
    _, http = api
    response = http.post("/api/v1/sales-orders", json=_order("so-bad", 1) | change,
                         headers=AS_OPERATOR)  # fmt: skip
    assert response.status_code == 422, response.text
    assert field in response.text
    assert http.get("/api/v1/sales-orders/so-bad", headers=AS_VIEWER).status_code == 404


def test_a_destination_no_van_reaches_is_422_naming_destination(
    api: tuple[Any, httpx.Client],
) -> None:
    """Kashgar is 4,000 km from w-futian (200 km service radius by default): 422 with
    `field: destination` and the reason, nothing stored; inside the radius the same id is
    then free to take."""
    _, http = api
    far = _order("so-far", 1) | {"destination": {"lat": 39.47, "lon": 75.99}}
    response = http.post("/api/v1/sales-orders", json=far, headers=AS_OPERATOR)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "destination"
    assert "w-futian" in response.json()["detail"]
    assert http.get("/api/v1/sales-orders/so-far", headers=AS_VIEWER).status_code == 404
    near = http.post("/api/v1/sales-orders", json=_order("so-far", 1), headers=AS_OPERATOR)
    assert near.status_code == 201, near.text


def test_roles_cancel_and_correction(api: tuple[Any, httpx.Client]) -> None:
    """A viewer reads but cannot place or cancel; an operator cancels (its jobs are closed) and
    corrects a status, recorded as a correction by that operator; cancelling twice is 409."""
    _, http = api
    assert (
        http.post("/api/v1/sales-orders", json=_order("so-3", 1), headers=AS_VIEWER).status_code
        == 403
    )
    assert http.post("/api/v1/sales-orders", json=_order("so-3", 1)).status_code == 401
    assert (
        http.post("/api/v1/sales-orders", json=_order("so-3", 1), headers=AS_OPERATOR).status_code
        == 201
    )
    listed = http.get("/api/v1/sales-orders", params={"status": "promised"}, headers=AS_VIEWER)
    assert "so-3" in [o["id"] for o in listed.json()["orders"]]
    assert http.post("/api/v1/sales-orders/so-3/cancel", headers=AS_VIEWER).status_code == 403
    cancelled = http.post("/api/v1/sales-orders/so-3/cancel", json={"reason": "duplicate"},
                          headers=AS_OPERATOR)  # fmt: skip
    assert cancelled.json()["status"] == "cancelled"
    assert http.post("/api/v1/sales-orders/so-3/cancel", headers=AS_OPERATOR).status_code == 409
    fixed = http.post("/api/v1/sales-orders/so-2/status",
                      json={"status": "produced", "reason": "counted by hand"},
                      headers=AS_OPERATOR)  # fmt: skip
    assert fixed.status_code == 200
    last = fixed.json()["timeline"][-1]
    assert (last["status"], last["cause"], last["actor"]) == (
        "produced",
        "correction",
        "operator-1",
    )
    assert http.get("/api/v1/sales-orders/nope", headers=AS_VIEWER).status_code == 404
    assert (
        http.get("/api/v1/sales-orders", params={"status": "lost"}, headers=AS_VIEWER).status_code
        == 422
    )


def test_the_network_is_validated_and_readable(api: tuple[Any, httpx.Client]) -> None:
    """A bad network is 422 naming the JSON path and leaves the old one; viewers read it and
    cannot change it."""
    _, http = api
    bad = {**NETWORK, "warehouses": [{"id": "w", "location": {"lat": 100, "lon": 0}, "nodes": []}]}
    response = http.put("/api/v1/network", json=bad, headers=AS_ADMIN)
    assert response.status_code == 422
    assert response.json()["field"] == "warehouses[0].location.lat"
    assert http.put("/api/v1/network", json=NETWORK, headers=AS_VIEWER).status_code == 403
    assert http.put("/api/v1/network", json=NETWORK, headers=AS_OPERATOR).status_code == 403
    assert http.get("/api/v1/network", headers=AS_VIEWER).json() == NETWORK


def test_the_summary_counts_what_the_list_shows(api: tuple[Any, httpx.Client]) -> None:
    """`GET /api/v1/sales-summary` counts every order by the status the list shows; an order
    delivered before its promised time counts on time with its lead time; a token is needed."""
    _, http = api
    placed = http.post("/api/v1/sales-orders", json=_order("so-sum", 1), headers=AS_OPERATOR)
    assert placed.status_code == 201
    done = http.post("/api/v1/sales-orders/so-sum/status",
                     json={"status": "delivered", "reason": "signed for"},
                     headers=AS_OPERATOR)  # fmt: skip
    assert done.status_code == 200, done.text
    assert http.get("/api/v1/sales-summary").status_code == 401
    summary = http.get("/api/v1/sales-summary", headers=AS_VIEWER).json()
    listed = http.get("/api/v1/sales-orders", params={"limit": 1000}, headers=AS_VIEWER).json()
    statuses = Counter(o["status"] for o in listed["orders"])
    assert summary["orders"] == len(listed["orders"])
    assert summary["by_status"] == dict(sorted(statuses.items()))
    assert summary["delivered"] == statuses["delivered"] >= 1
    assert summary["delivered_on_time"] == summary["delivered"]
    assert summary["on_time_rate"] == 1.0
    assert 0 <= summary["lead_time_p50_h"] <= summary["lead_time_p95_h"] < 1
