"""An order to the door on a real Mosquitto with real agents, all on one simulated clock: a
sales order for a part made to order is produced on a simulated machine, picked up at the
factory by the van of the warehouse nearest the customer and unloaded there (the warehouse
reports the receipt), then shipped from that warehouse by the route planner and driven to
the customer: it goes from `received` to `delivered`, each transition pushed once to a
local webhook receiver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from edge_agent.runner import AgentThread
from fleet_runtime.clock import ScaledClock
from flexfleet.broker import Broker
from tests.coordinator.sales.test_webhooks import Receiver
from tests.integration.coordinator_support import (
    QUICK_PLANS,
    coordinator_api,
    coordinator_settings,
    sim_agent_config,
)
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FACTORY = (45.07, 7.68)
WAREHOUSE = (45.08, 7.69)
CUSTOMER = (45.10, 7.72)
SPEED = 60.0  # simulated seconds per wall second, for the coordinator and every agent
VAN_KMH = 60.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A local webhook receiver (its first post answered 500, so the retry is exercised)."""
    running = Receiver(fail_first=1)
    try:
        yield running
    finally:
        running.close()


def test_a_made_order_goes_from_received_to_delivered_through_real_agents(
    broker: Broker, tmp_path: Path, unique_site: str, receiver: Receiver
) -> None:
    """The machine makes it, the van carries it to the warehouse and then to the door: the
    order passes received → promised → in_production → produced → at_warehouse →
    out_for_delivery → delivered, and the receiver gets each of these seven transitions
    exactly once, in order."""
    clock = ScaledClock(speed=SPEED, origin_s=time.time())
    settings = coordinator_settings(
        broker,
        tmp_path,
        unique_site,
        **QUICK_PLANS,
        travel_speed_kmh=VAN_KMH,
        delivery_service_s=30.0,
        command_timeout_s=60.0 * SPEED,
        dispatch_max_wait_s=0.0,  # a van leaves as soon as its tour is planned
    )
    dock = str(tmp_path / "dock")
    agents = [
        AgentThread(
            sim_agent_config(unique_site, "m1", "machine", broker, tmp_path / "m1", seed=3), clock=clock
        ),
        AgentThread(
            sim_agent_config(
                unique_site, "w1", "warehouse", broker, tmp_path / "w1", skus=2, seed=4,
                dock=dock, speed=1.0 / SPEED,
            ),
            clock=clock,
        ),
        AgentThread(
            sim_agent_config(
                unique_site, "v1", "vehicle", broker, tmp_path / "v1",
                lat=WAREHOUSE[0], lon=WAREHOUSE[1], speed_kmh=VAN_KMH, service_s=30.0,
                traffic_sigma=0.0, failure_rate=0.0, dock=dock,
            ),
            clock=clock,
        ),
    ]  # fmt: skip
    for agent in agents:
        agent.start()
    try:
        with coordinator_api(settings, clock=clock) as http:
            wait_until(
                lambda: (
                    {"m1", "w1", "v1"}
                    <= {n["node"] for n in http.get("/api/v1/nodes").json() if n["online"]}
                ),
                timeout_s=30,
            )
            products = {"products": [{
                "sku": "MUG", "family": "mugs", "replenish": "off",
                "operations": [{"options": [
                    {"machine": "m1", "duration_s_per_unit": 6.0, "setup_s": 0.0}
                ]}],
            }]}  # fmt: skip
            # the planner learns of m1 on the commit after the twin sees it online
            wait_until(lambda: http.put("/api/v1/plans/products", json=products).status_code == 200)
            network = {
                "factories": [{"id": "f1", "machines": ["m1"],
                               "location": {"lat": FACTORY[0], "lon": FACTORY[1]}}],
                "warehouses": [{"id": "w1", "nodes": ["w1"],
                                "location": {"lat": WAREHOUSE[0], "lon": WAREHOUSE[1]}}],
                "products": [{"sku": "MUG", "factories": ["f1"]}],
            }  # fmt: skip
            assert http.put("/api/v1/network", json=network).status_code == 200
            fleet = {
                "depots": [{"id": "w1", "location": {"lat": WAREHOUSE[0], "lon": WAREHOUSE[1]}}],
                "vehicles": [{"id": "v1", "depot_id": "w1", "capacity": 100}],
            }
            assert http.put("/api/v1/plans/fleet", json=fleet).status_code == 200
            order = {
                "id": "o-1",
                "customer": "viewer-1",
                "lines": [{"sku": "MUG", "qty": 3}],
                "destination": {"lat": CUSTOMER[0], "lon": CUSTOMER[1], "address": "Via Roma 1"},
                "service": "express",
                "webhook_url": receiver.url,
            }
            placed = http.post("/api/v1/sales-orders", json=order)
            assert placed.status_code == 201, placed.text
            assert placed.json()["promise"]["lines"][0]["made"]

            def delivered() -> dict[str, Any] | None:
                body: dict[str, Any] = http.get("/api/v1/sales-orders/o-1").json()
                return body if body["status"] == "delivered" else None

            final = wait_until(delivered, timeout_s=150, interval_s=0.5)
            expected = [
                "received", "promised", "in_production", "produced", "at_warehouse",
                "out_for_delivery", "delivered",
            ]  # fmt: skip
            assert [t["status"] for t in final["timeline"]] == expected
            assert final["timeline"][-1]["actor"] == "v1"
            wait_until(lambda: len(receiver.bodies) >= len(expected), timeout_s=60)
            wait_until(lambda: http.get("/api/v1/orders").json()["deliveries"] == [], timeout_s=10)
    finally:
        for agent in agents:
            agent.stop()
    assert all(agent.error is None for agent in agents)
    events = [orjson.loads(body) for body in receiver.bodies]
    assert [e["status"] for e in events] == expected
    assert len({e["id"] for e in events}) == len(events)
