"""`/api/v1/stock/cover` on a real store and HTTP server: covers after a refresh, the
stockout_risk alarm raised and cleared, filters, roles and bad queries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from coordinator.api.app import create_app
from coordinator.service import Coordinator
from coordinator.settings import load_settings
from protocol import Message
from tests.coordinator.conftest import Node, feed, serve

VIEWER = "viewer-token-for-stock-cover-1"
OPERATOR = "operator-token-for-stock-cover"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[httpx.Client, Coordinator, Node]]:
    """A warehouse holding 30 tea and 1 cup that sold 4 tea and the last cup today."""
    settings = load_settings(
        db_path=tmp_path / "api.db",
        broker_url="mqtt://127.0.0.1:1",
        viewer_tokens=VIEWER,
        operator_tokens=OPERATOR,
        forecast_horizon_days=7,
        cover_lead_time_days=2,
        cover_review_days=5,
    )
    app = create_app(settings, start_service=False)
    now = int(time.time() * 1000)
    w1 = Node(node="w1")
    messages: list[Message] = [w1.birth(), w1.stock("snapshot", {"tea": 30, "cup": 1})]
    messages += [replace(w1.stock("delta", {"tea": -4, "cup": -1}), ts=now)]
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        feed(app.state.coordinator, *messages)
        yield client, app.state.coordinator, w1


def _covers(client: httpx.Client, query: str = "") -> dict[str, Any]:
    response = client.get(f"/api/v1/stock/cover{query}", headers=_auth(VIEWER))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _risk_alarms(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get(
        "/api/v1/alarms?alarm_type=stockout_risk&status=ACTIVE_UNACK&status=CLEARED_UNACK",
        headers=_auth(VIEWER),
    )
    assert response.status_code == 200, response.text
    alarms: list[dict[str, Any]] = response.json()
    return alarms


def test_cover_after_a_refresh_and_its_alarm(
    world: tuple[httpx.Client, Coordinator, Node],
) -> None:
    """The sold-out cup is at risk and raises stockout_risk with a replenishment proposal;
    26 tea at 4 a day are not; a receipt of cups clears the alarm at the next check."""
    client, coordinator, w1 = world
    assert _covers(client)["count"] == 0  # no forecasts yet
    assert client.post("/api/v1/forecasts/refresh", headers=_auth(OPERATOR)).status_code == 200
    body = _covers(client)
    assert (body["lead_time_days"], body["review_days"]) == (2, 5)
    assert body["checked_ms"] is not None
    cup, tea = body["covers"]
    assert (cup["sku"], cup["location"], cup["stock"]) == ("cup", "s1/w1", 0)
    assert cup["at_risk"]
    assert cup["p90_days"] == 1
    assert cup["proposed"] == cup["order_up_to"] >= 7  # at least 1 a day for 7 days
    assert (tea["sku"], tea["stock"], tea["at_risk"]) == ("tea", 26, False)
    assert tea["expected_days"] == 7  # 4 a day from tomorrow: 28 > 26 on day 7
    assert 0 < tea["proposed"] < 28 + 26  # order-up-to over 7 days less the 26 held
    [alarm] = _risk_alarms(client)
    assert (alarm["source"], alarm["status"]) == ("w1/cup", "ACTIVE_UNACK")
    assert f"replenish {cup['proposed']}" in alarm["message"]
    assert [c["sku"] for c in _covers(client, "?at_risk=true")["covers"]] == ["cup"]
    assert [c["sku"] for c in _covers(client, "?sku=tea&location=s1/w1")["covers"]] == ["tea"]
    assert _covers(client, "?location=s1/w2")["count"] == 0
    assert _covers(client, "?limit=1")["count"] == 1

    feed(coordinator, w1.stock("delta", {"cup": 50}))
    assert coordinator.forecasts is not None
    assert coordinator.cover is not None
    coordinator.cover.check()  # what the job's thread does every interval
    assert not _covers(client, "?sku=cup")["covers"][0]["at_risk"]
    [alarm] = _risk_alarms(client)
    assert alarm["status"] == "CLEARED_UNACK"


def test_roles_and_bad_queries(world: tuple[httpx.Client, Coordinator, Node]) -> None:
    """No token → 401; malformed filters → 422."""
    client, _, _ = world
    assert client.get("/api/v1/stock/cover").status_code == 401
    for query in ("limit=0", "limit=10001", "sku=a%20b", "location=w1", "at_risk=maybe"):
        response = client.get(f"/api/v1/stock/cover?{query}", headers=_auth(VIEWER))
        assert response.status_code == 422, query
