"""The sales book revising its promises after each re-plan, on both stores: a late plan
delays an order once (one stored transition, one webhook event) with the reason, the same
news again records nothing, an on-time plan takes it back, a restart pushes nothing twice,
and cancelled orders are left alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

import coordinator.sales.book as book_module
from coordinator.plan.runner import PlanRunner
from coordinator.plan.triggers import MachineSeen
from coordinator.sales.book import SalesBook
from coordinator.sales.records import InMemorySalesStore, OrderAdvance, SalesStore
from coordinator.sales.revision import revise_production
from coordinator.sales.sources import PromiseReviser
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock
from tests.coordinator.conftest import command_log
from tests.coordinator.sales.test_book import World, _order, clock, store
from tests.waiting import wait_until

__all__ = ["clock", "store"]  # the fixtures, shared with test_book

HOOK = "https://shop.example/hooks"


def _made(book: SalesBook, order_id: str) -> dict[str, Any]:
    """An order of 10 CUP (7 from stock, 3 made at a factory), with a webhook."""
    taken = book.submit(_order(order_id, 10, webhook_url=HOOK))
    assert taken.order.promise["lines"][0]["made"], "the test needs a made part"
    return taken.order.promise


def _schedule(promise: dict[str, Any], order_id: str, *, late_h: float, version: int) -> Any:
    """The planner's schedule view with the order's job ending `late_h` hours after the
    promised time (negative: before), on machine m1, listed late by a breakdown."""
    end_s = promise["promised_ms"] / 1000 + late_h * 3600
    late = [{"job_id": f"sales.{order_id}.0.0", "reason": "machine_unavailable",
             "detail": "m1 unavailable [0, 240)"}] if late_h > 0 else []  # fmt: skip
    return {
        "version": version,
        "epoch_s": 0.0,
        "time_unit_s": 1.0,
        "machines": {"m1": [{"job_id": f"sales.{order_id}.0.0", "start": 0, "end": end_s}]},
        "late_jobs": late,
    }


def test_a_late_plan_delays_once_with_its_reason_and_an_on_time_one_takes_it_back(
    store: SalesStore, clock: FakeClock
) -> None:
    """Late by 2 h: delayed (cause `plan_late`, actor `planner`, the job, machine and
    constraint in the reason); re-plans saying the same move nothing; 3 h before the
    promise: back to `promised`. The first confirmation is kept in memory only; the delay
    and its end are stored. Transitions are the webhook events: one per real change."""
    book = World().book(store, clock)
    promise = _made(book, "o-1")
    assert book.revise_schedule(_schedule(promise, "o-1", late_h=-3, version=1)) == 0
    confirmed = book.revision("o-1")
    assert confirmed is not None
    assert (confirmed.verdict, confirmed.plan_version) == ("on_time", 1)
    assert store.load_revision("o-1") is None  # a plain confirmation writes nothing
    assert [t.status for t in book.timeline("o-1")] == ["received", "promised"]

    assert book.revise_schedule(_schedule(promise, "o-1", late_h=2, version=2)) == 1
    order = book.get("o-1")
    assert (order.standing.status, order.standing.delayed_from) == ("delayed", "promised")
    delayed = book.timeline("o-1")[-1]
    assert (delayed.status, delayed.cause, delayed.actor) == ("delayed", "plan_late", "planner")
    assert "sales.o-1.0.0" in delayed.reason
    assert "on m1 (machine_unavailable" in delayed.reason
    revision = book.revision("o-1")
    assert revision is not None
    assert revision.verdict == "late"
    assert revision.planned_eta_ms is not None
    assert revision.planned_eta_ms > promise["promised_ms"]

    clock.advance(60)
    assert book.revise_schedule(_schedule(promise, "o-1", late_h=2.2, version=3)) == 0
    assert book.revise_schedule(_schedule(promise, "o-1", late_h=1.9, version=4)) == 0
    assert len(book.timeline("o-1")) == 3

    assert book.revise_schedule(_schedule(promise, "o-1", late_h=-3, version=5)) == 1
    back = book.timeline("o-1")[-1]
    assert (back.status, back.cause) == ("promised", "plan_on_time")
    stored = store.load_revision("o-1")
    assert stored is not None
    assert orjson.loads(stored)["verdict"] == "on_time"  # the end of a delay is stored
    assert [t.status for t in book.timeline("o-1")] == [
        "received",
        "promised",
        "delayed",
        "promised",
    ]
    if isinstance(store, InMemorySalesStore):
        assert [event_status(store, "o-1", seq) for seq in range(1, 5)] == [
            "received", "promised", "delayed", "promised"]  # fmt: skip


def event_status(store: InMemorySalesStore, order_id: str, seq: int) -> str:
    """The status of a queued webhook event."""
    return str(orjson.loads(store.hooks[(order_id, seq)].body)["status"])


def test_a_restarted_book_records_the_same_revision_only_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    """After a restart, the first re-plan repeats what was already recorded: no transition,
    no event; the stored revision is still there to show."""
    world = World()
    db = SqliteStore(tmp_path / "c.db")
    book = world.book(db.sales_store(), clock)
    promise = _made(book, "o-1")
    book.revise_schedule(_schedule(promise, "o-1", late_h=2, version=2))
    db.close()
    db = SqliteStore(tmp_path / "c.db")
    try:
        again = world.book(db.sales_store(), clock)
        assert again.revise_schedule(_schedule(promise, "o-1", late_h=2.5, version=3)) == 0
        assert [t.status for t in again.timeline("o-1")] == ["received", "promised", "delayed"]
        revision = again.revision("o-1")
        assert revision is not None
        assert revision.plan_version == 2
    finally:
        db.close()


def test_another_delay_is_cleared_by_an_on_time_plan(store: SalesStore, clock: FakeClock) -> None:
    """An order delayed for another cause (say, its delivery not planned) after a plan had
    confirmed it: the next on-time plan takes it back to its place."""
    book = World().book(store, clock)
    promise = _made(book, "o-1")
    book.revise_schedule(_schedule(promise, "o-1", late_h=-3, version=1))
    book.record_fact("o-1", "delayed", actor="system", reason="delivery not planned")
    assert book.revise_schedule(_schedule(promise, "o-1", late_h=-3, version=2)) == 1
    assert book.get("o-1").standing.status == "promised"


def test_routes_unserved_delay_and_routed_confirm(store: SalesStore, clock: FakeClock) -> None:
    """A reserved order's delivery left unserved by the router is delayed with the router's
    reason; routed in a later plan, it is back to `reserved`."""
    book = World().book(store, clock)
    book.submit(_order("o-1", 2))
    unserved = {"version": 1, "routes": [],
                "unserved": [{"order_id": "ship.o-1", "reason": "fleet", "detail": "no van"}]}  # fmt: skip
    assert book.revise_routes(unserved) == 1
    last = book.timeline("o-1")[-1]
    assert (last.status, last.cause) == ("delayed", "plan_late")
    assert "fleet: no van" in last.reason
    routed = {"version": 2, "routes": [{"stops": ["ship.o-1"]}], "unserved": []}
    assert book.revise_routes(routed) == 1
    assert book.get("o-1").standing.status == "reserved"


def test_a_delivery_no_van_makes_in_time_goes_out_late_rather_never(
    store: SalesStore, clock: FakeClock
) -> None:
    """Unserved for its window (`time_window`): the order is delayed and its delivery handed
    again without the window, so a van takes it late; another reason hands nothing again."""
    book = World().book(store, clock)
    drops: list[Any] = []
    book.submit_deliveries = drops.extend
    book.submit(_order("o-1", 2))
    book.submit(_order("o-2", 2))
    first = [d for d in drops if d.id == "ship.o-1"]
    assert [d.due_ms is not None for d in first] == [True]
    drops.clear()
    view = {"version": 1, "routes": [], "unserved": [
        {"order_id": "ship.o-1", "reason": "time_window", "detail": "too far for the promise"},
        {"order_id": "ship.o-2", "reason": "capacity", "detail": "vans full"}]}  # fmt: skip
    assert book.revise_routes(view) == 2
    assert [(d.id, d.due_ms, d.demand) for d in drops] == [("ship.o-1", None, 2)]
    assert book.get("o-1").standing.status == "delayed"


def test_cancelled_and_unknown_orders_in_a_plan_are_left_alone(
    store: SalesStore, clock: FakeClock
) -> None:
    """A cancelled order whose job a plan still holds, and a job of no order: no change, no
    error."""
    book = World().book(store, clock)
    promise = _made(book, "o-1")
    book.cancel("o-1", actor="ana")
    view = _schedule(promise, "o-1", late_h=2, version=1)
    view["machines"]["m1"].append({"job_id": "sales.ghost.0.0", "start": 0, "end": 10})
    assert book.revise_schedule(view) == 0
    assert book.get("o-1").standing.status == "cancelled"
    assert book.revision("o-1") is None


def test_the_reviser_thread_revises_after_each_plan_of_the_real_planner(clock: FakeClock) -> None:
    """Wired as a plan listener, the reviser's own thread revises the promise after the
    schedule is made (the planner does not wait for it), and stops on close."""
    runner = PlanRunner(clock=clock, commands=command_log(clock=clock), time_limit_s=1.0)
    runner.apply([MachineSeen("s", "m1"), MachineSeen("s", "m2")])
    book = World().book(InMemorySalesStore(), clock)
    book.submit_jobs = runner.submit_orders
    reviser = PromiseReviser(book, runner)
    runner.plan_listeners.append(reviser.on_plan)
    reviser.start()
    try:
        book.submit(_order("o-1", 10))
        clock.advance(5.0)
        assert runner.service.tick()
        wait_until(lambda: book.revision("o-1") is not None, timeout_s=10)
        revision = book.revision("o-1")
        assert revision is not None
        assert (revision.plan, revision.plan_version, revision.verdict) == (
            "schedule",
            1,
            "on_time",
        )
    finally:
        reviser.close()


class _CrashingStore(InMemorySalesStore):
    """Dies once between storing the transition and storing the revision."""

    crashes: int = 1

    def save_revisions(self, revisions: Sequence[tuple[str, str, int]]) -> None:
        if self.crashes:
            self.crashes -= 1
            raise OSError("killed between the transition and the revision")
        super().save_revisions(revisions)


def test_a_crash_between_transition_and_revision_loses_nothing_and_repeats_nothing(
    clock: FakeClock,
) -> None:
    """The delay is stored, the revision is not (the process died): a new book on the same
    store, at the next plan, stores the revision and adds no second `delayed` nor event."""
    store = _CrashingStore()
    world = World()
    book = world.book(store, clock)
    promise = _made(book, "o-1")
    with pytest.raises(OSError, match="killed"):
        book.revise_schedule(_schedule(promise, "o-1", late_h=2, version=1))
    assert store.load_revision("o-1") is None
    restarted = world.book(store, clock)
    assert restarted.revise_schedule(_schedule(promise, "o-1", late_h=2, version=2)) == 0
    assert [t.status for t in restarted.timeline("o-1")] == ["received", "promised", "delayed"]
    assert len(store.hooks) == 3
    revision = restarted.revision("o-1")
    assert revision is not None
    assert (revision.verdict, revision.plan_version) == ("late", 2)


@dataclass
class _CountingStore(InMemorySalesStore):
    """Counts the orders moved per transaction and the revisions stored per one."""

    moves: list[int] = field(default_factory=list)
    revision_writes: list[int] = field(default_factory=list)

    def advance_all(self, changes: Sequence[OrderAdvance]) -> None:
        self.moves.append(len(changes))
        super().advance_all(changes)

    def save_revisions(self, revisions: Sequence[tuple[str, str, int]]) -> None:
        self.revision_writes.append(len(revisions))
        super().save_revisions(revisions)


def test_a_plan_that_delays_many_orders_moves_them_a_chunk_per_transaction(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten orders made late by one plan are delayed in ⌈10 / chunk⌉ transactions (and their
    revisions stored in as many), not one each: the promise lock is held per chunk."""
    monkeypatch.setattr(book_module, "REVISE_CHUNK", 4)
    store = _CountingStore()
    book = World().book(store, clock)
    ids = [f"o-{i}" for i in range(10)]
    promises = {order_id: _made(book, order_id) for order_id in ids}
    view = _schedule(promises[ids[0]], ids[0], late_h=2, version=1)
    for order_id in ids[1:]:
        more = _schedule(promises[order_id], order_id, late_h=2, version=1)
        view["machines"]["m1"] += more["machines"]["m1"]
        view["late_jobs"] += more["late_jobs"]
    store.moves.clear()
    assert book.revise_schedule(view) == 10
    assert store.moves == [4, 4, 2]
    assert store.revision_writes == [4, 4, 2]
    assert all(book.get(order_id).standing.status == "delayed" for order_id in ids)
    assert book.revise_schedule({**view, "version": 2}) == 0  # nothing new: nothing written
    assert store.moves == [4, 4, 2]


@dataclass
class _SlowMovesStore(InMemorySalesStore):
    """Its order moves wait for `go` (a transaction waiting for the disk)."""

    go: threading.Event = field(default_factory=threading.Event)
    moving: threading.Event = field(default_factory=threading.Event)

    def advance_all(self, changes: Sequence[OrderAdvance]) -> None:
        if changes:
            self.moving.set()
            self.go.wait(10)
        super().advance_all(changes)


def test_orders_are_promised_while_a_plan_s_revisions_are_being_written(
    clock: FakeClock,
) -> None:
    """The revisions' transaction holds the lock orders move under, not the one they are
    promised under: a new order is promised while the delays are being written."""
    store = _SlowMovesStore()
    book = World().book(store, clock)
    promise = _made(book, "o-1")
    revising = threading.Thread(
        target=book.revise_schedule, args=(_schedule(promise, "o-1", late_h=2, version=1),)
    )
    revising.start()
    try:
        assert store.moving.wait(5)
        started = time.monotonic()
        assert book.submit(_order("o-2", 3)).created
        assert time.monotonic() - started < 5
    finally:
        store.go.set()
        revising.join(10)
    assert book.get("o-1").standing.status == "delayed"


def test_a_plan_that_plans_an_order_s_jobs_as_before_does_not_revise_it_again(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verdict is a function of the promise and its planned jobs: a re-plan planning
    them the same skips the order (no revision computed), one that moves them revises it."""
    book = World().book(InMemorySalesStore(), clock)
    promise = _made(book, "o-1")
    computed: list[int] = []
    real = revise_production

    def counting(*args: Any, **kwargs: Any) -> Any:
        computed.append(kwargs["version"])
        return real(*args, **kwargs)

    monkeypatch.setattr(book_module, "revise_production", counting)
    assert book.revise_schedule(_schedule(promise, "o-1", late_h=2, version=1)) == 1
    assert book.revise_schedule(_schedule(promise, "o-1", late_h=2, version=2)) == 0
    assert book.revise_schedule(_schedule(promise, "o-1", late_h=-3, version=3)) == 1
    assert computed == [1, 3]
    assert [t.status for t in book.timeline("o-1")] == [
        "received", "promised", "delayed", "promised"]  # fmt: skip
