"""Commit watermarks: after a commit the coordinator tells each node how far it is stored."""

from __future__ import annotations

import dataclasses

from coordinator.fleet.twin import FleetTwin
from coordinator.ingest.pipeline import IngestPipeline
from coordinator.ingest.watermarks import WatermarkBook, WatermarkSender
from coordinator.ingest.writer import IngestWriter
from coordinator.notify.publisher import InMemoryPublisher
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock
from protocol import Birth, Command, Message, decode, watermark_seq
from tests.coordinator.conftest import Node, raw


def _capable(birth: Birth) -> Birth:
    return dataclasses.replace(birth, capabilities=("rebirth", "watermark"))


def _wired(store: SqliteStore) -> tuple[IngestWriter, InMemoryPublisher, FakeClock]:
    clock = FakeClock()
    publisher = InMemoryPublisher()
    pipeline = IngestPipeline(FleetTwin(), clock, inactivity_timeout_for=lambda _n: 600.0)
    writer = IngestWriter(pipeline=pipeline, store=store, clock=clock)
    writer.listeners.append(WatermarkSender(publisher=publisher, clock=clock).on_commit)
    return writer, publisher, clock


def _marks(publisher: InMemoryPublisher) -> list[tuple[str, int]]:
    out = []
    for m in publisher.messages:
        notice = decode(m.topic, m.payload)
        assert isinstance(notice, Command)
        assert (m.qos, m.retain) == (1, False)
        out.append((m.topic, watermark_seq(notice)))
    return out


def _process(writer: IngestWriter, *messages: Message) -> None:
    writer.process([raw(m) for m in messages])


def test_a_commit_sends_the_node_its_committed_seq(store: SqliteStore) -> None:
    """Birth and telemetry committed: one notice on the node's command topic naming seq 2."""
    writer, publisher, _ = _wired(store)
    n = Node()
    _process(writer, _capable(n.birth()), n.telemetry(), n.telemetry())
    assert _marks(publisher) == [("ff/v1/s1/m1/cmd/watermark", 2)]


def test_a_gap_holds_the_watermark_back_until_it_is_filled(store: SqliteStore) -> None:
    """A message the broker lost (seq 2 missing) is never covered; once replayed it is."""
    writer, publisher, clock = _wired(store)
    n = Node()
    birth, t1, t2, t3 = _capable(n.birth()), n.telemetry(), n.telemetry(), n.telemetry()
    _process(writer, birth, t1, t3)
    clock.advance(1.0)
    _process(writer, n.telemetry())
    assert [seq for _, seq in _marks(publisher)] == [1]
    clock.advance(1.0)
    _process(writer, dataclasses.replace(t2, historical=True))
    assert [seq for _, seq in _marks(publisher)] == [1, 4]


def test_at_most_one_notice_per_second_and_the_tick_sends_the_rest(store: SqliteStore) -> None:
    """Commits within a second are folded into one later notice, sent by the writer's tick."""
    writer, publisher, clock = _wired(store)
    n = Node()
    _process(writer, _capable(n.birth()))
    _process(writer, n.telemetry())
    _process(writer, n.telemetry())
    assert [seq for _, seq in _marks(publisher)] == [0]
    clock.advance(1.0)
    writer.tick()
    assert [seq for _, seq in _marks(publisher)] == [0, 2]
    clock.advance(5.0)
    writer.tick()  # nothing new committed: nothing sent
    assert len(publisher.messages) == 2


def test_a_new_birth_gets_the_watermark_again(store: SqliteStore) -> None:
    """After a reconnect the node may have missed the last notice: its birth earns one."""
    writer, publisher, clock = _wired(store)
    n = Node()
    _process(writer, _capable(n.birth()), n.telemetry())
    clock.advance(2.0)
    n.bd_seq += 1
    _process(writer, _capable(n.birth(pending_from_seq=2)))
    clock.advance(2.0)
    _process(writer, dataclasses.replace(_capable(n.birth()), seq=2))  # a duplicate birth
    assert [seq for _, seq in _marks(publisher)] == [1, 2]


def test_nodes_without_the_capability_get_no_watermark(store: SqliteStore) -> None:
    """An older agent (no `watermark` capability) would nack an unknown command: none sent."""
    writer, publisher, clock = _wired(store)
    n = Node()
    _process(writer, n.birth(), n.telemetry())
    clock.advance(2.0)
    writer.tick()
    assert publisher.messages == []


def test_book_never_sends_a_lower_or_negative_mark() -> None:
    """The pure book: nothing for an empty node, nothing when the mark has not grown."""
    from coordinator.fleet.node import NodeRecord

    def record(last_seq: int, gaps: tuple[tuple[int, int], ...] = ()) -> NodeRecord:
        return NodeRecord(
            site="s", node="n", kind="machine", firmware="", units={},
            capabilities=("watermark",), birth_seen=True, online=True, offline_reason="",
            bd_seq=1, last_seen_ms=None, last_seq=last_seq, gaps=gaps, received=0,
            duplicates=0, gaps_seen=0, lost=0, out_of_sync=False, samples=0,
            stock_snapshot_seq=-1,
        )  # fmt: skip

    book = WatermarkBook()
    assert book.committed([record(-1)], [], 0.0) == []
    assert book.committed([record(5)], [], 0.0) == [("s", "n", 5)]
    assert book.committed([record(9, ((3, 4),))], [], 2.0) == []  # 2 <= 5 already sent
    assert book.committed([record(9)], [], 4.0) == [("s", "n", 9)]


def test_a_node_still_sending_hears_its_watermark_again_after_ten_seconds(
    store: SqliteStore,
) -> None:
    """A notice lost with a crashed broker: the node's replayed duplicates earn it again
    once 10 s have passed, though the committed seq did not grow."""
    writer, publisher, clock = _wired(store)
    n = Node()
    birth, t1 = _capable(n.birth()), n.telemetry()
    _process(writer, birth, t1)
    clock.advance(5.0)
    _process(writer, dataclasses.replace(t1, historical=True))  # a duplicate
    assert [seq for _, seq in _marks(publisher)] == [1]
    clock.advance(5.0)
    _process(writer, dataclasses.replace(t1, historical=True))
    assert [seq for _, seq in _marks(publisher)] == [1, 1]
