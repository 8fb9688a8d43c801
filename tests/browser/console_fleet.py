"""A coordinator with a simulated fleet, for the console's browser tests and screenshots.

`running_fleet()` starts a Mosquitto, an in-process coordinator (dev mode, or with the
tokens given) and real edge agents (simulated machines and micro-warehouses), declares a
delivery fleet, posts production jobs and deliveries, and waits until both plans exist.
`raise_alarm()` opens an alarm through the running coordinator's alarm service, as an
agent's anomaly event would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from coordinator.alarms.model import Alarm
from coordinator.alarms.port import Severity
from coordinator.alarms.service import AlarmService
from coordinator.api.app import create_app
from coordinator.settings import load_settings
from edge_agent.drivers.sim import SimWarehouseDriver
from edge_agent.runner import AgentThread, demo_config
from firmware_sim.demand import DemandParams
from firmware_sim.warehouse import MicroWarehouse, default_skus
from flexfleet.broker import start_broker
from tests.coordinator.conftest import serve
from tests.waiting import wait_until

SITE = "plant-1"
MACHINES = ("machine-01", "machine-02", "machine-03")
WAREHOUSES = ("warehouse-01", "warehouse-02")
FAMILIES = ("housing", "lid", "gasket")


@dataclass
class Fleet:
    """The running coordinator: its app (for its alarm service), URL and an API client."""

    app: FastAPI
    url: str
    api: httpx.Client
    agents: dict[str, AgentThread]

    @property
    def alarms(self) -> AlarmService:
        """The coordinator's alarm service."""
        service = self.app.state.alarms
        assert isinstance(service, AlarmService)
        return service


def raise_alarm(
    fleet: Fleet, *, source: str, alarm_type: str, severity: Severity, message: str
) -> Alarm:
    """Open an alarm now on (SITE, source, alarm_type), as an anomaly event would."""
    return fleet.alarms.raise_alarm(
        site=SITE,
        source=source,
        alarm_type=alarm_type,
        severity=severity,
        message=message,
        details={"node": source.split("/", maxsplit=1)[0]},
        ts_ms=int(time.time() * 1000),
    )


def _busy(agent: AgentThread, *, seed: int) -> None:
    """Make a warehouse agent's shop take about two orders a second, so it sells at once."""
    driver = agent.core.driver
    assert isinstance(driver, SimWarehouseDriver)
    driver.warehouse = MicroWarehouse(
        skus=default_skus(20), seed=seed, demand_params=DemandParams(background_rate_per_s=2.0)
    )


def _orders() -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    jobs = []
    for k in range(9):
        ops = []
        for step in range(2):
            family = FAMILIES[(k + step) % len(FAMILIES)]
            options = [
                {"machine": m, "duration_s": 900 + 300 * ((k + i + step) % 4)}
                for i, m in enumerate(MACHINES)
            ]
            ops.append({"options": options, "family": family})
        # job-1 is due almost at once: it cannot be finished in time, so the plan marks it late.
        due = now_ms + (60_000 if k == 1 else 8 * 3_600_000)
        jobs.append(
            {"id": f"job-{k}", "operations": ops, "due_ms": due, "rush": k == 4, "quantity": 20}
        )
    # Customers around Yiwu, within about 8 km of the depot.
    deliveries = [
        {
            "id": f"d{k}",
            "location": {
                "lat": 29.28 + 0.015 * ((k * 3) % 8),
                "lon": 120.03 + 0.014 * ((k * 5 + 2) % 8),
            },
            "demand": 2,
            "service_s": 120,
        }
        for k in range(8)
    ]
    return {"jobs": jobs, "deliveries": deliveries}


def _network() -> dict[str, Any]:
    """The supply network: one factory with the machines, a micro-warehouse per node."""
    return {
        "factories": [
            {"id": "f-yiwu", "location": {"lat": 29.31, "lon": 120.08}, "machines": list(MACHINES)}
        ],
        "warehouses": [
            {"id": "w-futian", "location": {"lat": 29.33, "lon": 120.11}, "nodes": [WAREHOUSES[0]]},
            {
                "id": "w-beiyuan",
                "location": {"lat": 29.29, "lon": 120.05},
                "nodes": [WAREHOUSES[1]],
            },
        ],
        "products": [{"sku": "SKU-0001", "factories": ["f-yiwu"]}],
        "rules": [{"below_qty": 100, "max_km": 150}],
    }


def _sales_order(order_id: str, qty: int) -> dict[str, Any]:
    return {
        "id": order_id,
        "customer": "live-shop-12",
        "lines": [{"sku": "SKU-0001", "qty": qty}],
        "destination": {"lat": 29.40, "lon": 120.12, "address": "Yiwu, Choucheng"},
        "service": "express",
    }


def _fleet_spec() -> dict[str, Any]:
    return {
        "depots": [{"id": WAREHOUSES[0], "location": {"lat": 29.33, "lon": 120.11}}],
        "vehicles": [
            {"id": "van-1", "depot_id": WAREHOUSES[0], "capacity": 10, "max_duration_s": 86_400},
            {"id": "van-2", "depot_id": WAREHOUSES[0], "capacity": 10, "max_duration_s": 86_400},
        ],
    }


@contextmanager
def running_fleet(work_dir: Path, *, api_token: str = "", **settings: Any) -> Iterator[Fleet]:
    """A broker, a coordinator and agents for MACHINES and WAREHOUSES, with planned orders;
    `api_token` (an admin's) for the API client when tokens are configured."""
    with ExitStack() as stack:
        broker = start_broker(work_dir / "mosquitto")
        stack.callback(broker.stop)
        config = load_settings(
            **{"dev_mode": True} | settings,
            db_path=work_dir / "console.db",
            broker_url=broker.url,
            coordinator_id="coord-console",
            share_group="gconsole",
            plan_time_limit_s=0.5,
            plan_quiet_s=0.2,
            plan_urgent_quiet_s=0.05,
            plan_max_delay_s=1.0,
        )
        app = create_app(config)
        url = stack.enter_context(serve(app))
        headers = {"Authorization": f"Bearer {api_token}"} if api_token else {}
        api = stack.enter_context(httpx.Client(base_url=url, timeout=15, headers=headers))
        wait_until(lambda: api.get("/healthz").status_code == 200, timeout_s=20)
        agents: dict[str, AgentThread] = {}
        for k, node in enumerate(MACHINES + WAREHOUSES, start=1):
            kind = "machine" if node in MACHINES else "warehouse"
            agent = AgentThread(
                demo_config(
                    site=SITE,
                    node=node,
                    kind=kind,
                    broker=broker.url,
                    state_dir=work_dir / node,
                    seed=k,
                    interval_ms=200,
                )
            )
            if node == WAREHOUSES[0]:
                _busy(agent, seed=k)
            agents[node] = agent.start()
            stack.callback(agent.stop)
        wait_until(
            lambda: sum(n["online"] for n in api.get("/api/v1/nodes").json()) == len(agents),
            timeout_s=30,
        )
        wait_until(lambda: api.put("/api/v1/plans/fleet", json=_fleet_spec()).status_code == 200)
        setups = [
            {"from_family": a, "to_family": b, "duration_s": 600}
            for a in FAMILIES
            for b in FAMILIES
            if a != b
        ]
        assert api.put("/api/v1/plans/changeovers", json={"changeovers": setups}).status_code == 200
        assert api.put("/api/v1/network", json=_network()).status_code == 200
        for k in range(2):
            sold = api.post("/api/v1/sales-orders", json=_sales_order(f"so-{k}", 1 + k))
            assert sold.status_code == 201, sold.text
        start = datetime.now(UTC) + timedelta(hours=2)
        stream = {
            "id": "evening-show",
            "start": start.isoformat(),
            "duration_s": 5400,
            "channel": "douyin-main",
            "featured_skus": ["SKU-0001", "SKU-0002"],
            "expected_audience": 12_000,
            "expected_orders": 800,
        }
        announced = api.post("/api/v1/live-streams", json=stream)
        assert announced.status_code == 201, announced.text
        posted = api.post("/api/v1/orders", json=_orders())
        assert posted.status_code == 202, posted.text
        wait_until(
            lambda: (
                api.get("/api/v1/plans/schedule").json()["version"]
                and api.get("/api/v1/plans/routes").json()["version"]
            ),
            timeout_s=30,
        )
        # Forecasts (baselines, no model) once the busy warehouse has sold something; the
        # stock cover check that follows each refresh then rates the stock-out risk.
        store = app.state.coordinator.store
        wait_until(lambda: store.daily_sales(since_day=0), timeout_s=30)
        assert api.post("/api/v1/forecasts/refresh").status_code == 200
        wait_until(lambda: api.get("/api/v1/stock/cover").json()["count"], timeout_s=20)
        yield Fleet(app=app, url=url, api=api, agents=agents)
