"""The ingest writer and the command log: rebirth requests are tracked, acks in committed
batches answer them, and the periodic tick expires the unanswered."""

from __future__ import annotations

from coordinator.commands import CommandLog
from coordinator.fleet.twin import FleetTwin
from coordinator.ingest.pipeline import IngestPipeline
from coordinator.ingest.writer import IngestWriter
from coordinator.notify.publisher import InMemoryPublisher
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock
from protocol import Command, CommandAck, decode
from tests.coordinator.conftest import Node, raw


def test_writer_tracks_rebirths_and_their_answers(store: SqliteStore) -> None:
    """A rebirth the writer sends is recorded; the node's ack, ingested like any message,
    answers it (before the batch is acked to the broker); a second one expires on the tick."""
    clock = FakeClock()
    publisher = InMemoryPublisher()
    commands = CommandLog(
        store=store.command_store(), publisher=publisher, clock=clock, timeout_s=60.0
    )
    acked: list[object] = []
    seen_at_ack: list[list[str]] = []

    def ack(tokens: list[object]) -> None:
        seen_at_ack.append([c.state for c in commands.query()])
        acked.extend(tokens)

    pipeline = IngestPipeline(
        FleetTwin(), clock, rebirth_min_interval_s=0.0, inactivity_timeout_for=lambda _n: 1e9
    )
    writer = IngestWriter(
        pipeline=pipeline, store=store, clock=clock, ack=ack, commands=commands, tick_interval_s=1.0
    )
    m1, m2 = Node(), Node(node="m2")
    writer.process([raw(m1.telemetry(seq=3)), raw(m2.telemetry(seq=3))])
    first, second = (decode(m.topic, m.payload) for m in publisher.messages)
    assert isinstance(first, Command)
    assert isinstance(second, Command)
    [to_m2, to_m1] = commands.query()
    assert (to_m1.node, to_m1.name, to_m2.node) == ("m1", "rebirth", "m2")
    assert [to_m1.cmd_id, to_m2.cmd_id] == [first.cmd_id, second.cmd_id]
    answer = CommandAck(
        site="s1", node="m1", name="rebirth", cmd_id=to_m1.cmd_id, ts=1_700_000_000_000, ok=True
    )
    writer.process([raw(answer, token="ack-1")])
    assert seen_at_ack[-1] == ["sent", "ok"]  # recorded before the MQTT ack went out
    assert acked[-1] == "ack-1"
    clock.advance(61.0)
    writer.run_once()
    assert [(c.node, c.state) for c in commands.query()] == [("m2", "expired"), ("m1", "ok")]
