"""Command tracking inside the coordinator service: the timeout comes from the settings,
and a plan command a node rejects is an alarm in the real alarm service until the node
takes the next one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coordinator.alarms.model import AlarmQuery
from coordinator.alarms.sources import COMMAND_REJECTED
from coordinator.service import Coordinator
from coordinator.settings import load_settings
from fleet_runtime.clock import FakeClock
from protocol import CommandAck
from tests.coordinator.conftest import T0_MS, Node, raw


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[Coordinator, FakeClock]]:
    """A coordinator (not connected, writer driven by hand) with a 5 s command timeout."""
    settings = load_settings(
        dev_mode=True,
        db_path=tmp_path / "c.db",
        broker_url="mqtt://127.0.0.1:1",
        command_timeout_s=5.0,
    )
    clock = FakeClock()
    coordinator = Coordinator.open(settings, clock=clock)
    coordinator.writer.process([raw(Node().birth())])
    yield coordinator, clock
    coordinator.stop()


def _answer(coordinator: Coordinator, cmd_id: str, *, ok: bool, reason: str = "") -> None:
    ack = CommandAck(
        site="s1", node="m1", name="schedule", cmd_id=cmd_id, ts=T0_MS, ok=ok, reason=reason
    )
    coordinator.writer.process([raw(ack)])


def test_a_rejected_schedule_is_an_alarm_until_the_next_is_taken(
    service: tuple[Coordinator, FakeClock],
) -> None:
    """The nack opens one `command_rejected` alarm for m1's schedule (a second nack folds
    into it); the next ok clears it."""
    coordinator, _ = service
    commands, alarms = coordinator.commands, coordinator.alarms
    assert commands is not None
    assert alarms is not None
    query = AlarmQuery(site="s1", source="m1/schedule", alarm_type=COMMAND_REJECTED)
    for _ in range(2):
        sent = commands.send(site="s1", node="m1", name="schedule", args={"version": 1})
        _answer(coordinator, sent.cmd_id, ok=False, reason="field 'version': stale")
    [alarm] = alarms.list_alarms(query)
    assert (alarm.cleared, alarm.count, alarm.severity) == (False, 2, "MAJOR")
    assert "field 'version': stale" in alarm.message
    taken = commands.send(site="s1", node="m1", name="schedule", args={"version": 2})
    _answer(coordinator, taken.cmd_id, ok=True)
    [alarm] = alarms.list_alarms(query)
    assert alarm.cleared


def test_the_timeout_comes_from_the_settings(service: tuple[Coordinator, FakeClock]) -> None:
    """With `command_timeout_s = 5` an unanswered command expires on the first tick after 5 s."""
    coordinator, clock = service
    assert coordinator.commands is not None
    sent = coordinator.commands.send(site="s1", node="m1", name="rebirth", args={})
    clock.advance(4.0)
    coordinator.writer.tick()
    assert coordinator.commands.get(sent.cmd_id).state == "sent"
    clock.advance(1.5)
    coordinator.writer.tick()
    expired = coordinator.commands.get(sent.cmd_id)
    assert (expired.state, expired.reason) == ("expired", "no answer within 5 s")
