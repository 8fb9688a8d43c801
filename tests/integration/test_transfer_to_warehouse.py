"""Made goods reach the warehouse as a planned transfer, across a kill -9 of the coordinator.

On a real Mosquitto with real agents (a machine, a warehouse, a van) and the coordinator
as a process of its own, all on one simulated clock: a made-to-order job's units are
picked up at the factory by the van (a pickup stop on its route, planned with the
deliveries), the coordinator is killed (SIGKILL) while the van carries them, the van
unloads at its depot and the warehouse reports the receipt while no coordinator runs; the
restarted coordinator takes the receipt once, the order moves to `at_warehouse` once and
is then delivered from that warehouse.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge_agent.drivers.sim_vehicle import SimVehicleDriver
from edge_agent.runner import AgentThread
from fleet_runtime.clock import ScaledClock
from flexfleet.broker import Broker
from tests.integration.coordinator_support import coordinator_process, sim_agent_config
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SPEED = 60.0
FACTORY = (45.07, 7.68)
WAREHOUSE = (45.08, 7.69)
CUSTOMER = (45.09, 7.70)
VAN_KMH = 15.0  # slow enough that the van is on the road for seconds of wall time
TRANSFER = "t.sales.o-1.0.0"


def _coordinator(
    broker: Broker, db: Path, site: str, origin_s: float
) -> AbstractContextManager[tuple[subprocess.Popen[str], str]]:
    env = {
        "FLEXFLEET_PLAN_TIME_UNIT_S": "60",
        "FLEXFLEET_PLAN_QUIET_S": "0.2",
        "FLEXFLEET_PLAN_URGENT_QUIET_S": "0.05",
        "FLEXFLEET_PLAN_TIME_LIMIT_S": "1",
        "FLEXFLEET_TRAVEL_SPEED_KMH": f"{VAN_KMH:g}",
        "FLEXFLEET_DELIVERY_SERVICE_S": "30",
        "FLEXFLEET_DISPATCH_MAX_WAIT_S": "0",  # a van leaves as soon as its tour is planned
        "FLEXFLEET_COMMAND_TIMEOUT_S": f"{60 * SPEED:g}",
        "FLEXFLEET_SHARE_GROUP": f"g{site}",
    }
    clock = ["--clock-speed", repr(SPEED), "--clock-origin", repr(origin_s)]
    return coordinator_process(
        broker, db, coordinator_id=f"carry-{site}", env=env, args=["--site", site, *clock]
    )


def _held(client: httpx.Client) -> list[str]:
    return [d["id"] for d in client.get("/api/v1/orders").json()["deliveries"]]


def _receipts(db: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        rows = conn.execute(
            "SELECT transfer_id, sku, quantity FROM transfer_receipts WHERE transfer_id = ?",
            (TRANSFER,),
        )
        return [(str(t), str(s), int(q)) for t, s, q in rows]


def _declare(client: httpx.Client) -> None:
    products = {"products": [{
        "sku": "MUG", "family": "mugs", "replenish": "off",
        "operations": [{"options": [
            {"machine": "m1", "duration_s_per_unit": 6.0, "setup_s": 0.0}
        ]}],
    }]}  # fmt: skip
    # the planner learns of m1 on the commit after the twin sees it online
    wait_until(lambda: client.put("/api/v1/plans/products", json=products).status_code == 200)
    network = {
        "factories": [{"id": "f1", "machines": ["m1"],
                       "location": {"lat": FACTORY[0], "lon": FACTORY[1]}}],
        "warehouses": [{"id": "w1", "nodes": ["w1"],
                        "location": {"lat": WAREHOUSE[0], "lon": WAREHOUSE[1]}}],
        "products": [{"sku": "MUG", "factories": ["f1"]}],
    }  # fmt: skip
    assert client.put("/api/v1/network", json=network).status_code == 200
    fleet = {
        "depots": [{"id": "w1", "location": {"lat": WAREHOUSE[0], "lon": WAREHOUSE[1]}}],
        "vehicles": [{"id": "v1", "depot_id": "w1", "capacity": 100}],
    }
    assert client.put("/api/v1/plans/fleet", json=fleet).status_code == 200


def test_a_made_jobs_units_reach_the_warehouse_once_across_a_coordinator_kill(
    broker: Broker, tmp_path: Path, unique_site: str
) -> None:
    """The van picks the job's units up at the factory and unloads them at its depot while
    the coordinator is killed; after the restart the receipt is stored once, the order is
    `at_warehouse` once, and it is delivered from that warehouse."""
    origin_s = time.time()
    clock = ScaledClock(speed=SPEED, origin_s=origin_s)
    dock = str(tmp_path / "dock")
    machine = AgentThread(
        sim_agent_config(unique_site, "m1", "machine", broker, tmp_path / "m1", seed=3), clock=clock
    )
    warehouse = AgentThread(
        sim_agent_config(
            unique_site, "w1", "warehouse", broker, tmp_path / "w1",
            skus=2, seed=4, dock=dock, speed=1.0 / SPEED,
        ),
        clock=clock,
    )  # fmt: skip
    van = AgentThread(
        sim_agent_config(
            unique_site, "v1", "vehicle", broker, tmp_path / "v1",
            lat=WAREHOUSE[0], lon=WAREHOUSE[1], speed_kmh=VAN_KMH, service_s=30.0,
            traffic_sigma=0.0, failure_rate=0.0, dock=dock,
        ),
        clock=clock,
    )  # fmt: skip
    driver = van.core.driver
    assert isinstance(driver, SimVehicleDriver)
    agents = [machine, warehouse, van]
    for agent in agents:
        agent.start()
    db = tmp_path / "c.db"
    try:
        with (
            _coordinator(broker, db, unique_site, origin_s) as (first, base),
            httpx.Client(base_url=base, timeout=10) as client,
        ):
            wait_until(
                lambda: (
                    {"m1", "w1", "v1"}
                    <= {n["node"] for n in client.get("/api/v1/nodes").json() if n["online"]}
                ),
                timeout_s=30,
            )
            _declare(client)
            order = {
                "id": "o-1",
                "customer": "viewer-1",
                "lines": [{"sku": "MUG", "qty": 3}],
                "destination": {"lat": CUSTOMER[0], "lon": CUSTOMER[1], "address": "Via Roma 1"},
                "service": "express",
            }
            placed = client.post("/api/v1/sales-orders", json=order)
            assert placed.status_code == 201, placed.text
            wait_until(lambda: TRANSFER in _held(client), timeout_s=90, interval_s=0.1)
            wait_until(lambda: TRANSFER in driver.vehicle.cargo, timeout_s=60, interval_s=0.05)
            first.send_signal(signal.SIGKILL)  # the van carries the units
            first.wait(10)
        assert _receipts(db) == []
        wait_until(lambda: not driver.vehicle.cargo, timeout_s=60, interval_s=0.1)
        time.sleep(1.0)  # the warehouse receives and keeps the receipt in its outbox
        with (
            _coordinator(broker, db, unique_site, origin_s) as (_second, base),
            httpx.Client(base_url=base, timeout=10) as client,
        ):

            def delivered() -> dict[str, Any] | None:
                body: dict[str, Any] = client.get("/api/v1/sales-orders/o-1").json()
                return body if body["status"] == "delivered" else None

            final = wait_until(delivered, timeout_s=120, interval_s=0.5)
            statuses = [t["status"] for t in final["timeline"]]
            assert statuses == [
                "received", "promised", "in_production", "produced", "at_warehouse",
                "out_for_delivery", "delivered",
            ]  # fmt: skip
            good = client.get("/api/v1/jobs/sales.o-1.0.0").json()["good"]
            assert _receipts(db) == [(TRANSFER, "MUG", good)]
            assert TRANSFER not in _held(client)
    finally:
        for agent in agents:
            agent.stop()
    assert all(agent.error is None for agent in agents)
