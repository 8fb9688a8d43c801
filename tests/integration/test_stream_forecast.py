"""A live stream announced two hours ahead on the running coordinator (real Mosquitto, a
simulated warehouse's agent, the forecast job's own thread): within a minute the hourly
forecast of the featured SKU rises during the stream, the other SKUs' stay as they were,
and the stock plan pre-positions what the forecast expects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from coordinator.api.app import create_app
from coordinator.service import Coordinator
from edge_agent.config import config_from_dict
from edge_agent.drivers.sim import SimWarehouseDriver
from edge_agent.runner import AgentThread
from firmware_sim.demand import DemandParams
from firmware_sim.warehouse import MicroWarehouse, default_skus
from flexfleet.broker import Broker
from tests.coordinator.conftest import serve
from tests.integration.coordinator_support import coordinator_settings
from tests.waiting import wait_until

pytestmark = pytest.mark.integration
HOUR_MS = 3_600_000


def _agent(broker: Broker, site: str, state_dir: Path) -> AgentThread:
    config = config_from_dict(
        {
            "node": {"site": site, "node": "wh1", "kind": "warehouse"},
            "mqtt": {"broker": broker.url, "wait_for_coordinator": True},
            "outbox": {"state_dir": str(state_dir)},
            "sampling": {"interval_ms": 100},
            "batching": {"max_age_ms": 200},
            "driver": {"type": "sim", "seed": 5, "skus": 3},
            "detectors": {"enabled": False},
        }
    )
    agent = AgentThread(config)
    driver = agent.core.driver
    assert isinstance(driver, SimWarehouseDriver)
    driver.warehouse = MicroWarehouse(
        skus=default_skus(3), seed=5, demand_params=DemandParams(background_rate_per_s=6.0)
    )
    return agent


def _network() -> dict[str, Any]:
    return {
        "factories": [{"id": "f1", "location": {"lat": 29.0, "lon": 120.5}, "machines": ["m1"]}],
        "warehouses": [{"id": "wa", "location": {"lat": 29.3, "lon": 120.0}, "nodes": ["wh1"]}],
        "products": [],
    }


def _hourly(api: httpx.Client, site: str) -> dict[str, dict[str, Any]]:
    body = api.get(f"/api/v1/forecasts/hourly?location={site}/wh1").json()
    return {f["sku"]: f for f in body["forecasts"]}


def test_a_stream_two_hours_ahead_moves_the_featured_forecast_and_the_plan(
    broker: Broker, tmp_path: Path, unique_site: str
) -> None:
    """SKU-0001 featured in a stream starting in two hours, 30 orders expected: its hourly
    event units add up to 30 over the stream's hours, SKU-0002 and -0003 keep every hour
    of their forecast, and the plan pre-positions 30 units for the stream `(forecast)`."""
    settings = coordinator_settings(broker, tmp_path, unique_site, forecast_horizon_days=7)
    app = create_app(settings)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as api:
        coordinator: Coordinator = app.state.coordinator
        agent = _agent(broker, unique_site, tmp_path / "agent").start()
        try:
            wait_until(lambda: len(coordinator.store.daily_sales(since_day=0)) == 3, 30)
        finally:
            agent.stop()
        assert agent.error is None
        picked = agent.core.driver.warehouse.picked_total  # type: ignore[attr-defined]
        wait_until(lambda: sum(u for *_, u in coordinator.store.daily_sales(since_day=0)) == picked)
        assert api.put("/api/v1/network", json=_network()).status_code == 200
        assert api.post("/api/v1/forecasts/refresh").status_code == 200
        quiet = _hourly(api, unique_site)
        assert sorted(quiet) == ["SKU-0001", "SKU-0002", "SKU-0003"]
        assert all(sum(f["event_units"]) == 0 for f in quiet.values())
        start = datetime.now(UTC) + timedelta(hours=2)
        stream = {
            "id": "ls-int",
            "start": start.isoformat(),
            "duration_s": 3600,
            "channel": "douyin",
            "featured_skus": ["SKU-0001"],
            "expected_orders": 30,
        }
        assert api.post("/api/v1/live-streams", json=stream).status_code == 201
        loud = wait_until(
            lambda: (
                (h := _hourly(api, unique_site)) and sum(h["SKU-0001"]["event_units"]) > 0 and h
            ),
            timeout_s=60,
        )
        plan = api.get("/api/v1/stock/plan").json()
    featured = loud["SKU-0001"]
    assert sum(featured["event_units"]) == pytest.approx(30.0, rel=1e-3)
    hour = (int(start.timestamp() * 1000) - featured["first_hour_ms"]) // HOUR_MS
    assert featured["event_units"][hour] > 0
    for sku in ("SKU-0002", "SKU-0003"):
        before, after = quiet[sku], loud[sku]
        shift = (after["first_hour_ms"] - before["first_hour_ms"]) // HOUR_MS
        assert after["mean"][: 72 - shift] == before["mean"][shift:]
        assert sum(after["event_units"]) == 0
    ups = [p for p in plan["prepositions"] if p["stream_id"] == "ls-int"]
    assert sum(p["units"] for p in ups) == pytest.approx(30.0, rel=1e-3)
    assert all("(forecast)" in p["why"] for p in ups)
