"""Every answer of the coordinator carries its own time (`Flexfleet-Now-Ms`), on the clock it
dates things by: what the console counts ages from."""

from __future__ import annotations

from pathlib import Path

import httpx

from coordinator.api.app import create_app
from coordinator.settings import load_settings
from fleet_runtime.clock import FakeClock
from tests.coordinator.conftest import serve

AHEAD_S = 1_900_000_000.0  # 2030: a simulated clock far from this machine's


def test_answers_carry_the_coordinators_time(tmp_path: Path) -> None:
    """JSON answers, errors, the page and the event stream all carry it, in ms on the
    coordinator's clock (not this machine's)."""
    clock = FakeClock(AHEAD_S)
    settings = load_settings(
        dev_mode=True, db_path=tmp_path / "c.db", broker_url="mqtt://127.0.0.1:1"
    )
    app = create_app(settings, start_service=False, clock=clock)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        for path in ("/healthz", "/api/v1/nodes", "/api/v1/nodes/nowhere/none", "/"):
            answer = client.get(path)
            assert answer.headers["flexfleet-now-ms"] == str(int(AHEAD_S * 1000)), path
        clock.advance(2.5)
        with client.stream("GET", "/api/v1/alarms/stream") as stream:
            assert stream.headers["flexfleet-now-ms"] == str(int((AHEAD_S + 2.5) * 1000))
