"""Fixtures for the coordinator core's tests: message builders and an in-memory pipeline."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from coordinator.commands import CommandLog, MemoryCommandStore
from coordinator.fleet.twin import FleetTwin
from coordinator.ingest.pipeline import IngestPipeline, decode_all
from coordinator.ingest.records import BatchOutcome, RawMessage
from coordinator.notify.publisher import InMemoryPublisher
from coordinator.store.port import Store
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import Clock, FakeClock
from protocol import Birth, Death, Event, Message, Stock, Telemetry, encode, topic_for
from protocol.messages import NodeKind

T0_MS = 1_700_000_000_000


@dataclass
class Node:
    """Builds one node's messages with consecutive seqs."""

    site: str = "s1"
    node: str = "m1"
    bd_seq: int = 0
    seq: int = 0

    def next_seq(self) -> int:
        value = self.seq
        self.seq += 1
        return value

    def birth(
        self,
        *,
        pending_from_seq: int | None = None,
        signals: tuple[str, ...] = ("temp",),
        node_kind: NodeKind = "machine",
    ) -> Birth:
        from protocol import SignalSpec

        return Birth(
            site=self.site,
            node=self.node,
            bd_seq=self.bd_seq,
            seq=self.next_seq(),
            ts=T0_MS,
            node_kind=node_kind,
            signals=tuple(SignalSpec(name=s, unit="C") for s in signals),
            pending_from_seq=pending_from_seq,
        )

    def telemetry(
        self, *samples: tuple[str, int, float], seq: int | None = None, historical: bool = False
    ) -> Telemetry:
        return Telemetry(
            site=self.site,
            node=self.node,
            bd_seq=self.bd_seq,
            seq=self.next_seq() if seq is None else seq,
            ts=T0_MS,
            historical=historical,
            samples=samples or (("temp", T0_MS, 1.0),),
        )

    def stock(
        self,
        mode: str,
        items: dict[str, int],
        *,
        seq: int | None = None,
        transfer_id: str | None = None,
    ) -> Stock:
        return Stock(
            transfer_id=transfer_id,
            site=self.site,
            node=self.node,
            bd_seq=self.bd_seq,
            seq=self.next_seq() if seq is None else seq,
            ts=T0_MS,
            mode=mode,  # type: ignore[arg-type]
            items=items,
        )

    def event(self, state: str | None = "raised") -> Event:
        return Event(
            site=self.site,
            node=self.node,
            bd_seq=self.bd_seq,
            seq=self.next_seq(),
            ts=T0_MS,
            name="anomaly",
            severity="MAJOR",
            state=state,  # type: ignore[arg-type]
            signal="temp",
        )

    def death(self) -> Death:
        return Death(site=self.site, node=self.node, bd_seq=self.bd_seq)


def command_log(
    publisher: InMemoryPublisher | None = None, clock: Clock | None = None
) -> CommandLog:
    """A command log over the in-memory store and publisher (the parts that send commands
    are tested against it; the SQLite store has tests of its own)."""
    return CommandLog(
        store=MemoryCommandStore(),
        publisher=publisher if publisher is not None else InMemoryPublisher(),
        clock=clock or FakeClock(),
    )


def feed(coordinator: Any, *messages: Message, timeout_s: float = 5.0) -> None:
    """Hand messages to a `Coordinator`'s ingest writer and wait until they are committed."""
    before = coordinator.writer.stats.messages
    for message in messages:
        coordinator.writer.enqueue(raw(message))
    deadline = time.monotonic() + timeout_s
    while coordinator.writer.stats.messages < before + len(messages):
        assert time.monotonic() < deadline, "messages were not ingested"
        time.sleep(0.01)


def raw(message: Message, *, received_ms: int = T0_MS, token: object = None) -> RawMessage:
    """The raw form of a message, as the MQTT adapter would enqueue it."""
    return RawMessage(topic_for(message), encode(message), received_ms, token)


@dataclass
class Harness:
    """A pipeline on a fake clock with a fresh twin."""

    clock: FakeClock = field(default_factory=FakeClock)
    twin: FleetTwin = field(default_factory=FleetTwin)
    pipeline: IngestPipeline = field(init=False)

    def __post_init__(self) -> None:
        self.pipeline = IngestPipeline(
            self.twin,
            self.clock,
            rebirth_min_interval_s=30.0,
            inactivity_timeout_for=lambda _n: 60.0,
        )

    def feed(self, *items: Message | RawMessage) -> BatchOutcome:
        raws = [i if isinstance(i, RawMessage) else raw(i) for i in items]
        return self.pipeline.apply(decode_all(raws, max_payload_bytes=64 * 1024))


@pytest.fixture
def harness() -> Harness:
    """A fresh in-memory ingest pipeline on a fake clock."""
    return Harness()


@pytest.fixture
def node() -> Node:
    """A message builder for node s1/m1."""
    return Node()


@pytest.fixture(params=["sqlite", "postgresql"])
def core_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh core store of each backend: a SQLite file, and a new database on the
    session's real PostgreSQL server (skipped only where its binaries are absent)."""
    opened: Store
    if request.param == "sqlite":
        opened = SqliteStore(tmp_path / "core.db", synchronous="NORMAL")
    else:
        from coordinator.store.postgres_store import PostgresStore

        opened = PostgresStore(request.getfixturevalue("postgres_url"))
    yield opened
    opened.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    """A fresh SQLite store in a temporary directory."""
    opened = SqliteStore(tmp_path / "core.db", synchronous="NORMAL")
    yield opened
    opened.close()


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run `app` under uvicorn on a free loopback port in a thread; yield its base URL."""
    import uvicorn

    from flexfleet.broker import free_port

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@contextlib.contextmanager
def running_coordinator(db: Path, **settings: Any) -> Iterator[tuple[Any, Any]]:
    """A coordinator app on `db` (no broker: its MQTT side never connects, messages are
    fed to its writer) served over HTTP, re-planning without a quiet spell; yields the
    `Coordinator` and an `httpx.Client` on its URL. `settings` add to or replace these."""
    import httpx

    from coordinator.api.app import create_app
    from coordinator.settings import load_settings

    defaults: dict[str, Any] = {
        "db_path": db,
        "broker_url": "mqtt://127.0.0.1:1",
        "plan_quiet_s": 0.0,
        "plan_urgent_quiet_s": 0.0,
        "plan_time_limit_s": 1.0,
    }
    app = create_app(load_settings(**(defaults | settings)), start_service=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield app.state.coordinator, client
