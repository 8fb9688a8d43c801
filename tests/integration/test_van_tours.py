"""Vans on tours with real agents: the coordinator, a warehouse and a van on one simulated
clock (600 × wall time) and the test broker.

The van (capacity 4) waits at its depot while its tour is thin, leaves once two orders
fill it, and delivers both; an order placed while it is out is not added to its route (its
goods are at the depot) but goes on the next tour, which leaves once the van is back and
the order has waited its longest wait."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from fleet_runtime.clock import ScaledClock
from flexfleet.broker import Broker
from tests.integration.coordinator_support import (
    QUICK_PLANS,
    coordinator_api,
    coordinator_settings,
    shelf_and_van,
)
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SPEED = 600.0  # simulated seconds per wall second
WAREHOUSE = (29.31, 120.07)
CUSTOMERS = {"o-1": (29.35, 120.10), "o-2": (29.33, 120.11), "o-3": (29.34, 120.05)}
MAX_WAIT_S = 3600.0  # simulated: six seconds of wall time


def _order(http: httpx.Client, order_id: str, qty: int) -> None:
    lat, lon = CUSTOMERS[order_id]
    order = {
        "id": order_id,
        "customer": "viewer-1",
        "lines": [{"sku": "SKU-0001", "qty": qty}],
        "destination": {"lat": lat, "lon": lon, "address": "Yiwu"},
        "service": "standard",
    }
    placed = http.post("/api/v1/sales-orders", json=order)
    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "reserved"


def _timeline(http: httpx.Client, order_id: str) -> dict[str, int]:
    """Status → when the order first reached it (ms, simulated)."""
    got = http.get(f"/api/v1/sales-orders/{order_id}").json()
    first: dict[str, int] = {}
    for step in got["timeline"]:
        first.setdefault(step["status"], step["at_ms"])
    return first


def _tour(http: httpx.Client) -> dict[str, Any]:
    tours: list[dict[str, Any]] = http.get("/api/v1/plans/routes").json()["tours"]
    return tours[0] if tours else {}


def test_a_van_leaves_full_and_takes_what_came_meanwhile_on_its_next_tour(
    broker: Broker, tmp_path: Path, unique_site: str
) -> None:
    clock = ScaledClock(speed=SPEED, origin_s=time.time())
    settings = coordinator_settings(
        broker,
        tmp_path,
        unique_site,
        **QUICK_PLANS,
        travel_speed_kmh=40.0,
        delivery_service_s=120.0,
        command_timeout_s=60.0 * SPEED,
        dispatch_max_wait_s=MAX_WAIT_S,
        dispatch_every_s=60.0,
    )
    agents = shelf_and_van(unique_site, broker, tmp_path, clock, depot=WAREHOUSE, van_kmh=40.0)
    for agent in agents:
        agent.start()
    try:
        with coordinator_api(settings, clock=clock) as http:
            wait_until(
                lambda: any(
                    s["sku"] == "SKU-0001" and s["qty"] > 8
                    for s in http.get("/api/v1/stock").json()
                ),
                timeout_s=30,
            )
            place = {"lat": WAREHOUSE[0], "lon": WAREHOUSE[1]}
            network = {
                "factories": [],
                "warehouses": [{"id": "w1", "nodes": ["w1"], "location": place}],
                "products": [],
            }
            assert http.put("/api/v1/network", json=network).status_code == 200
            fleet = {
                "depots": [{"id": "w1", "location": place}],
                "vehicles": [{"id": "v1", "depot_id": "w1", "capacity": 4}],
            }
            assert http.put("/api/v1/plans/fleet", json=fleet).status_code == 200

            _order(http, "o-1", 2)
            held = wait_until(lambda: _tour(http).get("state") == "held" and _tour(http))
            assert held["stops"] == ["ship.o-1"]
            time.sleep(2.0)  # twenty simulated minutes: a thin tour stays at the depot
            assert "out_for_delivery" not in _timeline(http, "o-1")
            assert _tour(http)["state"] == "held"

            _order(http, "o-2", 2)  # 4 of 4 units: the tour leaves, full
            out = wait_until(lambda: _tour(http).get("state") == "out" and _tour(http))
            assert (out["reason"], sorted(out["stops"])) == ("full", ["ship.o-1", "ship.o-2"])
            _order(http, "o-3", 1)  # while the van is out

            def delivered() -> bool:
                got = http.get("/api/v1/sales-orders").json()["orders"]
                return all(o["status"] == "delivered" for o in got)

            wait_until(delivered, timeout_s=90, interval_s=0.5)
            first = {o: _timeline(http, o) for o in CUSTOMERS}
    finally:
        for agent in agents:
            agent.stop()
    assert all(agent.error is None for agent in agents)
    # o-1 went out with o-2, not before it was placed
    assert first["o-1"]["out_for_delivery"] >= first["o-2"]["received"]
    # o-3 went out on the next tour, after the first one's deliveries
    first_tour_done = max(first["o-1"]["delivered"], first["o-2"]["delivered"])
    assert first["o-3"]["out_for_delivery"] > first_tour_done
