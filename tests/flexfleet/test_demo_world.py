"""The demo's world, storefront and status line: what they declare and post is what the
coordinator and the agents accept, seeded runs repeat, and the status counts are right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from coordinator.api.models.plans import FleetIn, ProductsIn
from coordinator.api.models.sales import SalesOrderIn
from coordinator.sales.network import network_from_json
from edge_agent.config import load_config
from flexfleet.demo import DemoPlan
from flexfleet.demo_status import status_line, tally
from flexfleet.demo_world import (
    World,
    agent_toml,
    fleet_document,
    network_document,
    products_document,
)
from flexfleet.storefront import Shoppers, order_body, order_times


def test_the_default_world_is_two_factories_six_machines_two_warehouses_three_vans() -> None:
    """`make demo` runs the fleet issue 13 asks for, each node with a broker account."""
    kinds = [kind for _node, kind in DemoPlan().agent_ids()]
    assert (kinds.count("machine"), kinds.count("warehouse"), kinds.count("vehicle")) == (6, 2, 3)
    network = network_from_json(network_document(World()))
    assert [len(f.machines) for f in network.factories] == [3, 3]
    assert {f.id for f in network.factories} == {"factory-A", "factory-B"}


def test_the_declared_documents_pass_the_api_models() -> None:
    """Products, fleet and network documents are valid as the API reads them."""
    world = World()
    products = ProductsIn.model_validate(products_document(world))
    assert {p.family for p in products.products} == {"cups", "bowls"}
    step = products.products[0].operations[0].options[0]
    assert step.duration_s_per_unit == pytest.approx(6.0)  # seconds of the demo's clock
    fleet = FleetIn.model_validate(fleet_document(world))
    assert [v.depot_id for v in fleet.vehicles] == ["warehouse-01", "warehouse-02", "warehouse-01"]


def test_every_agent_configuration_loads(tmp_path: Path) -> None:
    """Each agent's TOML loads; vans start at their depot; machines and vans live on the
    demo's clock, the warehouses' retail demand at wall time (1/speed of it)."""
    (tmp_path / "pw").write_text("secret\n")
    for place in World().places():
        path = tmp_path / f"{place.node}.toml"
        path.write_text(
            agent_toml(
                place, site="yiwu-1", broker_url="mqtt://127.0.0.1:1883",
                username=f"yiwu-1/{place.node}", password_file=tmp_path / "pw",
                state_dir=tmp_path / place.node, dock=tmp_path / "dock", seed=1, speed=120.0,
                skus=6,
            )
        )  # fmt: skip
        config = load_config(path)
        assert (config.node.node, config.node.kind) == (place.node, place.kind)
        assert config.driver.speed == (1.0 / 120.0 if place.kind == "warehouse" else 1.0)
        if place.kind == "vehicle":
            assert (config.driver.lat, config.driver.lon) == (place.lat, place.lon)


def test_storefront_orders_repeat_for_a_seed_and_burst_during_the_live_stream() -> None:
    """Arrivals are a pure function of the seed, faster during the burst; each order is a
    valid sales order for a SKU the demo sells."""
    shoppers = Shoppers(per_minute=10, burst_factor=5, burst_start_s=60, burst_end_s=120)
    times = order_times(shoppers, seed=3, until_s=180)
    assert times == order_times(shoppers, seed=3, until_s=180)
    before = sum(t < 60 for t in times)
    during = sum(60 <= t < 120 for t in times)
    assert during > 2 * before
    skus = World().skus_sold()
    for n in range(20):
        body = order_body(n, seed=3, skus=skus, centre=(29.3, 120.0), shoppers=shoppers)
        order = SalesOrderIn.model_validate(body)
        assert order.lines[0].sku in skus
    assert order_body(4, seed=3, skus=skus, centre=(0, 0), shoppers=shoppers) == order_body(
        4, seed=3, skus=skus, centre=(0, 0), shoppers=shoppers
    )


def test_bad_world_sizes_are_refused() -> None:
    """Out-of-range sizes and speeds are refused with a message, not run."""
    with pytest.raises(ValueError, match="factories"):
        World(factories=0)
    with pytest.raises(ValueError, match="SKUs"):
        World(skus=4, stocked_skus=6)
    with pytest.raises(ValueError, match="speed"):
        DemoPlan(speed=0.0)
    with pytest.raises(ValueError, match="per_minute"):
        Shoppers(per_minute=-1)


def test_the_status_line_counts_orders_where_they_stand() -> None:
    """Delayed orders count where they were; on time means delivered by the promise."""
    orders: list[dict[str, Any]] = [
        {"status": "in_production", "promise": {}},
        {"status": "delayed", "delayed_from": "promised", "promise": {}},
        {"status": "out_for_delivery"},
        {"status": "failed_delivery"},
        {"status": "delivered", "updated_ms": 10, "promise": {"promised_ms": 20}},
        {"status": "delivered", "updated_ms": 30, "promise": {"promised_ms": 20}},
        {"status": "reserved"},
    ]
    counts = tally(orders)
    assert (counts.received, counts.in_production, counts.out_for_delivery) == (7, 2, 2)
    assert (counts.delivered, counts.on_time) == (2, 1)
    assert status_line(120, counts) == (
        "[  2.0 min] orders received 7, in production 2, out for delivery 2, delivered 2, on time 1"
    )
