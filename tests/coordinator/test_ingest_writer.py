"""The batch writer: ack only after commit, commands and alarm feeding after commit."""

from __future__ import annotations

from pathlib import Path

from coordinator.alarms.port import RecordingAlarmSink
from coordinator.errors import StoreError
from coordinator.fleet.twin import FleetTwin
from coordinator.ingest.alarm_feed import AlarmFeed
from coordinator.ingest.pipeline import IngestPipeline
from coordinator.ingest.records import RawMessage, WriteBatch
from coordinator.ingest.writer import IngestWriter
from coordinator.notify.publisher import InMemoryPublisher
from coordinator.store.port import CommitResult
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock
from protocol import Message, decode
from tests.coordinator.conftest import Node, command_log, raw


class FailingStore(SqliteStore):
    """A store whose commits fail."""

    def commit(self, batch: WriteBatch) -> CommitResult:
        raise StoreError("disk full", operation="commit")


def _writer(store: SqliteStore, acks: list[object], **kw: object) -> tuple[IngestWriter, FakeClock]:
    clock = FakeClock()
    pipeline = IngestPipeline(FleetTwin(), clock, inactivity_timeout_for=lambda _n: 10.0)
    writer = IngestWriter(pipeline=pipeline, store=store, clock=clock, ack=acks.extend, **kw)  # type: ignore[arg-type]
    return writer, clock


def test_acks_follow_the_commit(store: SqliteStore) -> None:
    """Tokens are acked once the batch holding them is committed, in arrival order."""
    acks: list[object] = []
    writer, _ = _writer(store, acks)
    n = Node()
    messages: list[Message] = [n.birth(), n.telemetry(), n.telemetry()]
    for i, message in enumerate(messages):
        writer.enqueue(raw(message, token=i))
    assert writer.run_once(wait_s=0.01) == 3
    assert acks == [0, 1, 2]
    assert store.count("messages") == 3


def test_failed_commit_acks_nothing_and_stops(tmp_path: Path) -> None:
    """If the store fails, nothing is acked and the writer reports the failure."""
    acks: list[object] = []
    writer, _ = _writer(FailingStore(tmp_path / "f.db"), acks)
    writer.enqueue(raw(Node().birth(), token=1))
    writer.start()
    for _ in range(200):
        if writer.failed:
            break
        import time

        time.sleep(0.01)
    writer.stop()
    assert writer.failed
    assert acks == []
    assert "disk full" in writer.stats.last_error


def test_rebirth_request_is_published_as_a_command(store: SqliteStore) -> None:
    """Data from a node without a birth makes the writer publish a rebirth command."""
    publisher = InMemoryPublisher()
    writer, _ = _writer(store, [], commands=command_log(publisher))
    writer.process([raw(Node().telemetry(seq=3))])
    (sent,) = publisher.messages
    assert sent.topic == "ff/v1/s1/m1/cmd/rebirth"
    command = decode(sent.topic, sent.payload)
    assert command.kind == "cmd"
    assert writer.stats.rebirth_requests == 1


def test_alarm_rules_see_death_inactivity_events_stock_and_dead_letters(store: SqliteStore) -> None:
    """After commit, offline nodes, agent events, low stock and dead-letter bursts reach the sink."""
    sink = RecordingAlarmSink()
    feed = AlarmFeed(sink, stock_low_threshold=5, dead_letter_burst_count=2)
    writer, clock = _writer(store, [], feed=feed, tick_interval_s=1.0)
    n, w = Node(), Node(node="w1")
    writer.process(
        [raw(n.birth()), raw(n.event("raised")), raw(w.birth()), raw(w.stock("snapshot", {"a": 2}))]
    )
    writer.process(
        [
            RawMessage("ff/v1/s1/m1/telemetry", b"bad", 0),
            RawMessage("ff/v1/s1/m1/telemetry", b"bad", 0),
        ]
    )
    writer.process([raw(n.death())])
    writer.tick()
    clock.advance(11)
    writer.tick()
    kinds = [(call, args["alarm_type"], args["source"]) for call, args in sink.calls]
    assert ("trigger", "anomaly", "m1/temp") in kinds
    assert ("trigger", "low_stock", "w1/a") in kinds
    assert ("trigger", "dead_letter_burst", "ingest") in kinds
    assert ("trigger", "node_offline", "m1") in kinds
    assert ("trigger", "node_offline", "w1") in kinds  # inactivity


def test_backpressure_is_counted_when_queue_is_full(store: SqliteStore) -> None:
    """A full queue makes enqueue wait, and the wait is counted."""
    import threading

    writer, _ = _writer(store, [], queue_max_messages=1)
    writer.enqueue(raw(Node().birth()))
    t = threading.Thread(target=writer.enqueue, args=(raw(Node(node="m2").birth()),))
    t.start()
    for _ in range(100):
        if writer.stats.backpressure_waits:
            break
        t.join(0.01)
    writer.run_once(wait_s=0.01)
    t.join(2)
    assert writer.stats.backpressure_waits == 1
    writer.run_once(wait_s=0.01)
    assert store.count("nodes") == 2
