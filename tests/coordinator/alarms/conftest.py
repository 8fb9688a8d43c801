"""Fixtures for the alarm tests: a service over a temporary database and a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coordinator.alarms.escalation import EscalationPolicy
from coordinator.alarms.service import AlarmService
from coordinator.alarms.store import AlarmStore
from coordinator.notify.events import RecordingNotifier
from coordinator.notify.mqtt_alerts import MqttAlertNotifier
from coordinator.notify.publisher import InMemoryPublisher
from fleet_runtime.clock import FakeClock

T0_MS = 1_700_000_000_000


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock starting at T0_MS."""
    return FakeClock(start_s=T0_MS / 1000)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the coordinator database lives for this test."""
    return tmp_path / "coordinator.db"


@pytest.fixture
def recorder() -> RecordingNotifier:
    """A notifier that keeps every event."""
    return RecordingNotifier()


@pytest.fixture
def publisher() -> InMemoryPublisher:
    """An in-memory MQTT publisher."""
    return InMemoryPublisher()


@pytest.fixture
def service(
    db_path: Path, clock: FakeClock, recorder: RecordingNotifier, publisher: InMemoryPublisher
) -> Iterator[AlarmService]:
    """An alarm service escalating after 60 s, notifying the recorder and the MQTT double."""
    svc = AlarmService(
        store=AlarmStore.open(db_path),
        clock=clock,
        notifiers=[recorder, MqttAlertNotifier(publisher)],
        escalation=EscalationPolicy(after_s=60, max_level=2),
    )
    yield svc
    svc.close()
