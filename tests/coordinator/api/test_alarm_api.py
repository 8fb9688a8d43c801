"""The alarm routes over real HTTP (uvicorn on a free port): roles, actions, hostile input."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from coordinator.alarms.service import AlarmService
from coordinator.alarms.store import AlarmStore
from coordinator.api.errors import install_error_handlers
from coordinator.api.routes import alarms
from coordinator.notify.delivery import DeliveryRecord
from coordinator.settings import CoordinatorSettings
from fleet_runtime.clock import FakeClock
from flexfleet.broker import free_port

VIEWER = "viewer-token-0123456789"
OPERATOR = "operator-token-0123456789"
AS_VIEWER = {"Authorization": f"Bearer {VIEWER}"}
AS_OPERATOR = {"Authorization": f"Bearer {OPERATOR}"}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    """The alarm router with the coordinator's error handler and real settings."""
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(alarms.router)
    app.state.settings = CoordinatorSettings(viewer_tokens=VIEWER, operator_tokens=OPERATOR)
    return app


@pytest.fixture
def service(app: FastAPI, tmp_path: Path) -> Iterator[AlarmService]:
    """A fresh alarm service over a temporary database, installed in the app."""
    svc = AlarmService(store=AlarmStore.open(tmp_path / "c.db"), clock=FakeClock())
    app.state.alarms = svc
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def server_url(app: FastAPI) -> Iterator[str]:
    """The app served by a real uvicorn on a free loopback port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def client(server_url: str, service: AlarmService) -> Iterator[httpx.Client]:
    """An HTTP client against the served app, with this test's service installed."""
    with httpx.Client(base_url=server_url, timeout=10) as http:
        yield http


def new_alarm(service: AlarmService, source: str = "n1", severity: str = "MAJOR") -> str:
    return service.raise_alarm(
        site="s1",
        source=source,
        alarm_type="overheat",
        severity=severity,  # type: ignore[arg-type]
        message="hot",
        ts_ms=1_700_000_000_000,
    ).alarm_id


def test_missing_and_wrong_tokens_are_401(client: httpx.Client, service: AlarmService) -> None:
    """Every alarm route refuses callers without a valid bearer token."""
    alarm_id = new_alarm(service)
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {VIEWER}"}):
        for method, path in (
            ("GET", "/api/v1/alarms"),
            ("GET", f"/api/v1/alarms/{alarm_id}"),
            ("POST", f"/api/v1/alarms/{alarm_id}/ack"),
            ("GET", "/api/v1/alarms/stream"),
        ):
            response = client.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, headers)
    assert client.get("/api/v1/alarms").headers["www-authenticate"] == "Bearer"
    assert service.get(alarm_id).alarm.status == "ACTIVE_UNACK"


def test_viewer_reads_but_cannot_act(client: httpx.Client, service: AlarmService) -> None:
    """A viewer token lists and reads alarms; every operator action answers 403."""
    alarm_id = new_alarm(service)
    assert client.get("/api/v1/alarms", headers=AS_VIEWER).status_code == 200
    assert client.get(f"/api/v1/alarms/{alarm_id}", headers=AS_VIEWER).status_code == 200
    for path, body in (
        ("ack", None),
        ("clear", None),
        ("comments", {"text": "hi"}),
        ("assign", {"assignee": "bo"}),
    ):
        response = client.post(f"/api/v1/alarms/{alarm_id}/{path}", json=body, headers=AS_VIEWER)
        assert response.status_code == 403, path
    assert len(service.get(alarm_id).transitions) == 1


def test_operator_works_an_alarm_through_its_life(
    client: httpx.Client, service: AlarmService
) -> None:
    """Ack, comment, assign, clear over HTTP; the history names the operator token's principal."""
    alarm_id = new_alarm(service)
    base = f"/api/v1/alarms/{alarm_id}"
    assert client.post(f"{base}/ack", headers=AS_OPERATOR).json()["status"] == "ACTIVE_ACK"
    comment = client.post(f"{base}/comments", json={"text": "fan"}, headers=AS_OPERATOR)
    assert (comment.status_code, comment.json()["author"]) == (201, "operator-1")
    assigned = client.post(f"{base}/assign", json={"assignee": "bo"}, headers=AS_OPERATOR)
    assert assigned.json()["assignee"] == "bo"
    cleared = client.post(f"{base}/clear", json={"note": "fixed"}, headers=AS_OPERATOR)
    assert cleared.json()["status"] == "CLEARED_ACK"
    detail = client.get(base, headers=AS_VIEWER).json()
    assert [(t["action"], t["actor"]) for t in detail["transitions"]] == [
        ("CREATED", "system"),
        ("ACKNOWLEDGED", "operator-1"),
        ("COMMENTED", "operator-1"),
        ("ASSIGNED", "operator-1"),
        ("CLEARED", "operator-1"),
    ]
    assert detail["comments"][0]["text"] == "fan"


def test_list_filters(client: httpx.Client, service: AlarmService) -> None:
    """Query parameters filter by status, severity, source and page."""
    a = new_alarm(service, "n1", "MAJOR")
    new_alarm(service, "n2", "MINOR")
    service.acknowledge(a, actor="ana")

    def get(params: dict[str, str | list[str] | int]) -> list[dict[str, object]]:
        response = client.get("/api/v1/alarms", params=params, headers=AS_VIEWER)
        rows: list[dict[str, object]] = response.json()
        return rows

    assert [x["source"] for x in get({"status": "ACTIVE_ACK"})] == ["n1"]
    assert [x["source"] for x in get({"severity": ["MINOR", "CRITICAL"]})] == ["n2"]
    assert [x["source"] for x in get({"source": "n2", "site": "s1"})] == ["n2"]
    assert len(get({"limit": 1})) == 1
    assert get({"site": "elsewhere"}) == []


def test_invalid_transitions_are_409(client: httpx.Client, service: AlarmService) -> None:
    """Acking or clearing twice, or re-assigning the same person, answers 409 with the reason."""
    alarm_id = new_alarm(service)
    base = f"/api/v1/alarms/{alarm_id}"
    client.post(f"{base}/ack", headers=AS_OPERATOR)
    twice = client.post(f"{base}/ack", headers=AS_OPERATOR)
    assert twice.status_code == 409
    assert twice.json()["error"] == "InvalidTransition"
    client.post(f"{base}/clear", headers=AS_OPERATOR)
    assert client.post(f"{base}/clear", headers=AS_OPERATOR).status_code == 409
    unassign = client.post(f"{base}/assign", json={"assignee": None}, headers=AS_OPERATOR)
    assert unassign.status_code == 409


@pytest.mark.parametrize("alarm_id", ["nope", "0" * 32, "%00", "'%20OR%201=1", "%E2%98%83"])
def test_unknown_alarm_ids_are_404(client: httpx.Client, alarm_id: str) -> None:
    """Unknown or hostile ids answer 404 AlarmNotFound for reads and actions alike."""
    assert client.get(f"/api/v1/alarms/{alarm_id}", headers=AS_VIEWER).status_code == 404
    response = client.post(f"/api/v1/alarms/{alarm_id}/ack", headers=AS_OPERATOR)
    assert response.status_code == 404
    assert response.json()["error"] == "AlarmNotFound"


def test_path_traversal_id_matches_no_route(client: httpx.Client) -> None:
    """An id smuggling slashes never reaches the service: plain 404 from the router."""
    response = client.post("/api/v1/alarms/..%2F..%2Fetc/ack", headers=AS_OPERATOR)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "raw"),
    [
        ("comments", {"text": "x" * 4001}, None),
        ("comments", {"text": "x" * 2_000_000}, None),
        ("comments", {"text": ""}, None),
        ("comments", {"text": "   "}, None),
        ("comments", {"text": "bell\x07"}, None),
        ("comments", {"text": 5}, None),
        ("comments", {"text": "ok", "extra": 1}, None),
        ("comments", None, b"{not json"),
        ("comments", None, b"[" * 10_000),
        ("assign", {"assignee": "y" * 65}, None),
        ("assign", {}, None),
        ("clear", {"note": "z" * 5000}, None),
    ],
)
def test_hostile_bodies_are_422(
    client: httpx.Client,
    service: AlarmService,
    path: str,
    body: object,
    raw: bytes | None,
) -> None:
    """Oversized, empty, mistyped or malformed bodies are refused (422; 400 for JSON nested
    too deep to parse) and change nothing."""
    alarm_id = new_alarm(service)
    url = f"/api/v1/alarms/{alarm_id}/{path}"
    if raw is not None:
        response = client.post(
            url, content=raw, headers={**AS_OPERATOR, "Content-Type": "application/json"}
        )
    else:
        response = client.post(url, json=body, headers=AS_OPERATOR)
    assert response.status_code == (400 if raw is not None and raw.startswith(b"[[") else 422)
    assert len(service.get(alarm_id).transitions) == 1


@pytest.mark.parametrize(
    "params",
    [
        {"status": "OPEN"},
        {"severity": "minor"},
        {"limit": 0},
        {"limit": 10**6},
        {"since_ms": -1},
        {"offset": "x"},
        {"site": "s" * 65},
    ],
)
def test_bad_filters_are_422(client: httpx.Client, params: dict[str, object]) -> None:
    """Out-of-range or unknown filter values answer 422."""
    response = client.get("/api/v1/alarms", params=params, headers=AS_VIEWER)  # type: ignore[arg-type]
    assert response.status_code == 422


def test_overlong_alarm_id_is_422(client: httpx.Client) -> None:
    """A path id longer than any alarm id is refused before the service is asked."""
    assert client.get("/api/v1/alarms/" + "a" * 65, headers=AS_VIEWER).status_code == 422


def test_delivery_log_is_readable_by_viewers(client: httpx.Client, service: AlarmService) -> None:
    """The webhook delivery log of an alarm is served oldest first; unknown ids answer 404."""
    alarm_id = new_alarm(service)
    for attempt, outcome in ((1, "retrying"), (2, "delivered")):
        service.store.record_delivery(
            DeliveryRecord(
                delivery_id="d1",
                alarm_id=alarm_id,
                event="created",
                url="http://receiver/hook",
                attempt=attempt,
                outcome=outcome,  # type: ignore[arg-type]
                status_code=500 if attempt == 1 else 200,
                error="HTTP 500" if attempt == 1 else "",
                ts_ms=attempt,
            )
        )
    rows = client.get(f"/api/v1/alarms/{alarm_id}/deliveries", headers=AS_VIEWER).json()
    assert [(r["attempt"], r["outcome"], r["status_code"]) for r in rows] == [
        (1, "retrying", 500),
        (2, "delivered", 200),
    ]
    missing = client.get("/api/v1/alarms/nope/deliveries", headers=AS_VIEWER)
    assert missing.status_code == 404


def test_without_alarm_service_routes_answer_503(client: httpx.Client, app: FastAPI) -> None:
    """A coordinator started without alarms answers 503 on the alarm routes, not 500."""
    app.state.alarms = None
    assert client.get("/api/v1/alarms", headers=AS_VIEWER).status_code == 503
    assert client.get("/api/v1/alarms/stream", headers=AS_VIEWER).status_code == 503
    response = client.post("/api/v1/alarms/x/ack", headers=AS_OPERATOR)
    assert (response.status_code, response.json()["error"]) == (503, "AlarmsUnavailable")
