"""A machine breakdown delays a promised order through the real planner: the re-plan's
revision is a `delayed` transition with the reason, stored, shown by
`GET /api/v1/sales-orders/{id}` (timeline and `revision`) and by the tracking link (the
re-planned ETA), and pushed to the storefront's webhook once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from coordinator.api.app import create_app
from coordinator.plan.orders.specs import ProductSpec, StepOption
from coordinator.plan.triggers import MachineDown, MachineSeen
from coordinator.settings import CoordinatorSettings
from tests.coordinator.conftest import serve
from tests.coordinator.sales.test_webhooks import Receiver

VIEWER = "viewer-token-0123456789"
OPERATOR = "operator-token-0123456789"
ADMIN = "admin-token-for-sales-api"
AS_VIEWER = {"Authorization": f"Bearer {VIEWER}"}
AS_OPERATOR = {"Authorization": f"Bearer {OPERATOR}"}
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}
NETWORK: dict[str, Any] = {
    "factories": [{"id": "f-yiwu", "location": {"lat": 29.31, "lon": 120.08}, "machines": ["m1"]}],
    "warehouses": [{"id": "w1", "location": {"lat": 29.33, "lon": 120.10}, "nodes": ["shelf-1"]}],
    "products": [{"sku": "CUP", "factories": ["f-yiwu"]}],
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The storefront's webhook endpoint on loopback (allowed in dev mode)."""
    running = Receiver()
    try:
        yield running
    finally:
        running.close()


def test_a_breakdown_delays_the_order_once_with_its_reason(
    tmp_path: Path, receiver: Receiver
) -> None:
    """20 CUP at 10 min each on m1: the first schedule confirms the promise (no event); m1
    goes down for its default 4 h and the re-plan's ETA passes the promised time, so the
    order is `delayed` by the planner naming the job, m1 and `machine_unavailable`; another
    re-plan saying the same adds nothing; the webhook receives received, promised, delayed,
    once each; the tracking link shows the later ETA and not the reason."""
    settings = CoordinatorSettings(
        dev_mode=True,
        viewer_tokens=VIEWER,
        operator_tokens=OPERATOR,
        admin_tokens=ADMIN,
        db_path=tmp_path / "c.db",
        plan_quiet_s=0.0,
        plan_rest_factor=0.0,  # each tick re-plans at once
        plan_urgent_quiet_s=0.0,
        plan_time_limit_s=1.0,
    )
    app = create_app(settings, start_service=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        plans = app.state.plans
        plans.apply([MachineSeen("s1", "m1")])
        plans.set_products([ProductSpec("CUP", ((StepOption("m1", 600.0),),), family="cups")])
        assert http.put("/api/v1/network", json=NETWORK, headers=AS_ADMIN).status_code == 200
        order = {"id": "so-1", "customer": "shop", "lines": [{"sku": "CUP", "qty": 20}],
                 "destination": {"lat": 29.40, "lon": 120.12}, "service": "express",
                 "webhook_url": receiver.url}  # fmt: skip
        placed = http.post("/api/v1/sales-orders", json=order, headers=AS_OPERATOR)
        assert placed.status_code == 201, placed.text
        token, promise = placed.json()["tracking_token"], placed.json()["promise"]
        reviser = app.state.coordinator.promise_reviser  # its thread is not running here
        assert plans.service.tick()  # nor is the planner loop
        assert reviser.run_pending() == 0  # confirmed: nothing moves

        first = http.get("/api/v1/sales-orders/so-1", headers=AS_VIEWER).json()
        assert first["status"] == "promised"
        assert first["revision"]["verdict"] == "on_time"
        assert first["revision"]["planned_eta_ms"] <= promise["promised_ms"]

        plans.apply([MachineDown("s1", "m1", ("state",))])
        assert plans.service.tick()
        assert reviser.run_pending() == 1
        delayed = http.get("/api/v1/sales-orders/so-1", headers=AS_VIEWER).json()
        assert (delayed["status"], delayed["delayed_from"]) == ("delayed", "promised")
        last = delayed["timeline"][-1]
        assert (last["status"], last["cause"], last["actor"]) == ("delayed", "plan_late", "planner")
        assert "sales.so-1.0.0" in last["reason"]
        assert "on m1 (machine_unavailable" in last["reason"]
        revision = delayed["revision"]
        assert (revision["verdict"], revision["constraint"]) == ("late", "machine_unavailable")
        assert revision["planned_eta_ms"] > promise["promised_ms"]

        plans.apply([MachineDown("s1", "m1", ("offline",))])  # the same news again
        assert plans.service.tick()
        assert reviser.run_pending() == 0
        again = http.get("/api/v1/sales-orders/so-1", headers=AS_VIEWER).json()
        assert [t["status"] for t in again["timeline"]] == ["received", "promised", "delayed"]

        tracked = http.get(f"/track/{token}", headers={"Accept": "application/json"}).json()
        assert tracked["status"] == "delayed"
        assert tracked["eta_ms"] == revision["planned_eta_ms"]
        assert tracked["promised_ms"] == promise["promised_ms"]
        assert "m1" not in orjson.dumps(tracked).decode()

        pusher = app.state.coordinator.sales_webhooks
        while pusher.run_once():
            pass
    events = [orjson.loads(b) for b in receiver.bodies]
    assert [(e["id"], e["status"]) for e in events] == [
        ("so-1:1", "received"), ("so-1:2", "promised"), ("so-1:3", "delayed")]  # fmt: skip
    assert events[2]["cause"] == "plan_late"
