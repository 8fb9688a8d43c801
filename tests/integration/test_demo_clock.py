"""One time frame for the demo: the coordinator and the agents on one simulated clock.

The coordinator, a warehouse and a van run on a `ScaledClock` shared as the demo shares
it (same origin, same speed), the van living at `driver.speed` 1 on it. The coordinator
promises a stock order with the van's real speed; the demo's status line counts it on
time when the van drives at that speed, and late when the van is twenty times slower than
the promise assumed. (With the coordinator on wall time and the van living faster, as the
demo ran before, both vans' deliveries came long before any promise.)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from fleet_runtime.clock import ScaledClock
from flexfleet.broker import Broker
from flexfleet.demo_status import tally
from tests.integration.coordinator_support import (
    QUICK_PLANS,
    coordinator_api,
    coordinator_settings,
    shelf_and_van,
)
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SPEED = 600.0  # simulated seconds per wall second, for every process of the test
WAREHOUSE = (29.31, 120.07)
CUSTOMER = (29.35, 120.10)  # about 5 km away: 8 min at 40 km/h, 3.5 h at 2 km/h
PROMISED_KMH = 40.0


@pytest.mark.parametrize(("van_kmh", "on_time"), [(PROMISED_KMH, 1), (PROMISED_KMH / 20, 0)])
def test_on_time_in_the_status_line_compares_the_van_with_the_promise(
    broker: Broker, tmp_path: Path, unique_site: str, van_kmh: float, on_time: int
) -> None:
    """A stock order delivered by a van as fast as the promise assumed counts on time; by
    a van twenty times slower it counts delivered but late: the promise, the route and the
    delivery are dated on one clock."""
    clock = ScaledClock(speed=SPEED, origin_s=time.time())
    settings = coordinator_settings(
        broker,
        tmp_path,
        unique_site,
        **QUICK_PLANS,
        travel_speed_kmh=PROMISED_KMH,
        delivery_service_s=120.0,
        command_timeout_s=60.0 * SPEED,
        dispatch_max_wait_s=0.0,  # a van leaves as soon as its tour is planned
    )
    agents = shelf_and_van(unique_site, broker, tmp_path, clock, depot=WAREHOUSE, van_kmh=van_kmh)
    for agent in agents:
        agent.start()
    try:
        with coordinator_api(settings, clock=clock) as http:
            wait_until(
                lambda: any(s["sku"] == "SKU-0001" and s["qty"] > 5 for s in _stock(http)),
                timeout_s=30,
            )
            network = {
                "factories": [],
                "warehouses": [{"id": "w1", "nodes": ["w1"],
                                "location": {"lat": WAREHOUSE[0], "lon": WAREHOUSE[1]}}],
                "products": [],
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
                "lines": [{"sku": "SKU-0001", "qty": 2}],
                "destination": {"lat": CUSTOMER[0], "lon": CUSTOMER[1], "address": "Yiwu"},
                "service": "express",
            }
            placed = http.post("/api/v1/sales-orders", json=order)
            assert placed.status_code == 201, placed.text
            assert placed.json()["status"] == "reserved"

            def delivered() -> list[Any] | None:
                orders: list[Any] = http.get("/api/v1/sales-orders").json()["orders"]
                return orders if orders[0]["status"] == "delivered" else None

            orders = wait_until(delivered, timeout_s=90, interval_s=0.5)
    finally:
        for agent in agents:
            agent.stop()
    assert all(agent.error is None for agent in agents)
    counts = tally(orders)
    assert (counts.delivered, counts.on_time) == (1, on_time)
    lead_s = (orders[0]["updated_ms"] - orders[0]["created_ms"]) / 1000
    drive_s = 5_000 * 1.3 / (van_kmh / 3.6) * 0.9  # at least the drive at the van's speed
    assert lead_s >= drive_s


def _stock(http: Any) -> list[Any]:
    body: list[Any] = http.get("/api/v1/stock").json()
    return body
