"""`CommandLog` on a real SQLite store: record before publish, ack matching, duplicates,
wrong node, expiry, the rejected-plan alarm, publish failures and waiting for an answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from coordinator.alarms.port import RecordingAlarmSink
from coordinator.alarms.sources import COMMAND_REJECTED, COMMAND_UNANSWERED
from coordinator.commands import CommandLog, CommandNotSent
from coordinator.errors import NotFound
from coordinator.notify.publisher import InMemoryPublisher
from coordinator.store.sqlite_store import SqliteStore
from fleet_runtime.clock import FakeClock, now_ms
from protocol import Command, CommandAck, ProtocolError, decode


@dataclass
class Parts:
    log: CommandLog
    store: SqliteStore
    publisher: InMemoryPublisher
    clock: FakeClock
    alarms: RecordingAlarmSink


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[Parts]:
    """A command log over a SQLite store, an in-memory publisher and a recording alarm sink."""
    store = SqliteStore(tmp_path / "c.db", synchronous="NORMAL")
    clock, publisher, alarms = FakeClock(), InMemoryPublisher(), RecordingAlarmSink()
    log = CommandLog(
        store=store.command_store(),
        publisher=publisher,
        clock=clock,
        timeout_s=60.0,
        alarms=alarms,
    )
    yield Parts(log, store, publisher, clock, alarms)
    store.close()


def _ack(
    cmd_id: str, *, ok: bool = True, reason: str = "", node: str = "m1", name: str = "config"
) -> CommandAck:
    return CommandAck(
        site="s1", node=node, name=name, cmd_id=cmd_id, ts=1_700_000_000_000, ok=ok, reason=reason
    )


def test_a_command_is_recorded_then_published(parts: Parts) -> None:
    """`send` records the command as `sent` and publishes it at QoS 1 on its command topic."""
    sent = parts.log.send(site="s1", node="m1", name="config", args={"sampling_interval_ms": 200})
    [message] = parts.publisher.messages
    assert (message.topic, message.qos, message.retain) == ("ff/v1/s1/m1/cmd/config", 1, False)
    command = decode(message.topic, message.payload)
    assert isinstance(command, Command)
    assert command.cmd_id == sent.cmd_id
    assert command.args == {"sampling_interval_ms": 200}
    stored = parts.log.get(sent.cmd_id)
    assert (stored.state, stored.sent_ms, stored.args) == (
        "sent",
        now_ms(parts.clock),
        '{"sampling_interval_ms":200}',
    )
    assert parts.log.counts() == {("config", "sent"): 1}


def test_a_command_the_protocol_refuses_is_neither_recorded_nor_sent(parts: Parts) -> None:
    """An invalid node id raises the protocol's error before anything is stored or sent."""
    with pytest.raises(ProtocolError):
        parts.log.send(site="s1", node="no/such", name="config", args={})
    assert parts.publisher.messages == []
    assert parts.log.query() == []


def test_acks_answer_their_commands_once(parts: Parts) -> None:
    """An ok and a nack update their commands; a redelivered ack, an ack from another node
    and one for an unknown id change nothing and are counted."""
    first = parts.log.send(site="s1", node="m1", name="config", args={"default_deadband": 1.0})
    second = parts.log.send(site="s1", node="m1", name="config", args={"default_deadband": 2.0})
    parts.clock.advance(1.5)
    parts.log.on_acks([_ack(first.cmd_id), _ack(first.cmd_id, ok=False, reason="late twin")])
    parts.log.on_acks([_ack(second.cmd_id, node="m2"), _ack("config-nobody")])
    parts.log.on_acks([_ack(second.cmd_id, ok=False, reason="no signal 'x'")])
    parts.log.on_acks([_ack(second.cmd_id, ok=True)])  # redelivered with another answer
    ok, rejected = parts.log.get(first.cmd_id), parts.log.get(second.cmd_id)
    assert (ok.state, ok.reason, ok.answered_ms) == ("ok", "", now_ms(parts.clock))
    assert (rejected.state, rejected.reason) == ("rejected", "no signal 'x'")
    assert parts.log.counts() == {
        ("config", "sent"): 2,
        ("config", "ok"): 1,
        ("config", "rejected"): 1,
        ("config", "duplicate_ack"): 2,
        ("config", "wrong_node_ack"): 1,
        ("config", "unknown_ack"): 1,
    }


def test_unanswered_commands_expire_on_time(parts: Parts) -> None:
    """A command unanswered after the timeout expires (not before); a late answer still
    records what the node did."""
    early = parts.log.send(site="s1", node="m1", name="rebirth", args={"reason": "gap"})
    parts.clock.advance(30.0)
    later = parts.log.send(site="s1", node="m1", name="rebirth", args={"reason": "gap"})
    parts.clock.advance(30.0)
    assert [c.cmd_id for c in parts.log.expire_due()] == [early.cmd_id]
    assert parts.log.get(early.cmd_id).reason == "no answer within 60 s"
    assert parts.log.get(later.cmd_id).state == "sent"
    assert parts.log.expire_due() == []
    parts.log.on_acks([_ack(early.cmd_id, name="rebirth")])
    assert parts.log.get(early.cmd_id).state == "ok"
    assert parts.log.counts()[("rebirth", "expired")] == 1


def test_a_rejected_plan_raises_an_alarm_cleared_by_the_next_ok(parts: Parts) -> None:
    """A nacked `schedule` raises `command_rejected` for that node and command; the next
    schedule it takes clears it. A nacked `config` raises nothing."""
    bad = parts.log.send(site="s1", node="m1", name="schedule", args={})
    cfg = parts.log.send(site="s1", node="m1", name="config", args={"default_deadband": 1.0})
    parts.log.on_acks(
        [
            _ack(bad.cmd_id, name="schedule", ok=False, reason="stale version"),
            _ack(cfg.cmd_id, ok=False),
        ]
    )
    [(kind, call)] = parts.alarms.calls
    assert kind == "trigger"
    assert (call["site"], call["source"], call["alarm_type"]) == (
        "s1",
        "m1/schedule",
        COMMAND_REJECTED,
    )
    assert "stale version" in str(call["message"])
    good = parts.log.send(site="s1", node="m1", name="schedule", args={})
    parts.log.on_acks([_ack(good.cmd_id, name="schedule")])
    kind, call = parts.alarms.calls[1]
    assert (kind, call["source"], call["alarm_type"]) == ("clear", "m1/schedule", COMMAND_REJECTED)


def test_an_unanswered_plan_to_an_online_node_raises_an_alarm(tmp_path: Path) -> None:
    """A `schedule` an online node never answers raises `command_unanswered` at expiry; one
    to an offline node (it has its own alarm) and an unanswered `config` raise nothing; the
    next schedule the node takes clears it."""
    store = SqliteStore(tmp_path / "u.db", synchronous="NORMAL")
    clock, alarms = FakeClock(), RecordingAlarmSink()
    online = {("s1", "m1")}
    log = CommandLog(
        store=store.command_store(),
        publisher=InMemoryPublisher(),
        clock=clock,
        timeout_s=60.0,
        alarms=alarms,
        online=lambda site, node: (site, node) in online,
    )
    try:
        log.send(site="s1", node="m1", name="schedule", args={})
        log.send(site="s1", node="m2", name="schedule", args={})  # m2 is offline
        log.send(site="s1", node="m1", name="config", args={"default_deadband": 1.0})
        clock.advance(61.0)
        assert len(log.expire_due()) == 3
        [(kind, call)] = alarms.calls
        assert (kind, call["source"], call["alarm_type"], call["severity"]) == (
            "trigger",
            "m1/schedule",
            COMMAND_UNANSWERED,
            "MINOR",
        )
        assert "did not answer its schedule within 60 s" in str(call["message"])
        good = log.send(site="s1", node="m1", name="schedule", args={})
        log.on_acks([_ack(good.cmd_id, name="schedule")])
        cleared = {str(c["alarm_type"]) for k, c in alarms.calls if k == "clear"}
        assert cleared == {COMMAND_REJECTED, COMMAND_UNANSWERED}
    finally:
        store.close()


class _BrokenPublisher:
    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        raise OSError("no connection")


def test_a_command_the_client_refuses_is_recorded_as_expired(parts: Parts) -> None:
    """If the MQTT client raises, `send` raises `CommandNotSent` and the record says why."""
    log = CommandLog(
        store=parts.store.command_store(), publisher=_BrokenPublisher(), clock=parts.clock
    )
    with pytest.raises(CommandNotSent) as err:
        log.send(site="s1", node="m1", name="config", args={"default_deadband": 1.0})
    [stored] = log.query()
    assert stored.cmd_id == err.value.key
    assert (stored.state, stored.reason) == ("expired", "not sent: no connection")
    assert log.counts() == {("config", "publish_failed"): 1}


def test_wait_returns_the_answer_or_the_command_as_it_is(parts: Parts) -> None:
    """`wait` wakes when another thread records the answer, and gives up after its time."""
    sent = parts.log.send(site="s1", node="m1", name="config", args={"default_deadband": 1.0})
    assert parts.log.wait(sent.cmd_id, timeout_s=0.05).state == "sent"
    answering = threading.Timer(0.05, parts.log.on_acks, args=([_ack(sent.cmd_id)],))
    answering.start()
    try:
        assert parts.log.wait(sent.cmd_id, timeout_s=10.0).state == "ok"
    finally:
        answering.join()
    with pytest.raises(NotFound):
        parts.log.wait("config-unknown", timeout_s=0.01)
