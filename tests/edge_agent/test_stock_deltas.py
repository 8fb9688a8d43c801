"""A warehouse agent reports picks and receipts as separate stock deltas, so sales survive
a receipt of the same SKU (which first serves the waiting backorders)."""

from __future__ import annotations

from coordinator.ingest.records import RawMessage
from edge_agent.drivers.sim import SimWarehouseDriver
from firmware_sim.demand import DemandParams
from firmware_sim.warehouse import MicroWarehouse, WarehouseParams, default_skus
from protocol import MAX_STOCK_ITEMS, Stock
from tests.coordinator.conftest import Harness
from tests.edge_agent.conftest import MakeCore, messages, run_for


def test_picks_and_receipts_leave_as_separate_deltas(make_core: MakeCore) -> None:
    """Every picked unit appears in a `picks` delta, receipts only in `receipts` deltas, and
    snapshot plus deltas still give the warehouse's levels."""
    core, transport, clock = make_core(node={"kind": "warehouse"}, driver={"skus": 2})
    driver = core.driver
    assert isinstance(driver, SimWarehouseDriver)
    # Tiny stock, quick replenishment and brisk demand: receipts arrive while orders wait.
    driver.warehouse = MicroWarehouse(
        skus=default_skus(2),
        seed=4,
        params=WarehouseParams(initial_qty=2, reorder_point=1, reorder_qty=3, mean_lead_time_s=20),
        demand_params=DemandParams(background_rate_per_s=0.5),
    )
    core.tick()
    transport.accept()
    run_for(core, clock, 300.0, step_s=0.5)
    core.flush()
    run_for(core, clock, 1.0)
    stock = [m for m in messages(transport) if isinstance(m, Stock)]
    snapshot, deltas = stock[0], stock[1:]
    assert snapshot.mode == "snapshot"
    assert {d.mode for d in deltas} == {"delta"}
    picks = [d for d in deltas if d.reason == "picks"]
    receipts = [d for d in deltas if d.reason == "receipts"]
    assert len(picks) + len(receipts) == len(deltas)
    assert receipts, "replenishments arrived"
    assert all(q < 0 for d in picks for q in d.items.values())
    assert all(q > 0 for d in receipts for q in d.items.values())
    assert -sum(q for d in picks for q in d.items.values()) == driver.warehouse.picked_total
    levels = dict(snapshot.items)
    for delta in deltas:
        for sku, change in delta.items.items():
            levels[sku] += change
    assert levels == driver.stock_levels()


def test_picks_pending_at_a_reconnect_still_leave_as_sales(make_core: MakeCore) -> None:
    """The snapshot a new session starts with fixes the levels, but the picks made since the
    last delta are sales: they go out as a `picks` delta before that snapshot."""
    core, transport, clock = make_core(
        node={"kind": "warehouse"}, driver={"skus": 2}, batching={"max_age_ms": 60_000}
    )
    driver = core.driver
    assert isinstance(driver, SimWarehouseDriver)
    driver.warehouse = MicroWarehouse(
        skus=default_skus(2),
        seed=4,
        params=WarehouseParams(initial_qty=500),
        demand_params=DemandParams(background_rate_per_s=0.5),
    )
    core.tick()
    transport.accept()
    run_for(core, clock, 30.0, step_s=0.5)  # picks made, none sent yet (60 s batching)
    assert driver.warehouse.picked_total > 0
    transport.drop()
    run_for(core, clock, 40.0, step_s=0.5)
    transport.accept()
    run_for(core, clock, 5.0, step_s=0.5)
    core.flush()
    run_for(core, clock, 1.0)
    stock = [m for m in messages(transport) if isinstance(m, Stock)]
    sold = -sum(q for m in stock if m.reason == "picks" for q in m.items.values())
    assert sold == driver.warehouse.picked_total
    # Seq is one counter per node: the newest snapshot plus every later delta is the level.
    stock.sort(key=lambda m: m.seq)
    last_snapshot = max(i for i, m in enumerate(stock) if m.mode == "snapshot")
    levels = dict(stock[last_snapshot].items)
    for delta in stock[last_snapshot + 1 :]:
        for sku, change in delta.items.items():
            levels[sku] += change
    assert levels == driver.stock_levels()


def test_a_warehouse_of_more_skus_than_a_message_holds_reports_them_all(
    make_core: MakeCore,
) -> None:
    """4,500 SKUs: the count after the birth goes as one snapshot in three parts of
    consecutive seqs, and the coordinator's ingest holds every level the shelf has,
    the moves since included."""
    core, transport, clock = make_core(node={"kind": "warehouse"}, driver={"skus": 4_500})
    core.tick()
    transport.accept()
    run_for(core, clock, 60.0, step_s=0.5)
    core.flush()
    run_for(core, clock, 1.0)
    stock = [m for m in messages(transport) if isinstance(m, Stock)]
    parts = [m for m in stock if m.mode == "snapshot"]
    assert [(m.part, m.parts, len(m.items)) for m in parts] == [
        (0, 3, MAX_STOCK_ITEMS),
        (1, 3, MAX_STOCK_ITEMS),
        (2, 3, 4_500 - 2 * MAX_STOCK_ITEMS),
    ]
    assert [m.seq - m.first_seq for m in parts] == [0, 1, 2]
    coordinator = Harness()
    coordinator.feed(*[RawMessage(topic, payload, 0) for topic, payload in transport.published])
    levels = {i.sku: i.qty for i in coordinator.twin.stock()}
    assert len(levels) == 4_500
    assert levels == core.driver.stock_levels()
