"""`/api/v1/forecasts` on a real store and HTTP server: roles, filters, refresh, bad queries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from coordinator.api.app import create_app
from coordinator.settings import load_settings
from protocol import Message
from tests.coordinator.conftest import Node, feed, serve

VIEWER = "viewer-token-for-forecasts-01"
OPERATOR = "operator-token-for-forecasts-01"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[httpx.Client]:
    """An app with viewer and operator tokens, no broker; two warehouses have sold today."""
    settings = load_settings(
        db_path=tmp_path / "api.db",
        broker_url="mqtt://127.0.0.1:1",
        viewer_tokens=VIEWER,
        operator_tokens=OPERATOR,
        forecast_horizon_days=7,
    )
    app = create_app(settings, start_service=False)
    now = int(time.time() * 1000)
    w1, w2 = Node(node="w1"), Node(node="w2")
    messages: list[Message] = [w1.birth(), w2.birth()]
    messages += [replace(w1.stock("delta", {"tea": -2, "cup": -1}), ts=now)]
    messages += [replace(w2.stock("delta", {"tea": -4, "pen": 20}), ts=now)]
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as c:
        feed(app.state.coordinator, *messages)
        yield c


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_operator_refreshes_and_viewer_reads_forecasts(client: httpx.Client) -> None:
    """After a refresh every SKU × location sold has a 7-day P10/P50/P90 forecast, and says
    it comes from a baseline because no model is configured."""
    before = client.get("/api/v1/forecasts", headers=_auth(VIEWER)).json()
    assert before["count"] == 0
    refreshed = client.post("/api/v1/forecasts/refresh", headers=_auth(OPERATOR))
    assert refreshed.status_code == 200
    assert refreshed.json()["count"] == 3
    body = client.get("/api/v1/forecasts", headers=_auth(VIEWER)).json()
    assert body["status"]["source"] == "baselines"
    assert body["status"]["series"] == 3
    assert body["quantile_levels"] == [0.1, 0.5, 0.9]
    assert [(f["sku"], f["location"]) for f in body["forecasts"]] == [
        ("cup", "s1/w1"),
        ("tea", "s1/w1"),
        ("tea", "s1/w2"),
    ]
    tea = body["forecasts"][2]
    assert tea["horizon_days"] == 7
    assert len(tea["dates"]) == len(tea["quantiles"]["p90"]) == 7
    assert tea["quantiles"]["p50"][0] == pytest.approx(4.0)  # one day of history: its mean
    assert tea["fallback"] is True
    assert tea["model_version"] == "baselines"
    assert tea["method"] == "MA28"
    assert "no forecast model configured" in tea["reason"]
    assert "too few to compare baselines" in tea["reason"]


def test_forecasts_filter_by_sku_and_location(client: httpx.Client) -> None:
    """`sku` and `location` narrow the list, alone or together."""
    client.post("/api/v1/forecasts/refresh", headers=_auth(OPERATOR))

    def pairs(query: str) -> list[tuple[str, str]]:
        body = client.get(f"/api/v1/forecasts?{query}", headers=_auth(VIEWER)).json()
        return [(f["sku"], f["location"]) for f in body["forecasts"]]

    assert pairs("sku=tea") == [("tea", "s1/w1"), ("tea", "s1/w2")]
    assert pairs("location=s1/w2") == [("tea", "s1/w2")]
    assert pairs("sku=cup&location=s1/w1") == [("cup", "s1/w1")]
    assert pairs("sku=pen") == []  # a receipt is not a sale
    assert pairs("limit=1") == [("cup", "s1/w1")]


def test_tokens_and_roles_are_enforced(client: httpx.Client) -> None:
    """No token → 401 on both routes; a viewer may read but not refresh (403)."""
    assert client.get("/api/v1/forecasts").status_code == 401
    assert client.post("/api/v1/forecasts/refresh").status_code == 401
    assert (
        client.get("/api/v1/forecasts", headers=_auth("wrong-token-0000000000")).status_code == 401
    )
    denied = client.post("/api/v1/forecasts/refresh", headers=_auth(VIEWER))
    assert denied.status_code == 403
    assert "operator" in denied.json()["detail"]


def test_malformed_query_is_422(client: httpx.Client) -> None:
    """Bad limits, SKUs and locations (not `site/node`) are refused with 422."""
    for query in (
        "limit=0",
        "limit=many",
        "sku=tea%20cup",
        "sku=",
        "location=w1",
        "location=a/b/c",
    ):
        response = client.get(f"/api/v1/forecasts?{query}", headers=_auth(VIEWER))
        assert response.status_code == 422, query


def test_hourly_forecasts_are_served_and_filtered(client: httpx.Client) -> None:
    """After a refresh each series has 72 hourly values from the next whole hour; without a
    stream nothing is added; a day's hours add up to the daily mean; `sku`, `location`
    and `limit` filter; a viewer may read, no token may not."""
    assert client.get("/api/v1/forecasts/hourly", headers=_auth(VIEWER)).json()["count"] == 0
    client.post("/api/v1/forecasts/refresh", headers=_auth(OPERATOR))
    body = client.get("/api/v1/forecasts/hourly", headers=_auth(VIEWER)).json()
    assert body["count"] == 3
    tea = next(f for f in body["forecasts"] if f["location"] == "s1/w2")
    assert tea["hours"] == len(tea["mean"]) == len(tea["quantiles"]["p90"]) == 72
    assert tea["first_hour_ms"] % 3_600_000 == 0
    assert tea["first_hour_ms"] > time.time() * 1000 - 3_600_000
    assert tea["event_units"] == [0.0] * 72
    daily = client.get("/api/v1/forecasts?sku=tea&location=s1/w2", headers=_auth(VIEWER)).json()
    first_day = daily["forecasts"][0]
    midnight = datetime.fromisoformat(first_day["dates"][0]).replace(tzinfo=UTC)
    at = (int(midnight.timestamp() * 1000) - tea["first_hour_ms"]) // 3_600_000
    first_day_hours = tea["mean"][at : at + 24]  # the first forecast day, 00-24 UTC
    assert sum(first_day_hours) == pytest.approx(first_day["mean"][0], rel=1e-3)
    query = "/api/v1/forecasts/hourly?sku=tea&location=s1/w1"
    assert [
        f["location"] for f in client.get(query, headers=_auth(VIEWER)).json()["forecasts"]
    ] == ["s1/w1"]
    assert (
        client.get("/api/v1/forecasts/hourly?limit=1", headers=_auth(VIEWER)).json()["count"] == 1
    )
    assert client.get("/api/v1/forecasts/hourly").status_code == 401


def test_malformed_hourly_query_is_422(client: httpx.Client) -> None:
    """The hourly route refuses the same bad limits, SKUs and locations with 422."""
    for query in ("limit=0", "limit=10001", "sku=tea%20cup", "location=w1", "location=a/b/c"):
        response = client.get(f"/api/v1/forecasts/hourly?{query}", headers=_auth(VIEWER))
        assert response.status_code == 422, query
