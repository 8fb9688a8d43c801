"""The server-sent-events stream, read over real HTTP from uvicorn while alarms change."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI

from coordinator.alarms.service import AlarmService
from coordinator.alarms.store import AlarmStore
from coordinator.api.errors import install_error_handlers
from coordinator.api.routes import alarms
from coordinator.settings import CoordinatorSettings
from fleet_runtime.clock import FakeClock
from flexfleet.broker import free_port

VIEWER = "viewer-token-0123456789"
OPERATOR = "operator-token-0123456789"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, AlarmService]]:
    """The alarm router on a real uvicorn, with its alarm service."""
    service = AlarmService(store=AlarmStore.open(tmp_path / "c.db"), clock=FakeClock())
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(alarms.router)
    app.state.settings = CoordinatorSettings(viewer_tokens=VIEWER, operator_tokens=OPERATOR)
    app.state.alarms = service
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}", service
    server.should_exit = True
    thread.join(10)
    service.close()


def read_events(lines: Iterator[str], count: int) -> list[tuple[str, Any]]:
    """The next `count` named events from an SSE line stream (comments and pings skipped)."""
    events: list[tuple[str, Any]] = []
    name, data = "", ""
    for line in lines:
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data += line.split(":", 1)[1].strip()
        elif line == "" and name:
            events.append((name, orjson.loads(data)))
            name, data = "", ""
            if len(events) == count:
                return events
    raise AssertionError(f"stream ended after {events}")


def test_stream_carries_alarm_changes_live(served: tuple[str, AlarmService]) -> None:
    """A viewer's stream sees ready, then each change (trigger, ack over HTTP, clear) in order."""
    url, service = served
    with (
        httpx.Client(base_url=url, timeout=10) as http,
        http.stream(
            "GET", "/api/v1/alarms/stream", headers={"Authorization": f"Bearer {VIEWER}"}
        ) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        [(name, hello), (snap, active)] = read_events(lines, 2)
        assert (name, hello["principal"]) == ("ready", "viewer-1")
        assert (snap, active) == ("snapshot", [])
        alarm = service.raise_alarm(
            site="s1", source="n1", alarm_type="t", severity="MAJOR", message="m", ts_ms=1
        )
        acked = http.post(
            f"/api/v1/alarms/{alarm.alarm_id}/ack",
            headers={"Authorization": f"Bearer {OPERATOR}"},
        )
        assert acked.status_code == 200
        service.clear_source(site="s1", source="n1", alarm_type="t", ts_ms=2)
        events = read_events(lines, 3)
    assert [name for name, _ in events] == ["alarm", "alarm", "alarm"]
    assert [(e["kind"], e["actor"]) for _, e in events] == [
        ("created", "system"),
        ("acknowledged", "operator-1"),
        ("cleared", "system"),
    ]
    assert {e["alarm_id"] for _, e in events} == {alarm.alarm_id}
    assert events[-1][1]["alarm"]["status"] == "CLEARED_ACK"


def test_stream_site_filter_and_unsubscribe(served: tuple[str, AlarmService]) -> None:
    """`?site=` limits the stream to one site; closing the stream unsubscribes it."""
    url, service = served
    with (
        httpx.Client(base_url=url, timeout=10) as http,
        http.stream(
            "GET",
            "/api/v1/alarms/stream",
            params={"site": "s2"},
            headers={"Authorization": f"Bearer {VIEWER}"},
        ) as stream,
    ):
        lines = stream.iter_lines()
        read_events(lines, 2)
        assert service.broadcaster.subscriber_count == 1
        for site in ("s1", "s2"):
            service.raise_alarm(
                site=site, source="n1", alarm_type="t", severity="MINOR", message="", ts_ms=1
            )
        [(_, event)] = read_events(lines, 1)
        assert event["site"] == "s2"
    deadline = time.monotonic() + 10
    while service.broadcaster.subscriber_count and time.monotonic() < deadline:
        service.raise_alarm(
            site="s2", source="n1", alarm_type="t", severity="MINOR", message="", ts_ms=2
        )
        time.sleep(0.05)
    assert service.broadcaster.subscriber_count == 0


def test_stream_needs_a_token(served: tuple[str, AlarmService]) -> None:
    """Without a token the stream is refused with 401 before it opens."""
    url, _ = served
    assert httpx.get(f"{url}/api/v1/alarms/stream", timeout=10).status_code == 401


def test_stream_starts_with_a_snapshot_of_active_alarms(served: tuple[str, AlarmService]) -> None:
    """The first data is the active alarms (cleared ones left out); snapshot=false skips it."""
    url, service = served
    keep = service.raise_alarm(
        site="s1", source="n1", alarm_type="t", severity="MAJOR", message="", ts_ms=1
    )
    gone = service.raise_alarm(
        site="s1", source="n2", alarm_type="t", severity="MAJOR", message="", ts_ms=1
    )
    service.clear_alarm(gone.alarm_id, actor="ana")
    auth = {"Authorization": f"Bearer {VIEWER}"}
    with (
        httpx.Client(base_url=url, timeout=10) as http,
        http.stream("GET", "/api/v1/alarms/stream", headers=auth) as stream,
    ):
        [_, (name, active)] = read_events(stream.iter_lines(), 2)
    assert name == "snapshot"
    assert [a["alarm_id"] for a in active] == [keep.alarm_id]
    with (
        httpx.Client(base_url=url, timeout=10) as http,
        http.stream(
            "GET", "/api/v1/alarms/stream", params={"snapshot": "false"}, headers=auth
        ) as stream,
    ):
        lines = stream.iter_lines()
        read_events(lines, 1)
        service.acknowledge(keep.alarm_id, actor="ana")
        [(name, event)] = read_events(lines, 1)
    assert (name, event["kind"]) == ("alarm", "acknowledged")
