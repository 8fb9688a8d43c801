"""The sales book on both stores: promises, holds, retries, cancellation, tracking, restarts,
and concurrent orders for scarce stock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from coordinator.errors import NotFound
from coordinator.plan.errors import OrderRejected
from coordinator.plan.orders.specs import JobOrder, ProductSpec, StepOption
from coordinator.sales.book import (
    CapacityView,
    OrderConflict,
    OrderInvalid,
    OrderRequest,
    SalesBook,
    token_hash,
)
from coordinator.sales.promise import Line, Point
from coordinator.sales.records import InMemorySalesStore, SalesStore
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock

NOW_S = 1_796_601_600.0  # a Monday, 00:00 UTC
CUSTOMER: Point = (29.40, 120.10)
NETWORK: dict[str, Any] = {
    "factories": [
        {"id": "fA", "location": {"lat": 29.31, "lon": 120.08}, "machines": ["m1"]},
        {"id": "fB", "location": {"lat": 29.08, "lon": 119.65}, "machines": ["m2"]},
    ],
    "warehouses": [
        {"id": "w1", "location": {"lat": 29.35, "lon": 120.05}, "nodes": ["shelf-1"]},
        {"id": "w2", "location": {"lat": 30.27, "lon": 120.16}, "nodes": ["shelf-2"]},
    ],
    "products": [{"sku": "CUP", "factories": ["fA", "fB"]}],
}
CUP = ProductSpec(
    sku="CUP",
    operations=((StepOption("m1", 600.0, 300.0), StepOption("m2", 900.0)),),
    family="cups",
)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SalesStore]:
    """Each test runs on the in-memory double and on SQLite."""
    if request.param == "memory":
        yield InMemorySalesStore()
        return
    db = SqliteStore(tmp_path / "c.db")
    try:
        yield db.sales_store()
    finally:
        db.close()


class World:
    """Stock on shelves, a schedule, and what the book handed to the planner."""

    def __init__(self) -> None:
        self.levels: dict[str, dict[str, int]] = {"shelf-1": {"CUP": 5}, "shelf-2": {"CUP": 2}}
        self.view = CapacityView(busy={}, unavailable=frozenset(), planned_jobs=frozenset(),
                                 version=1)  # fmt: skip
        self.jobs: list[JobOrder] = []
        self.closed: list[str] = []

    def book(self, store: SalesStore, clock: FakeClock) -> SalesBook:
        book = SalesBook(
            store=store,
            clock=clock,
            stock=lambda skus: {
                n: {s: q for s, q in held.items() if s in skus} for n, held in self.levels.items()
            },
            capacity=lambda: self.view,
            recipe={"CUP": CUP}.get,
            schedule_version=lambda: self.view.version,
            travel=lambda _a, _b: 1800.0,
            submit_jobs=self.jobs.extend,
            close_jobs=self.closed.extend,
        )
        if store.load_network() is None:
            book.set_network(NETWORK)
        return book


def _order(order_id: str, qty: int, **extra: Any) -> OrderRequest:
    return OrderRequest(
        id=order_id, customer="shop-7", lines=(Line("CUP", qty),),
        destination=extra.pop("destination", CUSTOMER), address="Yiwu, Futian market",
        service=extra.pop("service", "standard"), **extra,
    )  # fmt: skip


@pytest.fixture
def clock() -> FakeClock:
    """Simulated time at a Monday midnight."""
    return FakeClock(start_s=NOW_S)


def test_stock_is_reserved_and_held_from_the_next_order(
    store: SalesStore, clock: FakeClock
) -> None:
    """An order served from stock is reserved; the next order sees only what is left and has
    the rest made, handed to the planner as a job due at the promised readiness."""
    world = World()
    book = world.book(store, clock)
    first = book.submit(_order("o-1", 4))
    assert first.created
    assert first.order.standing.status == "reserved"
    assert first.order.promise["lines"][0]["from_stock"] == [
        {"warehouse": "w1", "qty": 4, "eta_ms": first.order.promise["eta_ms"]}
    ]
    second = book.submit(_order("o-2", 6)).order
    line = second.promise["lines"][0]
    assert sum(p["qty"] for p in line["from_stock"]) == 3  # 1 left at w1, 2 at w2
    assert sum(m["qty"] for m in line["made"]) == 3
    assert second.standing.status == "promised"
    assert [j.id for j in world.jobs] == ["sales.o-2.0.0"]
    assert (world.jobs[0].quantity, world.jobs[0].sku) == (3, "CUP")
    assert world.jobs[0].operations[0].family == "cups"
    assert [t.status for t in book.timeline("o-2")] == ["received", "promised"]


def test_a_retry_gets_the_same_answer_and_other_content_a_conflict(
    store: SalesStore, clock: FakeClock
) -> None:
    """The id makes a retry idempotent: same content → the stored answer, nothing held twice;
    other content → 409 naming the id."""
    world = World()
    book = world.book(store, clock)
    first = book.submit(_order("o-1", 4))
    clock.advance(5)
    again = book.submit(_order("o-1", 4))
    assert not again.created
    assert again.token is None
    assert again.order.promise == first.order.promise
    assert book.submit(_order("o-2", 4)).order.promise["lines"][0]["made"]  # only 1+2 left
    with pytest.raises(OrderConflict) as caught:
        book.submit(_order("o-1", 5))
    assert caught.value.field == "id"


def test_unknown_skus_and_unpromisable_orders_keep_nothing(
    store: SalesStore, clock: FakeClock
) -> None:
    """A SKU nobody stocks or makes is named; so is a quantity beyond the horizon; neither
    order is stored."""
    book = World().book(store, clock)
    with pytest.raises(OrderInvalid) as caught:
        book.submit(
            OrderRequest("o-1", "shop", (Line("CUP", 1), Line("VASE", 1)), CUSTOMER, "", "standard")
        )
    assert caught.value.field == "lines[1].sku"
    with pytest.raises(OrderInvalid) as caught:
        book.submit(_order("o-2", 1_000_000))
    assert caught.value.field == "lines[0].qty"
    assert book.list_orders() == []
    with pytest.raises(NotFound):
        book.get("o-1")


def test_a_destination_no_van_reaches_is_refused_and_nothing_kept(
    store: SalesStore, clock: FakeClock
) -> None:
    """4,000 km from every warehouse (200 km radius by default): refused naming `destination`,
    no order, no hold, no job; with the radius widened for the network, the same order is
    promised."""
    world = World()
    book = world.book(store, clock)
    kashgar = (39.47, 75.99)
    with pytest.raises(OrderInvalid) as caught:
        book.submit(_order("o-far", 1, destination=kashgar))
    assert caught.value.field == "destination"
    assert book.list_orders() == []
    assert store.open_holds() == []
    assert world.jobs == []
    book.set_network(NETWORK | {"service_radius_km": 5000})
    assert book.submit(_order("o-far", 1, destination=kashgar)).created


def test_cancel_releases_stock_and_closes_jobs_but_not_once_shipped(
    store: SalesStore, clock: FakeClock
) -> None:
    """A cancelled order's stock goes to the next order and its jobs are closed; an order out
    for delivery cannot be cancelled (409)."""
    world = World()
    book = world.book(store, clock)
    book.submit(_order("o-1", 7))  # 5 at w1 + 2 at w2
    book.submit(_order("o-2", 2))  # made
    assert book.cancel("o-2", actor="ana").standing.status == "cancelled"
    assert world.closed == [world.jobs[0].id]
    book.cancel("o-1", actor="ana", reason="customer changed mind")
    assert book.submit(_order("o-3", 7)).order.standing.status == "reserved"
    book.record_fact("o-3", "picked_up", actor="van-1")
    with pytest.raises(OrderConflict, match="shipped"):
        book.cancel("o-3", actor="ana")
    timeline = book.timeline("o-1")
    assert (timeline[-1].status, timeline[-1].actor, timeline[-1].reason) == (
        "cancelled", "ana", "customer changed mind")  # fmt: skip


def test_tracking_token_finds_only_its_order(store: SalesStore, clock: FakeClock) -> None:
    """The token shown once finds the order; any other token finds nothing."""
    book = World().book(store, clock)
    taken = book.submit(_order("o-1", 1))
    assert taken.token is not None
    found = book.track(taken.token)
    assert found is not None
    assert found.id == "o-1"
    assert book.track(taken.token + "x") is None
    assert book.track("") is None
    assert token_hash(taken.token) != taken.token


def test_transitions_queue_webhook_events_in_order(store: SalesStore, clock: FakeClock) -> None:
    """Each transition of an order with a webhook URL becomes one event with an id; only the
    oldest undelivered event of an order is due, so receivers get them in order."""
    book = World().book(store, clock)
    book.submit(_order("o-1", 2, webhook_url="https://shop.example/hooks"))
    book.record_fact("o-1", "picked_up", actor="van-1")
    now = int(clock.now() * 1000)
    due = store.due_webhooks(now_ms=now, limit=10)
    assert [(e.order_id, e.seq) for e in due] == [("o-1", 1)]
    assert orjson.loads(due[0].body)["id"] == "o-1:1"
    store.webhook_done("o-1", 1, at_ms=now)
    store.webhook_retry("o-1", 2, attempts=1, next_ms=now + 5000, error="503")
    assert store.due_webhooks(now_ms=now, limit=10) == []
    later = store.due_webhooks(now_ms=now + 5000, limit=10)
    assert [(e.seq, orjson.loads(e.body)["status"]) for e in later] == [(2, "promised")]


def test_concurrent_orders_never_share_units(store: SalesStore, clock: FakeClock) -> None:
    """Eight clients racing for scarce stock: every order is answered, and the units reserved
    from stock never exceed what the shelves hold."""
    world = World()
    book = world.book(store, clock)
    answers: list[Any] = []
    errors: list[BaseException] = []

    def client(n: int) -> None:
        try:
            for i in range(5):
                answers.append(book.submit(_order(f"c{n}-{i}", 1 + (n + i) % 3)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(answers) == 40
    from_stock = sum(
        p["qty"] for a in answers for line in a.order.promise["lines"] for p in line["from_stock"]
    )
    assert from_stock == 7  # all of it, and not one unit more
    made = sum(m["qty"] for a in answers for line in a.order.promise["lines"] for m in line["made"])
    assert from_stock + made == sum(1 + (n + i) % 3 for n in range(8) for i in range(5))


def test_a_restarted_book_keeps_orders_holds_and_tracking(tmp_path: Path, clock: FakeClock) -> None:
    """After the process dies between promise and production, a new book on the same file
    has the order, its reservation (the units stay taken) and its tracking link."""
    world = World()
    db = SqliteStore(tmp_path / "c.db")
    taken = world.book(db.sales_store(), clock).submit(_order("o-1", 5))
    db.close()  # as good as a kill: every write was committed when submit returned
    db = SqliteStore(tmp_path / "c.db")
    try:
        book = world.book(db.sales_store(), clock)
        assert book.get("o-1").standing.status == "reserved"
        assert taken.token is not None
        assert book.track(taken.token) is not None
        next_line = book.submit(_order("o-2", 3)).order.promise["lines"][0]
        assert [(p["warehouse"], p["qty"]) for p in next_line["from_stock"]] == [("w2", 2)]
    finally:
        db.close()


def test_bad_network_documents_are_refused_and_the_old_one_kept(
    store: SalesStore, clock: FakeClock
) -> None:
    """A network naming an unknown factory is refused with its field; the book keeps the
    network it had."""
    book = World().book(store, clock)
    bad = {**NETWORK, "products": [{"sku": "CUP", "factories": ["fZ"]}]}
    with pytest.raises(OrderInvalid) as caught:
        book.set_network(bad)
    assert caught.value.field == "products[0].factories[0]"
    assert book.network_document() == orjson.loads(orjson.dumps(NETWORK))


def test_production_facts_move_made_orders(store: SalesStore, clock: FakeClock) -> None:
    """An order waiting on its jobs is in production once one starts and produced once all
    finished; a repeated look changes nothing more."""
    world = World()
    book = world.book(store, clock)
    book.submit(_order("o-1", 10))  # 7 from stock, 3 made
    states: dict[str, str] = {}
    reported = ["sales.o-1.0.0", "replenish-x.CUP-1", "sales.unknown.0.0"]
    assert book.follow_production(reported, states.get) == 0
    states["sales.o-1.0.0"] = "started"
    assert book.follow_production([], states.get) == 0  # nothing reported: nothing looked at
    assert book.follow_production(reported, states.get) == 1
    assert book.get("o-1").standing.status == "in_production"
    states["sales.o-1.0.0"] = "finished"
    assert book.follow_production(reported, states.get) == 1
    assert book.follow_production(reported, states.get) == 0
    assert [t.status for t in book.timeline("o-1")][-2:] == ["in_production", "produced"]


def test_an_order_the_planner_refuses_is_kept_and_marked_delayed(
    store: SalesStore, clock: FakeClock
) -> None:
    """When the planner refuses the production jobs, the promise stands and the order is
    delayed with the planner's reason."""
    world = World()
    book = world.book(store, clock)

    def refuse(_jobs: object) -> None:
        raise OrderRejected("machine 'm1' has not been seen", field="operations")

    book.submit_jobs = refuse
    taken = book.submit(_order("o-1", 9))
    assert taken.order.standing.status == "delayed"
    assert "has not been seen" in book.timeline("o-1")[-1].reason


def test_the_orders_whose_work_is_in_the_schedule_are_found_by_their_job_ids() -> None:
    """Production jobs and their re-makes name their order, dotted ids included; an order
    whose id only begins another's, and jobs of other kinds, are not taken for it."""
    from coordinator.sales.book import _orders_with_work_in

    found = _orders_with_work_in(
        ["sales.o-1.0.0", "sales.a.b.1.2.r1", "replenish-x.1", "t.sales.o-9.0.0", "sales."]
    )
    assert {"o-1", "a.b"} <= found
    assert not {"o", "o-9", "a.b.1.2.r1", "replenish-x", ""} & found
