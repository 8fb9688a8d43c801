"""`GET /api/v1/stock/plan` on a real store and HTTP server: targets against positions, a
lateral transfer from spare stock, replenishment, pre-positioning for an announced stream,
filters, roles and bad queries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from coordinator.api.app import create_app
from coordinator.errors import ConfigError
from coordinator.service import Coordinator
from coordinator.settings import load_settings
from protocol import Message
from tests.coordinator.conftest import Node, feed, serve

VIEWER = "viewer-token-for-stock-plan-1"
OPERATOR = "operator-token-for-stock-plan"
AS_VIEWER = {"Authorization": f"Bearer {VIEWER}"}
AS_OPERATOR = {"Authorization": f"Bearer {OPERATOR}"}
ADMIN = "admin-token-for-stock-plan"
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}
NETWORK: dict[str, Any] = {
    "factories": [{"id": "f1", "location": {"lat": 29.0, "lon": 120.5}, "machines": ["m1"]}],
    "warehouses": [
        {"id": "wa", "location": {"lat": 29.30, "lon": 120.00}, "nodes": ["w1"]},
        {"id": "wb", "location": {"lat": 29.30, "lon": 120.10}, "nodes": ["w2"]},
    ],
    "products": [{"sku": "tea", "factories": ["f1"]}],
}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[httpx.Client, Coordinator]]:
    """wa (shelf w1) sold out of 6 cups and 8 tea today; wb (w2), 10 km east, sold 1 cup
    of 300 and 1 tea of 2; forecasts refreshed."""
    settings = load_settings(
        db_path=tmp_path / "api.db",
        broker_url="mqtt://127.0.0.1:1",
        viewer_tokens=VIEWER,
        operator_tokens=OPERATOR,
        admin_tokens=ADMIN,
        forecast_horizon_days=7,
        cover_lead_time_days=2,
        stock_lateral_transfers=False,  # proposed only (carried out: test_lateral_transfers)
    )
    app = create_app(settings, start_service=False)
    now = int(time.time() * 1000)
    w1, w2 = Node(node="w1"), Node(node="w2")
    messages: list[Message] = [w1.birth(), w1.stock("snapshot", {"cup": 6, "tea": 8})]
    messages += [replace(w1.stock("delta", {"cup": -6, "tea": -8}), ts=now)]
    messages += [w2.birth(), w2.stock("snapshot", {"cup": 300, "tea": 2})]
    messages += [replace(w2.stock("delta", {"cup": -1, "tea": -1}), ts=now)]
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        feed(app.state.coordinator, *messages)
        assert client.put("/api/v1/network", json=NETWORK, headers=AS_ADMIN).status_code == 200
        assert client.post("/api/v1/forecasts/refresh", headers=AS_OPERATOR).status_code == 200
        yield client, app.state.coordinator


def _plan(client: httpx.Client, query: str = "") -> dict[str, Any]:
    response = client.get(f"/api/v1/stock/plan{query}", headers=AS_VIEWER)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_plan_moves_spare_cups_and_makes_tea(world: tuple[httpx.Client, Coordinator]) -> None:
    """wa's empty cup shelf is filled from wb's spare (nobody makes cups); tea, short
    everywhere, is made at f1; every line says why."""
    client, _ = world
    body = _plan(client)
    assert body["lead_time_days"] == 2
    assert body["service_levels"] == {"A": 0.98, "B": 0.95, "C": 0.9}
    targets = {(t["sku"], t["warehouse"]): t for t in body["targets"]}
    cup_a, cup_b = targets["cup", "wa"], targets["cup", "wb"]
    assert (cup_a["on_hand"], cup_a["position"]) == (0, 0)
    assert cup_a["target"] > 0
    assert cup_b["on_hand"] == 299
    assert all(t["why"] for t in body["targets"])
    [move] = body["transfers"]["proposed"]
    assert (move["sku"], move["source"], move["destination"]) == ("cup", "wb", "wa")
    assert move["qty"] == cup_a["target"]  # the whole gap, wb has far more spare
    assert 9 < move["km"] < 11
    assert "wb holds" in move["why"]
    tea_a, tea_b = targets["tea", "wa"], targets["tea", "wb"]
    made = {(r["sku"], r["warehouse"]): r for r in body["replenishments"]}
    assert made["tea", "wa"]["qty"] == tea_a["target"]
    assert made["tea", "wa"]["factory"] == "f1"
    assert made["tea", "wb"]["qty"] == tea_b["target"] - 1
    assert ("cup", "wa") not in made
    assert body["prepositions"] == []
    assert body["transfers"]["in_transit"] == []


def test_an_announced_stream_raises_featured_targets(
    world: tuple[httpx.Client, Coordinator],
) -> None:
    """A stream in an hour expecting 40 orders of cup adds 40 cups across the warehouses
    and raises wa's cup target; tea's targets stay."""
    client, _ = world
    before = {(t["sku"], t["warehouse"]): t["target"] for t in _plan(client)["targets"]}
    start = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    stream = {
        "id": "ls-1",
        "start": start,
        "duration_s": 3600,
        "channel": "douyin",
        "featured_skus": ["cup"],
        "expected_orders": 40,
    }
    response = client.post("/api/v1/live-streams", json=stream, headers=AS_OPERATOR)
    assert response.status_code == 201, response.text
    body = _plan(client)
    ups = body["prepositions"]
    assert {p["stream_id"] for p in ups} == {"ls-1"}
    assert sum(p["units"] for p in ups) == pytest.approx(40.0)
    after = {(t["sku"], t["warehouse"]): t for t in body["targets"]}
    assert after["cup", "wa"]["target"] > before["cup", "wa"]
    assert after["tea", "wa"]["target"] == before["tea", "wa"]
    assert "ls-1" in ups[0]["why"]


def _hourly(client: httpx.Client, sku: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/forecasts/hourly?sku={sku}", headers=AS_VIEWER)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["forecasts"]
    return found


def test_a_stream_two_hours_ahead_reaches_the_forecast_and_the_plan(
    world: tuple[httpx.Client, Coordinator],
) -> None:
    """On the running forecast job: a stream announced two hours ahead featuring cup lifts
    cup's hourly forecast during the stream at both shelves (tea's hours stay as they
    were), and the plan then pre-positions what the forecast expects, within a minute."""
    client, coordinator = world
    job = coordinator.forecasts
    assert job is not None
    quiet_tea = [f["mean"] for f in _hourly(client, "tea")]
    assert all(sum(f["event_units"]) == 0 for f in _hourly(client, "cup"))
    job.start(tick_s=0.2)
    try:
        start = datetime.now(UTC) + timedelta(hours=2)
        stream = {
            "id": "ls-2",
            "start": start.isoformat(),
            "duration_s": 3600,
            "channel": "douyin",
            "featured_skus": ["cup"],
            "expected_orders": 40,
        }
        response = client.post("/api/v1/live-streams", json=stream, headers=AS_OPERATOR)
        assert response.status_code == 201, response.text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            cups = _hourly(client, "cup")
            if cups and all(sum(f["event_units"]) > 0 for f in cups):
                break
            time.sleep(0.2)
        assert len(cups) == 2
        for f in cups:
            # 40 orders over 2 shelves; the stream covers parts of two or three hours
            assert sum(f["event_units"]) == pytest.approx(20.0, rel=1e-3)
            hour = (int(start.timestamp() * 1000) - f["first_hour_ms"]) // 3_600_000
            assert f["event_units"][hour] > 0
            assert f["mean"][hour] > f["event_units"][hour]
        assert [f["mean"] for f in _hourly(client, "tea")] == quiet_tea
        ups = _plan(client)["prepositions"]
        assert {p["stream_id"] for p in ups} == {"ls-2"}
        assert sum(p["units"] for p in ups) == pytest.approx(40.0, rel=1e-3)
        assert "(forecast)" in ups[0]["why"]
    finally:
        job.stop()


def test_filters(world: tuple[httpx.Client, Coordinator]) -> None:
    """sku, warehouse, short and limit narrow what is listed."""
    client, _ = world
    assert {t["sku"] for t in _plan(client, "?sku=tea")["targets"]} == {"tea"}
    only_b = _plan(client, "?warehouse=wb")
    assert {t["warehouse"] for t in only_b["targets"]} == {"wb"}
    assert only_b["transfers"]["proposed"]  # wb sends: listed under either end
    assert {(t["sku"], t["warehouse"]) for t in _plan(client, "?short=false")["targets"]} == {
        ("cup", "wb")
    }
    assert _plan(client, "?limit=1")["count"] == 1
    assert _plan(client, "?warehouse=nowhere")["count"] == 0


def test_roles_and_bad_queries(world: tuple[httpx.Client, Coordinator]) -> None:
    """No token → 401; malformed or oversized filters → 422 naming the parameter."""
    client, _ = world
    assert client.get("/api/v1/stock/plan").status_code == 401
    for query, name in (
        ("limit=0", "limit"),
        ("limit=100001", "limit"),
        ("sku=a%20b", "sku"),
        ("warehouse=a/b", "warehouse"),
        ("warehouse=" + "w" * 65, "warehouse"),
        ("short=maybe", "short"),
    ):
        response = client.get(f"/api/v1/stock/plan?{query}", headers=AS_VIEWER)
        assert response.status_code == 422, query
        assert name in response.text


def test_service_levels_come_from_the_settings(tmp_path: Path) -> None:
    """stock_service_a/b/c set the levels the plan uses; a level of 1 or more is refused."""
    settings = load_settings(
        db_path=tmp_path / "levels.db",
        broker_url="mqtt://127.0.0.1:1",
        viewer_tokens=VIEWER,
        operator_tokens=OPERATOR,
        stock_service_a=0.9,
        stock_service_b=0.8,
        stock_service_c=0.7,
    )
    app = create_app(settings, start_service=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        body = _plan(client)
    assert body["service_levels"] == {"A": 0.9, "B": 0.8, "C": 0.7}
    assert body["targets"] == []  # no network declared: nothing to place
    with pytest.raises(ConfigError, match="stock_service_a"):
        load_settings(
            db_path=tmp_path / "x.db",
            viewer_tokens=VIEWER,
            operator_tokens=OPERATOR,
            stock_service_a=1.0,
        )
