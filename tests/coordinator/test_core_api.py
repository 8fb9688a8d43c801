"""The core HTTP API on a real store and twin (no broker): nodes, telemetry, stock,
dead letters, health, metrics, auth and error mapping."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from coordinator.api.app import create_app
from coordinator.ingest.records import RawMessage
from coordinator.service import Coordinator
from coordinator.settings import load_settings
from tests.coordinator.conftest import T0_MS, Node, raw, serve

VIEWER = "viewer-token-for-tests-0001"
OPERATOR = "operator-token-for-tests-0001"


def _feed(coordinator: Coordinator, *items: RawMessage) -> None:
    before = coordinator.writer.stats.messages
    for item in items:
        coordinator.writer.enqueue(item)
    deadline = time.monotonic() + 5
    while coordinator.writer.stats.messages < before + len(items) and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.fixture(params=["sqlite", "postgresql"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[httpx.Client]:
    """An app in dev mode (open API) with its service parts opened but no broker, its core
    store on each backend (PostgreSQL on the session's real server)."""
    db_url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    settings = load_settings(
        dev_mode=True, db_path=tmp_path / "api.db", db_url=db_url, broker_url="mqtt://127.0.0.1:1"
    )
    app = create_app(settings, start_service=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as c:
        n, w = Node(), Node(node="w1")
        _feed(
            app.state.coordinator,
            raw(n.birth()),
            raw(n.telemetry(*(("temp", T0_MS + i * 1000, float(i)) for i in range(10)))),
            raw(w.birth(node_kind="warehouse")),
            raw(w.stock("snapshot", {"sku-1": 7, "sku-2": 0})),
            RawMessage("ff/v1/s1/m1/telemetry", b"\xffnot json", T0_MS),
        )
        yield c


def test_nodes_list_and_detail(client: httpx.Client) -> None:
    """Nodes are listed with site, kind, online, last seen, bd_seq, last seq and counters,
    all of them or those of one kind (an unknown kind is 422)."""
    nodes = client.get("/api/v1/nodes").json()
    assert [(n["site"], n["node"], n["kind"], n["online"], n["last_seq"]) for n in nodes] == [
        ("s1", "m1", "machine", True, 1),
        ("s1", "w1", "warehouse", True, 1),
    ]
    assert [n["node"] for n in client.get("/api/v1/nodes?kind=warehouse").json()] == ["w1"]
    assert client.get("/api/v1/nodes?kind=vehicle").json() == []
    assert client.get("/api/v1/nodes?kind=robot").status_code == 422
    assert nodes[0]["counters"]["samples"] == 10
    detail = client.get("/api/v1/nodes/m1").json()
    assert detail["signals"][0]["name"] == "temp"
    assert detail["signals"][0]["value"] == 9.0


def test_telemetry_raw_and_rollup(client: httpx.Client) -> None:
    """Telemetry returns raw samples for a short range and rollups on request."""
    url = f"/api/v1/nodes/m1/telemetry?signal=temp&start={T0_MS}&end={T0_MS + 60_000}"
    body = client.get(url + "&resolution=raw").json()
    assert body["resolution"] == "raw"
    assert [p["value"] for p in body["points"]] == [float(i) for i in range(10)]
    rolled = client.get(url + "&resolution=1m").json()
    assert sum(p["count"] for p in rolled["points"]) == 10


def test_stock_and_dead_letters(client: httpx.Client) -> None:
    """Stock levels and dead letters are served."""
    assert client.get("/api/v1/stock?node=w1").json() == [
        {"site": "s1", "node": "w1", "sku": "sku-1", "qty": 7},
        {"site": "s1", "node": "w1", "sku": "sku-2", "qty": 0},
    ]
    page = client.get("/api/v1/dead-letters").json()
    assert page["total"] == 1
    assert page["items"][0]["error"] == "MalformedPayload"
    assert page["items"][0]["payload_prefix"].endswith("not json")


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/nodes/nope", 404),
        ("/api/v1/nodes/m1/telemetry?signal=nope", 404),
        ("/api/v1/nodes/m1/telemetry?signal=temp&start=2&end=1", 422),
        ("/api/v1/nodes/m1/telemetry?signal=temp&start=yesterday", 422),
        ("/api/v1/nodes/m1/telemetry", 422),
        ("/api/v1/dead-letters?limit=0", 422),
    ],
)
def test_errors_map_to_status_codes(client: httpx.Client, url: str, status: int) -> None:
    """Domain errors and bad parameters map to 404 / 422, never 500."""
    response = client.get(url)
    assert response.status_code == status, response.text


def test_health_is_503_without_broker_and_metrics_render(client: httpx.Client) -> None:
    """Without a broker /healthz says degraded (503); /metrics is Prometheus text."""
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["broker_connected"] is False
    text = client.get("/metrics").text
    assert "flexfleet_ingest_samples_total 10.0" in text
    assert "flexfleet_dead_letters_total 1.0" in text
    assert 'flexfleet_node_gaps_total{node="m1",site="s1"} 0.0' in text
    assert "flexfleet_nodes_online 2.0" in text
    assert "flexfleet_ingest_queue_depth" in text


def test_dashboard_and_openapi(client: httpx.Client) -> None:
    """The dashboard page and the OpenAPI document are served."""
    assert "flexfleet" in client.get("/").text
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/api/v1/nodes",
        "/api/v1/nodes/{node}/telemetry",
        "/api/v1/stock",
        "/api/v1/dead-letters",
    } <= set(paths)


def test_tokens_are_enforced(tmp_path: Path) -> None:
    """With tokens configured, reads need a viewer token."""
    settings = load_settings(
        db_path=tmp_path / "auth.db",
        broker_url="mqtt://127.0.0.1:1",
        viewer_tokens=VIEWER,
        operator_tokens=OPERATOR,
    )
    app = create_app(settings, start_service=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as c:
        assert c.get("/api/v1/nodes").status_code == 401
        assert c.get("/api/v1/nodes", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert (
            c.get("/api/v1/nodes", headers={"Authorization": f"Bearer {VIEWER}"}).status_code == 200
        )
        assert (
            c.get("/api/v1/stock", headers={"Authorization": f"Bearer {OPERATOR}"}).status_code
            == 200
        )
