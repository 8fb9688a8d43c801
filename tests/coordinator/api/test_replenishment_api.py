"""Replenishment on the real app (real store and HTTP, no broker): product recipes declared
by an operator, a shelf running low becoming a production job that `GET /api/v1/orders`
marks and the schedule plans, closed by a receipt; a restarted coordinator keeps the open
job and does not submit it twice; malformed recipes refused with 422."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from coordinator.api.app import create_app
from coordinator.settings import load_settings
from protocol import Message
from tests.coordinator.conftest import Node, feed, serve

VIEWER = "viewer-token-for-replenish-1"
OPERATOR = "operator-token-for-replenish"
AS_VIEWER = {"Authorization": f"Bearer {VIEWER}"}
AS_OPERATOR = {"Authorization": f"Bearer {OPERATOR}"}
ADMIN = "admin-token-for-replenish"
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}
PRODUCTS = "/api/v1/plans/products"
CUP_OPTION: dict[str, Any] = {"machine": "m1", "duration_s_per_unit": 60, "setup_s": 300}
CUP_STEP: dict[str, Any] = {"options": [CUP_OPTION]}
CUP: dict[str, Any] = {
    "sku": "cup",
    "family": "ceramic",
    "operations": [CUP_STEP],
    "replenish": "auto",
}


def _app(db: Path, **overrides: Any) -> Any:
    settings = load_settings(
        db_path=db,
        broker_url="mqtt://127.0.0.1:1",
        viewer_tokens=VIEWER,
        operator_tokens=OPERATOR,
        admin_tokens=ADMIN,
        write_rate_per_minute=0,  # the module's many writes share one token (see test_request_guard)
        forecast_horizon_days=7,
        cover_lead_time_days=2,
        cover_review_days=5,
        plan_quiet_s=0.0,
        plan_urgent_quiet_s=0.0,
        plan_time_limit_s=1.0,
        **overrides,
    )
    return create_app(settings, start_service=False)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A coordinator database that knows machine m1 and warehouse w1, whose last cup sold
    today (tea: 30 in stock, 4 sold)."""
    app = _app(tmp_path / "c.db")
    m1, w1 = Node(node="m1"), Node(node="w1")
    now = int(time.time() * 1000)
    messages: list[Message] = [
        m1.birth(),
        replace(w1.birth(), node_kind="warehouse"),
        w1.stock("snapshot", {"cup": 1, "tea": 30}),
        replace(w1.stock("delta", {"cup": -1, "tea": -4}), ts=now),
    ]
    with serve(app):
        feed(app.state.coordinator, *messages)
    return tmp_path / "c.db"


def _jobs(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get("/api/v1/orders", headers=AS_VIEWER)
    assert response.status_code == 200, response.text
    jobs: list[dict[str, Any]] = response.json()["jobs"]
    return jobs


def _refresh(client: httpx.Client) -> None:
    assert client.post("/api/v1/forecasts/refresh", headers=AS_OPERATOR).status_code == 200


def test_a_shelf_running_low_is_replenished_and_the_receipt_closes_it(db: Path) -> None:
    """After a refresh the sold-out cup is one replenishment job of the proposed quantity
    (a minute a cup plus the setup), marked in the held orders, planned on m1 by the next
    schedule; tea is not declared and gets none; a receipt of that many cups closes it."""
    app = _app(db)
    w1 = Node(node="w1", seq=100)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        assert client.put(PRODUCTS, json={"products": [CUP]}, headers=AS_ADMIN).json() == {
            "products": 1,
            "auto": 1,
        }
        assert _jobs(client) == []
        _refresh(client)
        [cover] = [
            c
            for c in client.get("/api/v1/stock/cover", headers=AS_VIEWER).json()["covers"]
            if c["sku"] == "cup"
        ]
        assert cover["at_risk"]
        [job] = _jobs(client)
        quantity = cover["proposed"]
        assert job["id"] == "replenish-w1.cup-1"
        assert job["replenishment"] == {
            "sku": "cup",
            "location": "s1/w1",
            "quantity": quantity,
            "stock_at_submit": 0,
            "transfer_id": f"t.{job['id']}",
            "received": 0,
            "submitted_ms": job["replenishment"]["submitted_ms"],
        }
        [op] = job["operations"]
        assert op == {
            "options": [{"machine": "m1", "duration_s": 60.0 * quantity + 300.0}],
            "family": "ceramic",
        }
        assert (
            job["due_ms"] == job["replenishment"]["submitted_ms"] + cover["p90_days"] * 86_400_000
        )
        _refresh(client)  # still at risk: no second job
        assert [j["id"] for j in _jobs(client)] == [job["id"]]

        assert app.state.plans.service.tick()  # the planner loop is not running here
        schedule = client.get("/api/v1/plans/schedule", headers=AS_VIEWER).json()
        assert [o["job_id"] for o in schedule["machines"]["m1"]] == [job["id"]]

        feed(app.state.coordinator, w1.stock("delta", {"cup": quantity}))  # no receipt
        assert [j["id"] for j in _jobs(client)] == [job["id"]]
        receipt = w1.stock("delta", {"cup": quantity}, transfer_id=f"t.{job['id']}")
        feed(app.state.coordinator, receipt)
        assert _jobs(client) == []


def test_a_restarted_coordinator_keeps_the_open_job_and_submits_no_duplicate(db: Path) -> None:
    """The job made before the restart is held by the new coordinator, still marked; its
    recipes are back; a refresh still at risk makes no second job; an operator closes it."""
    first = _app(db)
    with serve(first) as url, httpx.Client(base_url=url, timeout=10) as client:
        client.put(PRODUCTS, json={"products": [CUP]}, headers=AS_ADMIN)
        _refresh(client)
        [before] = _jobs(client)
    second = _app(db)
    with serve(second) as url, httpx.Client(base_url=url, timeout=10) as client:
        assert client.get(PRODUCTS, headers=AS_VIEWER).json() == {
            "products": [{**CUP, "min_batch": 1, "max_batch": None, "max_scrap_share": None}]
        }
        assert _jobs(client) == [before]
        _refresh(client)
        assert _jobs(client) == [before]
        closed = client.post(
            "/api/v1/orders/close", json={"jobs": [before["id"]]}, headers=AS_OPERATOR
        ).json()
        assert closed["jobs"] == [before["id"]]
        assert _jobs(client) == []


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """The app over HTTP with machine m1 known to the planner."""
    app = _app(tmp_path_factory.mktemp("products") / "c.db")
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        feed(app.state.coordinator, Node(node="m1").birth())
        yield http


def test_products_are_declared_by_an_admin_and_read_by_a_viewer(
    client: httpx.Client,
) -> None:
    """A viewer reads the recipes; a viewer or an operator may not declare them; no token
    is a 401; an admin's PUT replaces every recipe and the answer counts them."""
    assert client.get(PRODUCTS).status_code == 401
    assert client.get(PRODUCTS, headers=AS_VIEWER).json() == {"products": []}
    body = {"products": [CUP, {**CUP, "sku": "mug", "replenish": "off", "max_batch": 50}]}
    assert client.put(PRODUCTS, json=body, headers=AS_VIEWER).status_code == 403
    assert client.put(PRODUCTS, json=body, headers=AS_OPERATOR).status_code == 403
    assert client.put(PRODUCTS, json=body, headers=AS_ADMIN).json() == {
        "products": 2,
        "auto": 1,
    }
    assert [p["sku"] for p in client.get(PRODUCTS, headers=AS_VIEWER).json()["products"]] == [
        "cup",
        "mug",
    ]
    assert client.put(PRODUCTS, json={"products": []}, headers=AS_ADMIN).status_code == 200
    assert client.get(PRODUCTS, headers=AS_VIEWER).json() == {"products": []}


def _product(**changes: Any) -> dict[str, Any]:
    return {"products": [{**CUP, **changes}]}


def _option(**changes: Any) -> dict[str, Any]:
    option = {"machine": "m1", "duration_s_per_unit": 60, **changes}
    return _product(operations=[{"options": [option]}])


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"products": "cup"},
        {"products": [CUP], "extra": 1},
        _product(extra=1),
        _product(replenish="always"),
        _product(replenish=None),
        {"products": [{k: v for k, v in CUP.items() if k != "replenish"}]},
        _product(sku=""),
        _product(sku="a b"),
        _product(sku="x" * 65),
        _product(sku="cup/../../etc"),
        _product(family="f" * 65),
        _product(operations=[]),
        _product(operations=[{"options": []}] * 1),
        _product(operations=[CUP_STEP] * 101),
        _product(min_batch=0),
        _product(min_batch=10, max_batch=5),
        _product(max_batch=10**10),
        _product(min_batch="5"),
        _option(duration_s_per_unit=0),
        _option(duration_s_per_unit=-1),
        _option(duration_s_per_unit=31 * 86_400),
        _option(setup_s=-1),
        _option(machine="m1/../x"),
        _option(machine="m1", extra=True),
        _product(operations=[{"options": [CUP_OPTION] * 2}]),
        {"products": [CUP, CUP]},
        {"products": [CUP] * 1001},
    ],
)
def test_malformed_products_are_refused_with_422(client: httpx.Client, body: Any) -> None:
    """Missing, mistyped, out-of-range, hostile, oversized and repeated recipes are 422."""
    response = client.put(PRODUCTS, json=body, headers=AS_ADMIN)
    assert response.status_code == 422, response.text


def test_an_unknown_machine_is_a_422_naming_the_field(client: httpx.Client) -> None:
    """As for orders: a recipe on a machine the coordinator has not seen is refused, and
    the recipes held stay as they were."""
    client.put(PRODUCTS, json={"products": [CUP]}, headers=AS_ADMIN)
    response = client.put(PRODUCTS, json=_option(machine="m9"), headers=AS_ADMIN)
    assert response.status_code == 422
    assert response.json()["field"] == "products[0].operations[0].options"
    assert [p["sku"] for p in client.get(PRODUCTS, headers=AS_VIEWER).json()["products"]] == ["cup"]


def test_an_operator_job_may_not_take_the_replenishment_prefix(client: httpx.Client) -> None:
    """`replenish-` ids are the coordinator's own: a posted job using one is a 422."""
    job = {"id": "replenish-w1.cup-9", "operations": [{"options": [
        {"machine": "m1", "duration_s": 60}]}]}  # fmt: skip
    response = client.post("/api/v1/orders", json={"jobs": [job]}, headers=AS_OPERATOR)
    assert response.status_code == 422
    assert response.json()["field"] == "jobs[0].id"


def test_a_network_warehouse_is_replenished_by_the_stock_plan(db: Path) -> None:
    """With w1 in a network warehouse, the cup job is sized to the stock plan's
    replenishment there (its target less its position), not to the cover's order-up-to;
    the plan then counts it in transit and asks for nothing more."""
    app = _app(db)
    network = {
        "factories": [{"id": "f1", "location": {"lat": 29.0, "lon": 120.0}, "machines": ["m1"]}],
        "warehouses": [{"id": "wa", "location": {"lat": 29.1, "lon": 120.0}, "nodes": ["w1"]}],
        "products": [{"sku": "cup", "factories": ["f1"]}],
    }
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        assert client.put("/api/v1/network", json=network, headers=AS_ADMIN).status_code == 200
        client.put(PRODUCTS, json={"products": [CUP]}, headers=AS_ADMIN)
        _refresh(client)
        plan = client.get("/api/v1/stock/plan?sku=cup", headers=AS_VIEWER).json()
        [target] = plan["targets"]
        cover = client.get("/api/v1/stock/cover?sku=cup", headers=AS_VIEWER).json()["covers"][0]
        [job] = _jobs(client)
        quantity = job["replenishment"]["quantity"]
        assert quantity == target["target"] - target["on_hand"]
        assert quantity != cover["proposed"]  # the two rules differ here
        assert target["inbound"] == quantity
        assert plan["replenishments"] == []
        [transit] = plan["transfers"]["in_transit"]
        assert (transit["transfer_id"], transit["kind"]) == (f"t.{job['id']}", "replenishment")


def test_no_stock_plan_still_replenishes_by_the_cover(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stock plan that cannot be made leaves the jobs sized by the covers alone."""
    from coordinator.stock.errors import PlanInvalid

    app = _app(db)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        planner = app.state.coordinator.stock_plan

        def refused() -> None:
            raise PlanInvalid("bad", field="mean")

        monkeypatch.setattr(planner, "plan", refused)
        client.put(PRODUCTS, json={"products": [CUP]}, headers=AS_ADMIN)
        _refresh(client)
        cover = client.get("/api/v1/stock/cover?sku=cup", headers=AS_VIEWER).json()["covers"][0]
        [job] = _jobs(client)
        assert job["replenishment"]["quantity"] == cover["proposed"]


def test_joint_replenishment_brings_the_family_along(db: Path) -> None:
    """Tea (same family as cup, 26 left, not at risk) joins cup's replenishment when
    replenish_can_order_days reaches its P90 run-out; with the default 0 only cup is made."""
    tea = {**CUP, "sku": "tea"}
    for days, expected in ((0.0, ["cup"]), (30.0, ["cup", "tea"])):
        app = _app(db, replenish_can_order_days=days)
        with serve(app) as url, httpx.Client(base_url=url, timeout=10) as client:
            client.put(PRODUCTS, json={"products": [CUP, tea]}, headers=AS_ADMIN)
            _refresh(client)
            covers = client.get("/api/v1/stock/cover", headers=AS_VIEWER).json()["covers"]
            [tea_cover] = [c for c in covers if c["sku"] == "tea"]
            assert not tea_cover["at_risk"]
            assert tea_cover["p90_days"] is not None
            jobs = _jobs(client)
            assert sorted(j["replenishment"]["sku"] for j in jobs) == expected
            closed = client.post(
                "/api/v1/orders/close", json={"jobs": [j["id"] for j in jobs]}, headers=AS_OPERATOR
            )  # the next round starts with no open job
            assert closed.status_code == 200, closed.text
            assert sorted(closed.json()["jobs"]) == sorted(j["id"] for j in jobs)
