"""The sales book on both stores: promises, holds, retries, cancellation, tracking, restarts,
and concurrent orders for scarce stock."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import orjson
import pytest

from coordinator.errors import NotFound, StoreError
from coordinator.plan.errors import OrderRejected
from coordinator.plan.orders.specs import DeliveryOrder, JobOrder, ProductSpec, StepOption
from coordinator.plan.runner import PlanRunner
from coordinator.plan.state import MemoryPlanState
from coordinator.plan.triggers import MachineSeen
from coordinator.sales.book import (
    CapacityView,
    OrderConflict,
    OrderInvalid,
    OrderRequest,
    SalesBook,
    Taken,
    token_hash,
)
from coordinator.sales.promise import Line, Point
from coordinator.sales.records import InMemorySalesStore, NewOrder, SalesStore
from coordinator.sales.shipping import order_of_delivery
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock
from tests.coordinator.conftest import command_log
from tests.waiting import wait_until

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
    assert book.timeline_of(book.get("o-1")) == timeline
    with pytest.raises(NotFound):
        book.timeline("o-unknown")


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


class GatedStore:
    """A sales store whose first `create_all` waits until `gate` is set, and which refuses
    the batch after `refuse` is set (a full disk); it records the ids of each batch."""

    def __init__(self, inner: SalesStore) -> None:
        self.inner = inner
        self.batches: list[list[str]] = []
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.refuse = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def create_all(self, orders: Sequence[NewOrder]) -> None:
        self.batches.append([n.order.id for n in orders])
        if len(self.batches) == 1:
            self.entered.set()
            assert self.gate.wait(10)
        if self.refuse:
            self.refuse = False
            raise StoreError("sales create failed: disk full", operation="create")
        self.inner.create_all(orders)


def _in_threads(book: SalesBook, orders: Sequence[OrderRequest]) -> tuple[
    list[threading.Thread], dict[str, Any]]:  # fmt: skip
    answers: dict[str, Any] = {}

    def submit(order: OrderRequest) -> None:
        try:
            answers[order.id] = book.submit(order)
        except Exception as exc:  # reported through answers
            answers[order.id] = exc

    threads = [threading.Thread(target=submit, args=(o,)) for o in orders]
    for t in threads:
        t.start()
    return threads, answers


def test_orders_promised_during_a_write_are_stored_together_and_answered_after(
    store: SalesStore, clock: FakeClock
) -> None:
    """While one order is being stored, four more are promised on what it left and wait;
    they are stored in one batch, answered only then, and their jobs reach the planner in
    one hand-over."""
    world = World()
    gated = GatedStore(store)
    handed: list[list[str]] = []
    book = world.book(cast(SalesStore, gated), clock)
    book.submit_jobs = lambda jobs: handed.append([j.id for j in jobs])
    first, first_answers = _in_threads(book, [_order("o-1", 4)])
    assert gated.entered.wait(10)
    rest, answers = _in_threads(book, [_order(f"o-{n}", 2) for n in range(2, 6)])
    wait_until(lambda: book.waiting_to_be_stored == 4)
    assert first_answers == {}
    assert answers == {}
    gated.gate.set()
    for t in first + rest:
        t.join(10)
    assert gated.batches[0] == ["o-1"]
    assert sorted(gated.batches[1]) == ["o-2", "o-3", "o-4", "o-5"]
    assert all(a.created for a in answers.values())
    from_stock = sum(
        p["qty"] for a in [*answers.values(), first_answers["o-1"]]
        for line in a.order.promise["lines"] for p in line["from_stock"]
    )  # fmt: skip
    assert from_stock == 7  # 5 + 2 on the shelves, not one unit more
    assert len(handed) == 1  # one hand-over for the batch's production jobs
    made = [o for o, a in answers.items() if a.order.promise["lines"][0]["made"]]
    assert sorted(handed[0]) == sorted(f"sales.{o}.0.0" for o in made)
    for order_id in ["o-1", *answers]:
        assert book.get(order_id).standing.status in {"promised", "reserved"}


def test_a_batch_the_store_refuses_gives_back_what_its_orders_held(
    store: SalesStore, clock: FakeClock
) -> None:
    """When the transaction of a batch fails, each of its callers gets the store's error,
    nothing of those orders is kept, and their units go to the next order."""
    world = World()
    gated = GatedStore(store)
    book = world.book(cast(SalesStore, gated), clock)
    gated.refuse = True
    first, answers = _in_threads(book, [_order("o-1", 5)])
    assert gated.entered.wait(10)
    rest, more = _in_threads(book, [_order("o-2", 2)])
    wait_until(lambda: book.waiting_to_be_stored == 1)
    gated.gate.set()
    for t in first + rest:
        t.join(10)
    assert isinstance(answers["o-1"], StoreError)
    assert more["o-2"].created  # the next batch is stored
    with pytest.raises(NotFound):
        book.get("o-1")
    after = book.submit(_order("o-3", 5)).order.promise["lines"][0]["from_stock"]
    assert sum(p["qty"] for p in after) == 5  # o-1's units are free again (o-2 holds 2)


def test_a_retry_during_the_first_write_gets_the_stored_answer(
    store: SalesStore, clock: FakeClock
) -> None:
    """A retry of an order still being stored waits for it and gets its answer; nothing is
    promised or held twice."""
    world = World()
    gated = GatedStore(store)
    book = world.book(cast(SalesStore, gated), clock)
    first, answers = _in_threads(book, [_order("o-1", 4)])
    assert gated.entered.wait(10)
    again, retried = _in_threads(book, [_order("o-1", 4)])
    time.sleep(0.2)  # the retry is waiting on the first call (not an assertion on time)
    assert retried == {}
    gated.gate.set()
    for t in first + again:
        t.join(10)
    assert answers["o-1"].created
    assert not retried["o-1"].created
    assert retried["o-1"].order.promise == answers["o-1"].order.promise
    assert gated.batches == [["o-1"]]
    nxt = book.submit(_order("o-2", 3)).order.promise["lines"][0]["from_stock"]
    assert sum(p["qty"] for p in nxt) == 3  # 1 left at w1 + 2 at w2: held once


def test_async_orders_share_a_batch_and_never_share_units(
    store: SalesStore, clock: FakeClock
) -> None:
    """`submit_async` from one event loop: while the first order is being stored the loop
    keeps promising the next four (on what the first left), they are stored in one batch,
    each answered after its own write, and no unit is promised twice."""
    world = World()
    gated = GatedStore(store)
    book = world.book(cast(SalesStore, gated), clock)

    async def main() -> list[Any]:
        first = asyncio.create_task(book.submit_async(_order("o-1", 4)))
        while not gated.entered.is_set():
            await asyncio.sleep(0.001)
        rest = [asyncio.create_task(book.submit_async(_order(f"o-{n}", 2))) for n in range(2, 6)]
        while book.waiting_to_be_stored < 4:
            await asyncio.sleep(0.001)
        assert not any(task.done() for task in [first, *rest])
        gated.gate.set()
        return list(await asyncio.gather(first, *rest))

    answers = asyncio.run(asyncio.wait_for(main(), 10))
    assert gated.batches[0] == ["o-1"]
    assert sorted(gated.batches[1]) == ["o-2", "o-3", "o-4", "o-5"]
    assert all(a.created for a in answers)
    from_stock = sum(
        p["qty"] for a in answers for line in a.order.promise["lines"] for p in line["from_stock"]
    )
    assert from_stock == 7  # 5 + 2 on the shelves, not one unit more


def test_a_cancelled_async_caller_still_has_its_order_stored_once(
    store: SalesStore, clock: FakeClock
) -> None:
    """A caller cancelled while its order is being stored (a client gone) does not undo
    the promise: the order is stored with its holds, a retry gets the stored answer, and
    the next order does not get its units."""
    world = World()
    gated = GatedStore(store)
    book = world.book(cast(SalesStore, gated), clock)

    async def main() -> tuple[Taken, Taken]:
        task = asyncio.create_task(book.submit_async(_order("o-1", 4)))
        while not gated.entered.is_set():
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        gated.gate.set()
        retry = await book.submit_async(_order("o-1", 4))
        nxt = await book.submit_async(_order("o-2", 3))
        return retry, nxt

    retry, nxt = asyncio.run(asyncio.wait_for(main(), 10))
    assert not retry.created
    assert book.get("o-1").standing.status == "reserved"
    assert sum(p["qty"] for p in nxt.order.promise["lines"][0]["from_stock"]) == 3
    assert gated.batches == [["o-1"], ["o-2"]]


def test_a_batch_the_store_refuses_fails_its_async_callers_and_keeps_nothing(
    store: SalesStore, clock: FakeClock
) -> None:
    """An async caller whose batch the store refuses gets the store's error; its units go
    to the next order."""
    world = World()
    gated = GatedStore(store)
    gated.gate.set()
    gated.refuse = True
    book = world.book(cast(SalesStore, gated), clock)

    async def main() -> Taken:
        with pytest.raises(StoreError):
            await book.submit_async(_order("o-1", 5))
        return await book.submit_async(_order("o-2", 5))

    nxt = asyncio.run(asyncio.wait_for(main(), 10))
    with pytest.raises(NotFound):
        book.get("o-1")
    assert sum(p["qty"] for p in nxt.order.promise["lines"][0]["from_stock"]) == 5


def test_a_batch_the_planner_refuses_delays_only_the_orders_it_refuses(
    store: SalesStore, clock: FakeClock
) -> None:
    """If the planner refuses a batch's jobs, they are handed over order by order: only the
    order whose jobs it refuses is delayed, with its reason."""
    world = World()
    gated = GatedStore(store)
    book = world.book(cast(SalesStore, gated), clock)
    taken: list[str] = []

    def planner(jobs: Sequence[JobOrder]) -> None:
        if any(j.id.startswith("sales.o-bad.") for j in jobs):
            raise OrderRejected("machine 'm1' has not been seen", field="operations")
        taken.extend(j.id for j in jobs)

    book.submit_jobs = planner
    first, _ = _in_threads(book, [_order("o-0", 7)])  # all the stock: the rest is made
    assert gated.entered.wait(10)
    rest, answers = _in_threads(book, [_order("o-1", 2), _order("o-bad", 2), _order("o-2", 2)])
    wait_until(lambda: book.waiting_to_be_stored == 3)
    gated.gate.set()
    for t in first + rest:
        t.join(10)
    assert sorted(gated.batches[1]) == ["o-1", "o-2", "o-bad"]
    assert answers["o-bad"].order.standing.status == "delayed"
    assert "has not been seen" in book.timeline("o-bad")[-1].reason
    assert {answers[o].order.standing.status for o in ("o-1", "o-2")} == {"promised"}
    assert sorted(taken) == ["sales.o-1.0.0", "sales.o-2.0.0"]


def test_the_orders_whose_work_is_in_the_schedule_are_found_by_their_job_ids() -> None:
    """Production jobs and their re-makes name their order, dotted ids included; an order
    whose id only begins another's, and jobs of other kinds, are not taken for it."""
    from coordinator.sales.book import _orders_with_work_in

    found = _orders_with_work_in(
        ["sales.o-1.0.0", "sales.a.b.1.2.r1", "replenish-x.1", "t.sales.o-9.0.0", "sales."]
    )
    assert {"o-1", "a.b"} <= found
    assert not {"o", "o-9", "a.b.1.2.r1", "replenish-x", ""} & found


class CountingPlanState(MemoryPlanState):
    """The planner's state, recording the job and delivery ids of each orders transaction."""

    def __init__(self) -> None:
        super().__init__()
        self.saves: list[tuple[list[str], list[str]]] = []

    def save_orders(
        self, jobs: Sequence[JobOrder], deliveries: Sequence[DeliveryOrder], *, at_ms: int
    ) -> tuple[frozenset[str], frozenset[str]]:
        self.saves.append(([j.id for j in jobs], [d.id for d in deliveries]))
        return super().save_orders(jobs, deliveries, at_ms=at_ms)


def test_a_batch_of_orders_is_one_transaction_of_the_planners_state(
    store: SalesStore, clock: FakeClock
) -> None:
    """The orders stored in one batch, made ones and ones served from stock alike, reach the
    real planner in one hand-over: one transaction of its durable state holds all their
    jobs and deliveries."""
    world = World()
    gated = GatedStore(store)
    state = CountingPlanState()
    runner = PlanRunner(clock=clock, commands=command_log(), state=state)
    runner.apply([MachineSeen("s", "m1"), MachineSeen("s", "m2")])
    book = world.book(cast(SalesStore, gated), clock)
    book.submit_orders = runner.submit_orders
    first, _ = _in_threads(book, [_order("o-1", 4)])  # 3 units left on the shelves
    assert gated.entered.wait(10)
    rest, answers = _in_threads(book, [_order("o-2", 3), _order("o-3", 3), _order("o-4", 3)])
    wait_until(lambda: book.waiting_to_be_stored == 3)
    gated.gate.set()
    for t in first + rest:
        t.join(10)
    assert sorted(gated.batches[1]) == ["o-2", "o-3", "o-4"]
    assert len(state.saves) == 2  # o-1, then the whole second batch
    jobs, drops = state.saves[1]
    made = {o for o, a in answers.items() if a.order.promise["lines"][0]["made"]}
    assert made  # the batch mixes both kinds
    assert made != set(answers)
    assert sorted(jobs) == sorted(f"sales.{o}.0.0" for o in made)
    assert sorted(order_of_delivery(d) for d in drops) == sorted(set(answers) - made)


def test_pools_due_for_a_new_schedule_are_built_aside_while_orders_go_on(
    store: SalesStore, clock: FakeClock
) -> None:
    """A new schedule makes the pools due: the order that notices does not wait for the
    build (it is promised on the pools there are), and once the build is in, orders see
    the new schedule: here both machines booked for two days, so made parts come later."""
    world = World()
    world.levels = {}  # everything made
    book = world.book(store, clock)
    before = book.submit(_order("o-1", 5)).order.promise["eta_ms"]
    two_days = ((NOW_S, NOW_S + 2 * 86_400.0),)
    world.view = CapacityView(busy={"m1": two_days, "m2": two_days}, unavailable=frozenset(),
                              planned_jobs=frozenset(), version=2)  # fmt: skip
    release = threading.Event()
    building = threading.Event()

    def slow_capacity() -> CapacityView:
        building.set()
        release.wait(10)
        return world.view

    book.capacity = slow_capacity
    clock.advance(book.pool_min_age_s + 1)
    started = time.monotonic()
    during = book.submit(_order("o-2", 5)).order.promise["eta_ms"]
    assert time.monotonic() - started < 5  # not waiting for the build
    assert building.is_set()
    assert during < NOW_S * 1000 + 86_400_000  # the old pools: made the same day
    release.set()
    probes = iter(range(1000))

    def later_now() -> bool:
        promise = book.submit(_order(f"probe-{next(probes)}", 5)).order.promise
        return bool(promise["eta_ms"] > NOW_S * 1000 + 2 * 86_400_000)

    wait_until(later_now, timeout_s=10)
    assert before < NOW_S * 1000 + 86_400_000


def test_with_pools_built_by_the_caller_the_order_that_notices_sees_the_new_schedule(
    store: SalesStore, clock: FakeClock
) -> None:
    """`pools_aside` off (a simulation): the order that finds the pools due for a new
    schedule waits for the build, so its promise does not depend on a thread's speed: both
    machines booked for two days, its made part comes after them."""
    world = World()
    world.levels = {}  # everything made
    book = world.book(store, clock)
    book.pools_aside = False
    before = book.submit(_order("o-1", 5)).order.promise["eta_ms"]
    two_days = ((NOW_S, NOW_S + 2 * 86_400.0),)
    world.view = CapacityView(busy={"m1": two_days, "m2": two_days}, unavailable=frozenset(),
                              planned_jobs=frozenset(), version=2)  # fmt: skip

    def slow_capacity() -> CapacityView:
        time.sleep(0.3)  # a build slower than a promise
        return world.view

    book.capacity = slow_capacity
    clock.advance(book.pool_min_age_s + 1)
    after = book.submit(_order("o-2", 5)).order.promise["eta_ms"]
    assert before < NOW_S * 1000 + 86_400_000
    assert after > NOW_S * 1000 + 2 * 86_400_000
