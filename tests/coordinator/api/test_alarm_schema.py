"""Schemathesis against the alarm routes' OpenAPI schema: no generated request may cause a 5xx.

The endless `/stream` response is left out (schemathesis would wait on it forever); its
refusals are covered in test_alarm_stream.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, settings

from coordinator.alarms.service import AlarmService
from coordinator.alarms.store import AlarmStore
from coordinator.api.errors import install_error_handlers
from coordinator.api.routes import alarms
from coordinator.settings import CoordinatorSettings
from fleet_runtime.clock import FakeClock
from flexfleet.broker import free_port

OPERATOR = "operator-token-0123456789"


@pytest.fixture(scope="module")
def alarm_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The alarm routes on a real uvicorn, with a few alarms to act on."""
    db: Path = tmp_path_factory.mktemp("alarm-schema") / "c.db"
    service = AlarmService(store=AlarmStore.open(db), clock=FakeClock())
    for i in range(3):
        service.raise_alarm(
            site="s1", source=f"n{i}", alarm_type="t", severity="MAJOR", message="m", ts_ms=i
        )
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(alarms.router)
    app.state.settings = CoordinatorSettings(
        viewer_tokens="viewer-token-0123456789", operator_tokens=OPERATOR
    )
    app.state.alarms = service
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
    service.close()


def _alarm_openapi() -> dict[str, object]:
    app = FastAPI()
    app.include_router(alarms.router)
    return app.openapi()


schema = schemathesis.openapi.from_dict(_alarm_openapi()).exclude(path="/api/v1/alarms/stream")


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_server_errors(alarm_api: str, case: schemathesis.Case[Any]) -> None:
    """Whatever schemathesis sends an alarm route, as operator, it answers below 500."""
    response = case.call(base_url=alarm_api, headers={"Authorization": f"Bearer {OPERATOR}"})
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
