"""Stop events and receipts acted on once committed, across kills: the inbox written with
the batch, the follower's retries, and a real coordinator killed between committing a
vehicle's stop event and acting on it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from coordinator.fleet_facts import FleetFollower
from coordinator.ingest.records import BatchOutcome, WriteBatch
from coordinator.jobs.facts import FleetFact
from coordinator.plan.orders.specs import DepotSpec, VehicleSpec
from coordinator.service import Coordinator
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock
from protocol import Event
from protocol.reports import StopReport
from tests.coordinator.conftest import T0_MS, Node, feed, running_coordinator
from tests.waiting import wait_until

DELIVERED = FleetFact("s1", "v1", "stop_delivered", "ship.so-1")
FAILED = FleetFact("s1", "v1", "stop_failed", "ship.so-2")
RECEIVED = FleetFact("s1", "shelf-1", "received", "t.sales.so-3.0.0")


# -- the inbox on the store ---------------------------------------------------------------


def test_a_batch_puts_its_facts_in_the_inbox_once_and_they_leave_when_taken(
    tmp_path: Path,
) -> None:
    """Committed with the batch, the same fact twice kept once, oldest first; taken out
    only the facts named; still there after a reopen (a kill before acting)."""
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        store.commit(WriteBatch(fleet_facts=(DELIVERED, FAILED)))
        store.commit(WriteBatch(fleet_facts=(DELIVERED, RECEIVED)))
        inbox = store.job_store()
        assert sorted(inbox.fleet_inbox(), key=str) == sorted(
            [DELIVERED, FAILED, RECEIVED], key=str
        )
        assert len(inbox.fleet_inbox(limit=2)) == 2
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        inbox = store.job_store()
        inbox.take_from_inbox([DELIVERED, RECEIVED])
        assert inbox.fleet_inbox() == [FAILED]
        inbox.take_from_inbox([DELIVERED])  # taken twice: nothing more
        assert inbox.fleet_inbox() == [FAILED]


def test_the_job_facts_path_of_another_store_fills_the_inbox_too(tmp_path: Path) -> None:
    """A batch whose core rows PostgreSQL commits has its fleet facts written to the
    coordinator's SQLite file first (`commit_job_facts`), a redelivery harmlessly again."""
    with closing(SqliteStore(tmp_path / "c.db")) as store:
        batch = WriteBatch(fleet_facts=(FAILED,))
        store.commit_job_facts(batch)
        store.commit_job_facts(batch)
        assert store.job_store().fleet_inbox() == [FAILED]


def test_an_unknown_fact_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fleet fact"):
        FleetFact("s1", "v1", "stop_teleported", "ship.so-1")


# -- the follower -------------------------------------------------------------------------


@dataclass
class Inbox:
    """The store's inbox, in memory."""

    facts: list[FleetFact] = field(default_factory=list)

    def fleet_inbox(self, *, limit: int = 100_000) -> list[FleetFact]:
        return self.facts[:limit]

    def take_from_inbox(self, facts: Iterable[FleetFact]) -> None:
        gone = set(facts)
        self.facts = [f for f in self.facts if f not in gone]


@dataclass
class Takers:
    """The planner, the lateral transfers and the sales book, recording what they took;
    `broken` refs make them fail."""

    planner: list[FleetFact] = field(default_factory=list)
    lateral: list[str] = field(default_factory=list)
    stops: list[tuple[str, str, str]] = field(default_factory=list)
    receipts: list[tuple[str, str]] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)
    order: list[str] = field(default_factory=list)  # who took something, in turn

    def plan(self, facts: Iterable[FleetFact]) -> None:
        facts = list(facts)
        if any(f.ref in self.broken for f in facts):
            raise RuntimeError("the plan state cannot be written")
        self.planner.extend(facts)
        self.order.append("planner")

    def follow_stops(self, stops: Iterable[tuple[str, str, str]]) -> int:
        self.stops.extend(stops)
        return 0

    def follow_receipts(
        self, transfer_ids: Iterable[str], *, places: dict[str, str] | None = None
    ) -> int:
        self.receipts.extend((t, (places or {})[t]) for t in transfer_ids)
        self.order.append("sales receipts")
        return 0


def _follower(inbox: Inbox, takers: Takers, clock: FakeClock) -> FleetFollower:
    return FleetFollower(
        inbox,
        planner=takers.plan,
        lateral=takers.lateral.extend,
        sales=takers,
        monotonic=clock.monotonic,
        retry_s=60.0,
        batch_size=2,
    )


def _committed(inbox: Inbox, *facts: FleetFact) -> BatchOutcome:
    """What the writer hands its listeners after committing a batch of these facts."""
    inbox.facts.extend(facts)
    return BatchOutcome(WriteBatch(fleet_facts=facts))


def test_each_fact_goes_to_its_takers_then_leaves_the_inbox() -> None:
    """Stops to the planner and the sales book (name, stop, vehicle), receipts to the
    planner, the lateral transfers and the sales book (with the node that received)."""
    inbox, takers, clock = Inbox(), Takers(), FakeClock()
    follower = _follower(inbox, takers, clock)
    follower.on_commit(_committed(inbox, DELIVERED, RECEIVED), None)
    assert takers.planner == [DELIVERED, RECEIVED]
    assert takers.lateral == ["t.sales.so-3.0.0"]
    assert takers.stops == [("stop_delivered", "ship.so-1", "v1")]
    assert takers.receipts == [("t.sales.so-3.0.0", "shelf-1")]
    assert inbox.facts == []
    follower.on_commit(BatchOutcome(WriteBatch()), None)  # a tick: nothing more
    assert takers.planner == [DELIVERED, RECEIVED]


def test_receipts_reach_the_sales_book_before_the_planner() -> None:
    """The made goods received become their orders' deliveries (the sales book) before the
    planner hears of the receipt and lets the van that brought them leave again."""
    inbox, takers, clock = Inbox(), Takers(), FakeClock()
    _follower(inbox, takers, clock).on_commit(_committed(inbox, RECEIVED), None)
    assert takers.order == ["sales receipts", "planner"]


def test_facts_a_taker_failed_on_wait_in_the_inbox_and_are_retried_later() -> None:
    """A failure keeps the batch's facts; later batches wait behind them in the inbox until
    `retry_s` passed, then every fact is taken once (a fact failing alone stays)."""
    inbox, takers, clock = Inbox(), Takers(broken={"ship.so-1"}), FakeClock()
    follower = _follower(inbox, takers, clock)
    follower.on_commit(_committed(inbox, DELIVERED), None)
    assert (takers.stops, inbox.facts) == ([], [DELIVERED])
    follower.on_commit(_committed(inbox, FAILED), None)
    clock.advance(59.0)
    follower.on_commit(BatchOutcome(WriteBatch()), None)
    assert (takers.stops, inbox.facts) == ([], [DELIVERED, FAILED])
    clock.advance(1.0)
    follower.on_commit(_committed(inbox, RECEIVED), None)  # the retry: one by one
    assert takers.stops == [("stop_failed", "ship.so-2", "v1")]
    assert takers.receipts == [("t.sales.so-3.0.0", "shelf-1")]
    assert inbox.facts == [DELIVERED]
    takers.broken.clear()
    clock.advance(60.0)
    follower.on_commit(BatchOutcome(WriteBatch()), None)
    assert takers.stops == [
        ("stop_failed", "ship.so-2", "v1"),
        ("stop_delivered", "ship.so-1", "v1"),
    ]
    assert inbox.facts == []
    follower.on_commit(_committed(inbox, DELIVERED), None)  # back to acting at once
    assert inbox.facts == []


def test_catch_up_takes_a_whole_inbox_in_chunks() -> None:
    inbox, takers, clock = Inbox(), Takers(), FakeClock()
    facts = [FleetFact("s1", "v1", "stop_arrived", f"ship.o-{i}") for i in range(5)]
    inbox.facts.extend(facts)
    assert _follower(inbox, takers, clock).catch_up() == 5
    assert takers.planner == facts
    assert inbox.facts == []


# -- a real coordinator killed between commit and action ------------------------------------

VIEWER, OPERATOR, ADMIN = (
    "viewer-token-fleet-facts",
    "operator-token-fleet-1",
    "admin-token-fleet-1",
)
NETWORK: dict[str, Any] = {
    "warehouses": [
        {"id": "w-futian", "location": {"lat": 29.33, "lon": 120.10}, "nodes": ["shelf-1"]}
    ],
}
V1 = Node(site="s1", node="v1")


@contextmanager
def running(db: Path) -> Iterator[tuple[Coordinator, httpx.Client]]:
    """A coordinator on `db` (no broker) with its HTTP server."""
    tokens = {"viewer_tokens": VIEWER, "operator_tokens": OPERATOR, "admin_tokens": ADMIN}
    with running_coordinator(db, **tokens) as served:
        yield served


def _stop(name: str, stop_id: str, **extra: Any) -> Event:
    report = StopReport(route_version=1, stop_id=stop_id, index=0, lat=29.4, lon=120.12)
    return Event(
        site=V1.site,
        node=V1.node,
        bd_seq=V1.bd_seq,
        seq=V1.next_seq(),
        ts=T0_MS,
        name=name,
        data=report.to_data(),
        **extra,
    )


def _statuses(client: httpx.Client, order_id: str) -> list[str]:
    got = client.get(
        f"/api/v1/sales-orders/{order_id}", headers={"Authorization": f"Bearer {VIEWER}"}
    )
    assert got.status_code == 200, got.text
    return [t["status"] for t in got.json()["timeline"]]


def _held(coordinator: Coordinator) -> list[str]:
    assert coordinator.plans is not None
    return [d.id for d in coordinator.plans.orders()[1]]


def _killed_before_acting(coordinator: Coordinator) -> None:
    """From now on this coordinator commits batches but dies before acting on them."""
    assert coordinator.fleet_follower is not None
    coordinator.writer.listeners.remove(coordinator.fleet_follower.on_commit)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """shelf-1 (warehouse w-futian) holds 10 CUP; van v1 is based there; so-1 and so-2
    were ordered from stock and handed to the planner; v1 loaded both and reported picking
    them up (both out for delivery)."""
    shelf, V1.seq = Node(site="s1", node="shelf-1"), 0
    with running(tmp_path / "c.db") as (coordinator, client):
        feed(
            coordinator,
            shelf.birth(node_kind="warehouse"),
            shelf.stock("snapshot", {"CUP": 10}),
            V1.birth(node_kind="vehicle"),
        )
        as_admin = {"Authorization": f"Bearer {ADMIN}"}
        assert client.put("/api/v1/network", json=NETWORK, headers=as_admin).status_code == 200
        assert coordinator.plans is not None
        coordinator.plans.set_fleet(
            [DepotSpec("shelf-1", 0.0, 0.0, lat=29.33, lon=120.10)],
            [VehicleSpec("v1", "shelf-1", 50)],
        )
        for order_id in ("so-1", "so-2"):
            placed = client.post(
                "/api/v1/sales-orders",
                json={
                    "id": order_id,
                    "customer": "live-shop-12",
                    "lines": [{"sku": "CUP", "qty": 2}],
                    "destination": {"lat": 29.40, "lon": 120.12, "address": "Choucheng"},
                    "service": "express",
                },
                headers={"Authorization": f"Bearer {OPERATOR}"},
            )
            assert placed.status_code == 201, placed.text
        assert _held(coordinator) == ["ship.so-1", "ship.so-2"]
        coordinator.plans.dispatch("v1", ["ship.so-1", "ship.so-2"])
        feed(coordinator, _stop("stop_arrived", "ship.so-1"), _stop("stop_arrived", "ship.so-2"))
        wait_until(lambda: _statuses(client, "so-2")[-1] == "out_for_delivery")
    return tmp_path / "c.db"


def test_stop_events_committed_before_a_kill_are_acted_on_once_at_the_next_start(
    db: Path,
) -> None:
    """v1 delivers so-1 and fails so-2; the coordinator commits both events and dies before
    acting on them (the agent dropped them: the watermark went out first). The next start
    delivers so-1 and closes its delivery, and puts so-2 back into the plan off v1; a
    further start repeats nothing."""
    with running(db) as (coordinator, client):
        _killed_before_acting(coordinator)
        feed(
            coordinator,
            _stop("stop_delivered", "ship.so-1"),
            _stop("stop_failed", "ship.so-2", reason="nobody home"),
        )
        assert _statuses(client, "so-1")[-1] == "out_for_delivery"
        assert _held(coordinator) == ["ship.so-1", "ship.so-2"]
        assert coordinator.local.job_store().fleet_inbox() != []
    for _ in range(2):
        with running(db) as (coordinator, client):
            assert _statuses(client, "so-1").count("delivered") == 1
            assert _statuses(client, "so-1")[-1] == "delivered"
            assert _statuses(client, "so-2").count("failed_delivery") == 1
            assert _held(coordinator) == ["ship.so-2"]
            assert coordinator.plans is not None
            assert coordinator.plans.service._pins == {}
            assert coordinator.local.job_store().fleet_inbox() == []


def test_stop_events_are_acted_on_as_they_are_committed(db: Path) -> None:
    """The same events with nothing killed: acted on at once, the inbox empty after."""
    with running(db) as (coordinator, client):
        feed(
            coordinator,
            _stop("stop_delivered", "ship.so-1"),
            _stop("stop_failed", "ship.so-2", reason="nobody home"),
        )
        wait_until(lambda: coordinator.local.job_store().fleet_inbox() == [])
        assert _statuses(client, "so-1")[-1] == "delivered"
        assert _statuses(client, "so-2")[-1] == "failed_delivery"
        assert _held(coordinator) == ["ship.so-2"]


def test_facts_of_no_order_leave_the_inbox_and_change_nothing(db: Path) -> None:
    """Stops and receipts naming nothing held (an unknown order, another kind of stop, a
    transfer of no job) are taken and dropped: the inbox empties, the orders stay put."""
    shelf = Node(site="s1", node="shelf-1", seq=100)
    with running(db) as (coordinator, client):
        feed(
            coordinator,
            _stop("stop_delivered", "ship.nobody"),
            _stop("stop_failed", "pickup-7", reason="closed"),
            _stop("stop_delivered", "ship." + "x" * 59),
            shelf.stock("delta", {"CUP": 1}, transfer_id="t.sales.ghost.0.0"),
            shelf.stock("delta", {"CUP": 1}, transfer_id="t."),
        )
        wait_until(lambda: coordinator.local.job_store().fleet_inbox() == [])
        assert _statuses(client, "so-1")[-1] == "out_for_delivery"
        assert _statuses(client, "so-2")[-1] == "out_for_delivery"
        assert _held(coordinator) == ["ship.so-1", "ship.so-2"]
