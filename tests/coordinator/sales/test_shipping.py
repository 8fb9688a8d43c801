"""Orders to the door: the delivery each order ships as, and the stop events and receipts
that move it, each transition once whatever is replayed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from coordinator.plan.errors import OrderRejected
from coordinator.plan.orders.specs import DeliveryOrder
from coordinator.sales.book import SalesBook
from coordinator.sales.promise import HANDLING_S, Hub, Line
from coordinator.sales.records import InMemorySalesStore, SalesStore
from coordinator.sales.shipping import (
    customer_delivery,
    delivery_id,
    job_of_transfer,
    order_of_delivery,
    stop_fact,
)
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock
from tests.coordinator.sales.test_book import CUSTOMER, NOW_S, World, _order


class Shipping(World):
    """The book's world, also keeping the deliveries handed to the planner."""

    def __init__(self) -> None:
        super().__init__()
        self.drops: list[DeliveryOrder] = []
        self.refuse_drops = False

    def book(self, store: SalesStore, clock: FakeClock) -> SalesBook:
        book = super().book(store, clock)

        def submit(drops: object) -> None:
            if self.refuse_drops:
                raise OrderRejected("no vehicle can reach it", field="deliveries[0]")
            self.drops.extend(drops)  # type: ignore[arg-type]

        book.submit_deliveries = submit
        return book


@pytest.fixture
def clock() -> FakeClock:
    """Simulated time at a Monday midnight."""
    return FakeClock(start_s=NOW_S)


def _statuses(book: SalesBook, order_id: str) -> list[str]:
    return [t.status for t in book.timeline(order_id)]


def test_ids_and_facts_are_read_back_only_from_their_own_kind() -> None:
    """Delivery and transfer ids map back to their order or job; other stops, transfers and
    events carry no fact."""
    assert order_of_delivery(delivery_id("o.1")) == "o.1"
    assert order_of_delivery("o.1") == ""
    assert order_of_delivery("shipping") == ""
    assert job_of_transfer("t.sales.o.0.0") == "sales.o.0.0"
    assert job_of_transfer("sales.o.0.0") == ""
    assert [stop_fact(e) for e in ("stop_arrived", "stop_delivered", "stop_failed")] == [
        "picked_up",
        "delivered",
        "delivery_failed",
    ]
    assert stop_fact("operation_started") is None


def test_the_delivery_is_handed_over_by_the_promise_and_open_once_that_has_passed() -> None:
    """The service at the door ends by the promised time, so its start ends the delivery
    window (the promise less the service, 2 s here); a start already passed leaves it
    open, and either way the delivery says by when service must start (dispatch sends it
    by then)."""

    def ship(now_ms: int, *, windowed: bool = True) -> DeliveryOrder:
        return customer_delivery(
            "o", lat=1.0, lon=2.0, units=3, promised_ms=5_000, now_ms=now_ms, service_s=2.0,
            windowed=windowed,
        )  # fmt: skip

    on_time = ship(1_000)
    assert (on_time.id, on_time.demand, on_time.due_ms) == ("ship.o", 3, 3_000)
    assert (on_time.lat, on_time.lon, on_time.service_s) == (1.0, 2.0, 2.0)
    assert ship(3_500).due_ms is None  # before the promise, but too late to start in time
    late = ship(9_000)
    assert late.due_ms is None
    unwindowed = ship(1_000, windowed=False)
    assert unwindowed.due_ms is None
    assert on_time.promised_ms == late.promised_ms == unwindowed.promised_ms == 3_000


def test_a_stock_order_ships_at_once_and_follows_its_stops(clock: FakeClock) -> None:
    """An order from stock is handed over as a delivery to the customer when reserved; its
    arrival, delivery and a replay of both move it once each."""
    world = Shipping()
    book = world.book(InMemorySalesStore(), clock)
    order = book.submit(_order("o-1", 4)).order
    assert [d.id for d in world.drops] == ["ship.o-1"]
    drop = world.drops[0]
    assert (drop.lat, drop.lon, drop.demand) == (CUSTOMER[0], CUSTOMER[1], 4)
    assert drop.due_ms == order.promise["promised_ms"] - drop.service_s * 1000
    stops = [("stop_arrived", "ship.o-1", "van-1"), ("stop_delivered", "ship.o-1", "van-1")]
    assert book.follow_stops(stops) == 2
    assert book.follow_stops(stops) == 0  # replayed
    assert _statuses(book, "o-1") == [
        "received", "promised", "reserved", "out_for_delivery", "delivered",
    ]  # fmt: skip
    assert book.timeline("o-1")[-1].actor == "van-1"


def test_promises_count_the_wait_for_a_van_and_the_hub_made_goods_go_through(
    clock: FakeClock,
) -> None:
    """Every leg takes 30 minutes here. The vans at shelf-1 (warehouse w1) are spoken for
    the next two hours: an order from its stock is promised when a van is free plus the
    drive. Made goods for a customer whose hub is told: the hub's van fetches them (there
    and back), they are handled there and driven out, not driven from the factory."""
    world = Shipping()
    book = world.book(InMemorySalesStore(), clock)
    book.fleet_waits = lambda: {"shelf-1": 7200.0, "elsewhere": 60.0}
    stock = book.submit(_order("o-1", 4)).order.promise
    assert stock["lines"][0]["from_stock"][0]["warehouse"] == "w1"
    assert stock["eta_ms"] == round((NOW_S + 7200.0 + 1800.0) * 1000)
    book.fleet_waits = dict
    book.carried_to = lambda _where: Hub((29.35, 120.05))
    made = book.submit(_order("o-2", 40)).order.promise
    (part,) = made["lines"][0]["made"]
    assert part["eta_ms"] - part["ready_ms"] == (3 * 1800 + 2 * HANDLING_S) * 1000


def test_a_failed_delivery_goes_out_again(clock: FakeClock) -> None:
    """A failed stop makes the order `failed_delivery`; the next arrival takes it out again."""
    world = Shipping()
    book = world.book(InMemorySalesStore(), clock)
    book.submit(_order("o-1", 2))
    book.follow_stops([("stop_arrived", "ship.o-1", "v"), ("stop_failed", "ship.o-1", "v")])
    assert book.get("o-1").standing.status == "failed_delivery"
    book.follow_stops([("stop_arrived", "ship.o-1", "v"), ("stop_delivered", "ship.o-1", "v")])
    assert _statuses(book, "o-1")[3:] == [
        "out_for_delivery", "failed_delivery", "out_for_delivery", "delivered",
    ]  # fmt: skip


def test_a_made_order_ships_when_produced_or_received_at_a_warehouse(clock: FakeClock) -> None:
    """A made order is not shipped while in production; it ships once all its jobs are
    finished, and its transfer's receipt (replayed too) moves it to at_warehouse once."""
    world = Shipping()
    book = world.book(InMemorySalesStore(), clock)
    world.levels = {}
    book.submit(_order("o-2", 3))
    assert world.drops == []
    book.follow_production(["sales.o-2.0.0"], lambda _job: "started")
    assert world.drops == []
    book.follow_production(["sales.o-2.0.0"], lambda _job: "finished")
    assert [d.id for d in world.drops] == ["ship.o-2"]
    assert book.follow_receipts(["t.sales.o-2.0.0", "t.replenish-x.1", "other"]) == 1
    assert book.follow_receipts(["t.sales.o-2.0.0"]) == 0
    assert _statuses(book, "o-2")[-3:] == ["in_production", "produced", "at_warehouse"]
    assert [d.id for d in world.drops] == ["ship.o-2", "ship.o-2"]  # the same delivery


def test_stops_of_unknown_orders_and_hostile_ids_change_nothing(clock: FakeClock) -> None:
    """Stop events for deliveries that are no order, or for a cancelled one, are ignored."""
    world = Shipping()
    book = world.book(InMemorySalesStore(), clock)
    book.submit(_order("o-1", 1))
    book.cancel("o-1", actor="ops")
    hostile = [
        ("stop_delivered", "ship.", "v"),
        ("stop_delivered", "ship.nope", "v"),
        ("stop_delivered", "ship.o-1", "v"),
        ("stop_delivered", "x" * 10_000, "v"),
        ("unknown_event", "ship.o-1", "v"),
    ]
    assert book.follow_stops(hostile) == 0
    assert book.get("o-1").standing.status == "cancelled"
    assert book.follow_receipts(["t.sales.o-1.0.0", "t.", ""]) == 0


def test_a_delivery_the_planner_refuses_delays_the_order(clock: FakeClock) -> None:
    """If the planner refuses the delivery, the order stays and says why it is delayed."""
    world = Shipping()
    world.refuse_drops = True
    book = world.book(InMemorySalesStore(), clock)
    order = book.submit(_order("o-1", 1)).order
    assert order.standing.status == "delayed"
    assert "delivery not planned" in book.timeline("o-1")[-1].reason


def test_a_restart_between_produced_and_hand_over_ships_it_again(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Killed after an order became ready but before its delivery reached the planner, the
    restarted book hands the delivery over again (only orders ready to ship)."""
    world = Shipping()
    db = SqliteStore(tmp_path / "c.db")
    book = world.book(db.sales_store(), clock)
    book.submit(_order("o-1", 2))
    world.levels = {}
    book.submit(_order("o-2", 3))  # made: not ready
    db.close()  # as if killed after the commit
    world.drops.clear()
    db = SqliteStore(tmp_path / "c.db")
    try:
        again = world.book(db.sales_store(), clock)
        assert again.resume_shipping() == 1
        assert [d.id for d in world.drops] == ["ship.o-1"]
    finally:
        db.close()


def test_a_stock_order_ships_from_the_warehouse_that_holds_its_stock(clock: FakeClock) -> None:
    """The delivery of an order served from stock is bound to the shelf its units were
    reserved at: only a van of that warehouse loads it."""
    world = Shipping()
    book = world.book(InMemorySalesStore(), clock)
    taken = book.submit(_order("o-1", 4))
    (part,) = taken.order.promise["lines"][0]["from_stock"]
    assert part["warehouse"] == "w1"  # the only warehouse with 4 CUPs, on its node shelf-1
    assert [(d.id, d.depot_id) for d in world.drops] == [("ship.o-1", "shelf-1")]


def test_a_carried_made_order_waits_for_its_transfer_and_ships_from_where_it_arrived(
    clock: FakeClock,
) -> None:
    """When its units are carried to a warehouse, a produced order is not shipped from the
    factory: its transfer's receipt ships it, loaded at the node that received it, once; a
    late re-hand-over loads there too."""
    world = Shipping()
    book = world.book(InMemorySalesStore(), clock)
    book.carried = lambda job_id: job_id == "sales.o-2.0.0"
    world.levels = {}
    book.submit(_order("o-2", 3))
    book.follow_production(["sales.o-2.0.0"], lambda _job: "started")
    book.follow_production(["sales.o-2.0.0"], lambda _job: "finished")
    assert book.get("o-2").standing.status == "produced"
    assert world.drops == []
    assert book.resume_shipping() == 1  # after a restart too: still waiting for the receipt
    assert world.drops == []
    receipts = ["t.sales.o-2.0.0"]
    assert book.follow_receipts(receipts, places={"t.sales.o-2.0.0": "shelf-2"}) == 1
    assert book.follow_receipts(receipts, places={"t.sales.o-2.0.0": "shelf-2"}) == 0
    assert [(d.id, d.depot_id) for d in world.drops] == [("ship.o-2", "shelf-2")]
    assert _statuses(book, "o-2")[-2:] == ["produced", "at_warehouse"]
    # Unserved for its window, it is handed again without one, still from shelf-2.
    late = {"version": 1, "routes": [], "unserved": [
        {"order_id": "ship.o-2", "reason": "time_window", "detail": "too late"}]}  # fmt: skip
    book.revise_routes(late)
    assert [(d.id, d.depot_id, d.due_ms) for d in world.drops[1:]] == [
        ("ship.o-2", "shelf-2", None)
    ]


def test_a_job_first_seen_finished_takes_its_order_through_production(clock: FakeClock) -> None:
    """A job whose start and finish are first seen together (one batch under a fast clock)
    still moves its order promised → in_production → produced, and ships it; seen again,
    nothing changes."""
    world = Shipping()
    book = world.book(InMemorySalesStore(), clock)
    world.levels = {}
    book.submit(_order("o-3", 2))
    assert book.follow_production(["sales.o-3.0.0"], lambda _job: "finished") == 1
    assert _statuses(book, "o-3")[-2:] == ["in_production", "produced"]
    assert [d.id for d in world.drops] == ["ship.o-3"]
    assert book.follow_production(["sales.o-3.0.0"], lambda _job: "finished") == 0


def test_an_order_made_in_parts_ships_with_the_receipt_of_its_last_part(
    clock: FakeClock,
) -> None:
    """An order whose units are made as two jobs is not moved to at_warehouse nor shipped by
    the first part's receipt (the second is still being made, then on its way); the last
    part's receipt ships it, once."""
    world = Shipping()
    book = world.book(InMemorySalesStore(), clock)
    world.levels = {}
    parts = ("sales.o-3.0.0", "sales.o-3.1.0")
    finished: set[str] = set()
    received: set[str] = set()
    book.carried = lambda job_id: job_id in parts
    book.arrived = lambda job_id: job_id in finished and f"t.{job_id}" in received
    two_lines = _order("o-3", 2)
    book.submit(replace(two_lines, lines=(Line("CUP", 2), Line("CUP", 3))))
    assert book.production_jobs(book.get("o-3")) == list(parts)

    def state(job_id: str) -> str:
        return "finished" if job_id in finished else "started"

    finished.add(parts[0])
    book.follow_production([parts[0]], state)
    received.add(f"t.{parts[0]}")
    assert book.follow_receipts([f"t.{parts[0]}"], places={f"t.{parts[0]}": "shelf-1"}) == 0
    assert book.get("o-3").standing.status == "in_production"
    finished.add(parts[1])
    book.follow_production([parts[1]], state)
    assert book.get("o-3").standing.status == "produced"
    assert world.drops == []  # carried: it waits for the second receipt
    received.add(f"t.{parts[1]}")
    assert book.follow_receipts([f"t.{parts[1]}"], places={f"t.{parts[1]}": "shelf-1"}) == 1
    assert book.follow_receipts([f"t.{parts[1]}"], places={f"t.{parts[1]}": "shelf-1"}) == 0
    assert [(d.id, d.depot_id, d.demand) for d in world.drops] == [("ship.o-3", "shelf-1", 5)]
