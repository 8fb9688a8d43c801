"""Demand forecasting end to end on a real Mosquitto: a simulated micro-warehouse's agent
picks orders, its stock deltas become daily sales in the coordinator, and the forecasts
served at `/api/v1/forecasts` come from the configured ONNX model's card (every series is
a day old, so each falls back to the model's baseline and says why)."""

from __future__ import annotations

from pathlib import Path

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
from tests.coordinator.forecast.serving_support import write_sales_model
from tests.integration.coordinator_support import coordinator_settings
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


def _warehouse_agent(broker: Broker, site: str, state_dir: Path) -> AgentThread:
    """A warehouse agent whose simulated shop takes about four orders a second."""
    config = config_from_dict(
        {
            "node": {"site": site, "node": "wh1", "kind": "warehouse"},
            "mqtt": {"broker": broker.url, "wait_for_coordinator": True},
            "outbox": {"state_dir": str(state_dir)},
            "sampling": {"interval_ms": 100},
            "batching": {"max_age_ms": 200},
            "driver": {"type": "sim", "seed": 3, "skus": 3},
            "detectors": {"enabled": False},
        }
    )
    agent = AgentThread(config)
    driver = agent.core.driver
    assert isinstance(driver, SimWarehouseDriver)
    driver.warehouse = MicroWarehouse(
        skus=default_skus(3), seed=3, demand_params=DemandParams(background_rate_per_s=4.0)
    )
    return agent


def test_warehouse_picks_become_sales_and_a_model_forecast(
    broker: Broker, tmp_path: Path, unique_site: str
) -> None:
    """Every unit the warehouse picked is one unit of today's sales; a refresh then serves a
    7-day forecast per SKU at that warehouse, naming the model and the fallback reason."""
    model = write_sales_model(tmp_path / "models" / "v1")
    settings = coordinator_settings(
        broker,
        tmp_path,
        unique_site,
        forecast_model_dir=tmp_path / "models",
        forecast_horizon_days=7,
    )
    app = create_app(settings)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as api:
        coordinator: Coordinator = app.state.coordinator
        agent = _warehouse_agent(broker, unique_site, tmp_path / "agent").start()
        try:

            def sold() -> dict[str, int]:
                return {sku: u for _s, _n, sku, _d, u in coordinator.store.daily_sales(since_day=0)}

            wait_until(lambda: sum(sold().values()) >= 6)
        finally:
            agent.stop()
        assert agent.error is None
        warehouse = agent.core.driver.warehouse  # type: ignore[attr-defined]
        wait_until(lambda: sum(sold().values()) == warehouse.picked_total)
        refreshed = api.post("/api/v1/forecasts/refresh")
        assert refreshed.status_code == 200
        body = api.get(f"/api/v1/forecasts?location={unique_site}/wh1").json()
        sales = sold()
    assert body["status"]["source"] == "model"
    assert body["status"]["model_version"] == model.card.model_version
    assert [f["sku"] for f in body["forecasts"]] == sorted(sales)
    for forecast in body["forecasts"]:
        assert forecast["model_version"] == model.card.model_version
        assert forecast["fallback"] is True
        assert forecast["method"] == model.card.fallback_baseline
        assert forecast["reason"].startswith("too little history: 1 days, the model needs 28")
        assert forecast["horizon_days"] == 7
        assert forecast["quantiles"]["p50"][0] == pytest.approx(sales[forecast["sku"]])
