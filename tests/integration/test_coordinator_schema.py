"""Schemathesis against the whole coordinator API (core and alarm routes, connected to a
real broker): no generated request may get a 5xx. The endless alarm stream is left out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from coordinator.api.app import create_app
from coordinator.settings import load_settings
from flexfleet.broker import start_broker
from tests.coordinator.conftest import T0_MS, Node, raw, serve

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A connected coordinator (dev mode) with a node, telemetry, stock and a dead letter."""
    tmp: Path = tmp_path_factory.mktemp("schema")
    broker = start_broker(tmp / "mosquitto")
    settings = load_settings(
        dev_mode=True, db_path=tmp / "c.db", broker_url=broker.url, coordinator_id="schema-coord"
    )
    app = create_app(settings)
    try:
        with serve(app) as url:
            coordinator = app.state.coordinator
            n, w = Node(), Node(node="w1")
            for item in (
                raw(n.birth()),
                raw(n.telemetry(("temp", T0_MS, 1.0))),
                raw(w.stock("snapshot", {"a": 1})),
                raw(n.event("raised")),
            ):
                coordinator.writer.enqueue(item)
            deadline = time.monotonic() + 10
            while httpx.get(f"{url}/healthz").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.05)
            yield url
    finally:
        broker.stop()


def _openapi() -> dict[str, Any]:
    settings = load_settings(dev_mode=True, db_path=Path("unused.db"))
    return create_app(settings, start_service=False).openapi()


schema = schemathesis.openapi.from_dict(_openapi()).exclude(path="/api/v1/alarms/stream")


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_server_errors(api_url: str, case: schemathesis.Case[Any]) -> None:
    """Whatever schemathesis sends any route, the coordinator answers below 500."""
    response = case.call(base_url=api_url)
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
