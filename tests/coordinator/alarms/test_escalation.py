"""Escalation: pure due-level logic and re-notification at higher urgency on a fake clock."""

from __future__ import annotations

import time

from coordinator.alarms.escalation import EscalationPolicy, due_escalations, due_level
from coordinator.alarms.model import Alarm
from coordinator.alarms.service import AlarmService
from coordinator.notify.events import RecordingNotifier
from coordinator.notify.publisher import InMemoryPublisher
from fleet_runtime.clock import FakeClock, now_ms

POLICY = EscalationPolicy(after_s=60, max_level=2)


def alarm(**kw: object) -> Alarm:
    fields: dict[str, object] = {
        "alarm_id": "a1",
        "site": "s1",
        "source": "n1",
        "alarm_type": "t",
        "severity": "MINOR",
        "message": "m",
        "start_ms": 0,
        "last_ms": 0,
        "unack_since_ms": 0,
    }
    fields.update(kw)
    return Alarm(**fields)  # type: ignore[arg-type]


def test_due_level_steps_with_time_and_caps() -> None:
    """Level k is due after k × after_s unacknowledged, never above max_level."""
    a = alarm()
    assert due_level(a, now_ms=59_999, policy=POLICY) == 0
    assert due_level(a, now_ms=60_000, policy=POLICY) == 1
    assert due_level(a, now_ms=120_000, policy=POLICY) == 2
    assert due_level(a, now_ms=10**9, policy=POLICY) == 2


def test_acknowledged_cleared_and_disabled_never_escalate() -> None:
    """Acked or cleared alarms, or a disabled policy, are never due."""
    late = 10**9
    assert due_escalations([alarm(acknowledged=True)], now_ms=late, policy=POLICY) == []
    assert due_escalations([alarm(cleared=True)], now_ms=late, policy=POLICY) == []
    assert due_escalations([alarm()], now_ms=late, policy=EscalationPolicy(after_s=0)) == []
    assert due_escalations([alarm()], now_ms=late, policy=EscalationPolicy(max_level=0)) == []


def test_due_escalations_skips_already_escalated_and_orders_oldest_first() -> None:
    """Only alarms behind their due level are returned, oldest first, jumping missed levels."""
    fresh = alarm(alarm_id="new", start_ms=100_000, unack_since_ms=100_000)
    old = alarm(alarm_id="old")
    done = alarm(alarm_id="done", escalation_level=2)
    due = due_escalations([fresh, done, old], now_ms=170_000, policy=POLICY)
    assert [(e.alarm_id, e.level, e.notify_severity) for e in due] == [
        ("old", 2, "CRITICAL"),
        ("new", 1, "MAJOR"),
    ]


def test_clock_going_backwards_relative_to_alarm_is_not_due() -> None:
    """An alarm stamped in the future (device clock ahead) is not escalated early."""
    assert due_level(alarm(unack_since_ms=10**6), now_ms=0, policy=POLICY) == 0


def test_service_escalates_unacked_alarm_at_higher_urgency(
    service: AlarmService,
    clock: FakeClock,
    recorder: RecordingNotifier,
    publisher: InMemoryPublisher,
) -> None:
    """An alarm left unacked is re-notified on the next severity's alert topic, once per level."""
    a = service.raise_alarm(
        site="s1", source="n1", alarm_type="t", severity="MINOR", message="m", ts_ms=now_ms(clock)
    )
    assert service.check_escalations() == []
    clock.advance(61)
    assert [e.level for e in service.check_escalations()] == [1]
    assert service.check_escalations() == []  # not twice for the same level
    clock.advance(60)
    assert [e.notify_severity for e in service.check_escalations()] == ["CRITICAL"]
    clock.advance(600)
    assert service.check_escalations() == []  # capped at max_level
    assert recorder.kinds() == ["created", "escalated", "escalated"]
    assert publisher.topics()[1:] == [
        f"ff/v1/s1/alerts/MAJOR/{a.alarm_id}",
        f"ff/v1/s1/alerts/CRITICAL/{a.alarm_id}",
    ]
    history = [t.action for t in service.get(a.alarm_id).transitions]
    assert history == ["CREATED", "ESCALATED", "ESCALATED"]
    assert service.get(a.alarm_id).alarm.severity == "MINOR"  # the alarm itself is unchanged


def test_acknowledging_stops_escalation(service: AlarmService, clock: FakeClock) -> None:
    """Once acknowledged, an alarm is not escalated any further."""
    a = service.raise_alarm(
        site="s1", source="n1", alarm_type="t", severity="MINOR", message="m", ts_ms=now_ms(clock)
    )
    clock.advance(61)
    assert len(service.check_escalations()) == 1
    service.acknowledge(a.alarm_id, actor="ana")
    clock.advance(600)
    assert service.check_escalations() == []


def test_escalation_ticker_thread_runs_checks(service: AlarmService, clock: FakeClock) -> None:
    """start() runs escalation checks in the background until close()."""
    a = service.raise_alarm(
        site="s1", source="n1", alarm_type="t", severity="MINOR", message="m", ts_ms=now_ms(clock)
    )
    clock.advance(61)
    service.start(escalation_check_interval_s=0.01)
    for _ in range(500):
        if service.get(a.alarm_id).alarm.escalation_level == 1:
            break
        time.sleep(0.01)
    assert service.get(a.alarm_id).alarm.escalation_level == 1
