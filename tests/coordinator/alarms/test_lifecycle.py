"""The pure alarm lifecycle: every transition, dedupe of repeats, and input validation."""

from __future__ import annotations

import pytest

from coordinator.alarms import lifecycle
from coordinator.alarms.errors import InvalidAlarmInput, InvalidTransition
from coordinator.alarms.lifecycle import Trigger, make_trigger
from coordinator.alarms.model import Alarm, raise_severity, status_of
from coordinator.alarms.port import Severity


def trig(severity: Severity = "MINOR", ts_ms: int = 1000, message: str = "hot") -> Trigger:
    return make_trigger(
        site="s1",
        source="press-1",
        alarm_type="overheat",
        severity=severity,
        message=message,
        details={"temp_c": 91.5},
        ts_ms=ts_ms,
    )


def opened(severity: Severity = "MINOR") -> Alarm:
    alarm, _ = lifecycle.open_alarm(trig(severity), alarm_id="a1")
    return alarm


def test_open_creates_active_unack_with_created_transition() -> None:
    """A first trigger opens an ACTIVE_UNACK alarm, count 1, recorded as CREATED by system."""
    alarm, t = lifecycle.open_alarm(trig("MAJOR"), alarm_id="a1")
    assert alarm.status == "ACTIVE_UNACK"
    assert (alarm.count, alarm.severity, alarm.start_ms, alarm.last_ms) == (1, "MAJOR", 1000, 1000)
    assert (t.action, t.actor, t.from_status, t.to_status) == (
        "CREATED",
        "system",
        None,
        "ACTIVE_UNACK",
    )


def test_repeat_trigger_updates_count_time_message_and_keeps_id() -> None:
    """A repeat trigger folds into the active alarm: same id, count+1, latest time and message."""
    alarm, t = lifecycle.repeat_trigger(opened(), trig("MINOR", ts_ms=5000, message="hotter"))
    assert (alarm.alarm_id, alarm.count, alarm.last_ms, alarm.start_ms) == ("a1", 2, 5000, 1000)
    assert alarm.message == "hotter"
    assert t.action == "UPDATED"


def test_repeat_trigger_keeps_highest_severity() -> None:
    """A lower-severity repeat never downgrades; a higher one raises and is recorded as such."""
    lower, t_low = lifecycle.repeat_trigger(opened("MAJOR"), trig("WARNING", ts_ms=2000))
    assert lower.severity == "MAJOR"
    assert t_low.action == "UPDATED"
    higher, t_high = lifecycle.repeat_trigger(lower, trig("CRITICAL", ts_ms=3000))
    assert higher.severity == "CRITICAL"
    assert t_high.action == "SEVERITY_RAISED"
    assert "MAJOR -> CRITICAL" in t_high.note


def test_out_of_order_repeat_keeps_latest_time() -> None:
    """A late-arriving older trigger still counts but does not move last_ms backwards."""
    alarm, _ = lifecycle.repeat_trigger(opened(), trig(ts_ms=500))
    assert (alarm.count, alarm.last_ms) == (2, 1000)


def test_severity_rise_rearms_acknowledged_alarm() -> None:
    """An acknowledged alarm whose severity rises becomes ACTIVE_UNACK again, escalation reset."""
    acked, _ = lifecycle.acknowledge(opened("MINOR"), actor="ana", ts_ms=2000)
    rearmed, t = lifecycle.repeat_trigger(acked, trig("CRITICAL", ts_ms=3000))
    assert rearmed.status == "ACTIVE_UNACK"
    assert (rearmed.ack_by, rearmed.unack_since_ms, rearmed.escalation_level) == (None, 3000, 0)
    assert (t.from_status, t.to_status) == ("ACTIVE_ACK", "ACTIVE_UNACK")


def test_same_severity_repeat_keeps_acknowledgement() -> None:
    """A repeat at the same severity leaves an acknowledged alarm acknowledged."""
    acked, _ = lifecycle.acknowledge(opened("MAJOR"), actor="ana", ts_ms=2000)
    again, _ = lifecycle.repeat_trigger(acked, trig("MAJOR", ts_ms=3000))
    assert again.status == "ACTIVE_ACK"
    assert again.ack_by == "ana"


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([], "ACTIVE_UNACK"),
        (["ack"], "ACTIVE_ACK"),
        (["clear"], "CLEARED_UNACK"),
        (["ack", "clear"], "CLEARED_ACK"),
        (["clear", "ack"], "CLEARED_ACK"),
    ],
)
def test_ack_and_clear_are_independent(steps: list[str], expected: str) -> None:
    """All four statuses are reachable and ack/clear commute."""
    alarm = opened()
    for i, step in enumerate(steps):
        if step == "ack":
            alarm, t = lifecycle.acknowledge(alarm, actor="ana", ts_ms=2000 + i)
            assert t.action == "ACKNOWLEDGED"
        else:
            alarm, t = lifecycle.clear(alarm, actor="bo", ts_ms=2000 + i)
            assert t.action == "CLEARED"
        assert t.to_status == alarm.status
    assert alarm.status == expected


def test_ack_records_who_and_when() -> None:
    """Acknowledging stores the actor and time on the alarm and in the transition."""
    alarm, t = lifecycle.acknowledge(opened(), actor="ana", ts_ms=4242)
    assert (alarm.ack_by, alarm.ack_ms) == ("ana", 4242)
    assert (t.actor, t.ts_ms, t.from_status) == ("ana", 4242, "ACTIVE_UNACK")


def test_ack_twice_is_invalid() -> None:
    """Acknowledging an acknowledged alarm is refused with its status attached."""
    acked, _ = lifecycle.acknowledge(opened(), actor="ana", ts_ms=2)
    with pytest.raises(InvalidTransition) as info:
        lifecycle.acknowledge(acked, actor="ana", ts_ms=3)
    assert (info.value.alarm_id, info.value.status) == ("a1", "ACTIVE_ACK")


def test_clear_twice_is_invalid() -> None:
    """Clearing a cleared alarm is refused."""
    cleared, _ = lifecycle.clear(opened(), actor="system", ts_ms=2)
    with pytest.raises(InvalidTransition):
        lifecycle.clear(cleared, actor="ana", ts_ms=3)


def test_cleared_alarm_cannot_be_retriggered() -> None:
    """A repeat trigger never reopens a cleared alarm (a new alarm is opened instead)."""
    cleared, _ = lifecycle.clear(opened(), actor="system", ts_ms=2)
    with pytest.raises(InvalidTransition):
        lifecycle.repeat_trigger(cleared, trig())


def test_assign_and_unassign() -> None:
    """Assigning sets the assignee, None removes it; both are recorded."""
    assigned, t1 = lifecycle.assign(opened(), actor="ana", assignee="bo", ts_ms=2)
    assert (assigned.assignee, t1.action, t1.note) == ("bo", "ASSIGNED", "bo")
    unassigned, t2 = lifecycle.assign(assigned, actor="ana", assignee=None, ts_ms=3)
    assert (unassigned.assignee, t2.action) == (None, "UNASSIGNED")


def test_assign_same_assignee_is_invalid() -> None:
    """Re-assigning the current assignee (or unassigning twice) is refused."""
    assigned, _ = lifecycle.assign(opened(), actor="ana", assignee="bo", ts_ms=2)
    with pytest.raises(InvalidTransition):
        lifecycle.assign(assigned, actor="ana", assignee="bo", ts_ms=3)
    with pytest.raises(InvalidTransition):
        lifecycle.assign(opened(), actor="ana", assignee=None, ts_ms=3)


@pytest.mark.parametrize("assignee", ["", "   ", "x" * 65, "bad\x00name"])
def test_assign_refuses_bad_names(assignee: str) -> None:
    """Empty, oversized or control-character assignees are refused as input errors."""
    with pytest.raises(InvalidAlarmInput) as info:
        lifecycle.assign(opened(), actor="ana", assignee=assignee, ts_ms=2)
    assert info.value.field == "assignee"


def test_escalate_only_unacknowledged_and_upwards() -> None:
    """Escalation raises the level on ACTIVE_UNACK alarms only, never downwards."""
    up, t = lifecycle.escalate(opened(), level=1, ts_ms=9)
    assert (up.escalation_level, up.escalated_ms, t.action) == (1, 9, "ESCALATED")
    with pytest.raises(InvalidTransition):
        lifecycle.escalate(up, level=1, ts_ms=10)
    acked, _ = lifecycle.acknowledge(opened(), actor="ana", ts_ms=2)
    with pytest.raises(InvalidTransition):
        lifecycle.escalate(acked, level=1, ts_ms=10)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"site": "bad/site"}, "site"),
        ({"site": "#"}, "site"),
        ({"site": 7}, "site"),
        ({"source": ""}, "source"),
        ({"source": "x" * 129}, "source"),
        ({"alarm_type": "a\nb"}, "alarm_type"),
        ({"alarm_type": None}, "alarm_type"),
        ({"severity": "URGENT"}, "severity"),
        ({"severity": "minor"}, "severity"),
        ({"message": b"bytes"}, "message"),
        ({"ts_ms": -1}, "ts_ms"),
        ({"ts_ms": True}, "ts_ms"),
        ({"ts_ms": 1.5}, "ts_ms"),
        ({"details": ["not", "a", "dict"]}, "details"),
    ],
)
def test_make_trigger_refuses_hostile_fields(overrides: dict[str, object], field: str) -> None:
    """Each malformed trigger field raises InvalidAlarmInput naming that field."""
    fields: dict[str, object] = {
        "site": "s1",
        "source": "n1",
        "alarm_type": "t",
        "severity": "MINOR",
        "message": "m",
        "details": {},
        "ts_ms": 1,
    }
    fields.update(overrides)
    with pytest.raises(InvalidAlarmInput) as info:
        make_trigger(**fields)
    assert info.value.field == field


def test_make_trigger_cuts_long_messages_and_replaces_huge_details() -> None:
    """Oversized machine input is bounded instead of losing the alarm."""
    t = make_trigger(
        site="s1",
        source="n1",
        alarm_type="t",
        severity="MINOR",
        message="m" * 100_000,
        details={"blob": "x" * 100_000},
        ts_ms=1,
    )
    assert len(t.message) == lifecycle.MAX_MESSAGE_CHARS
    assert t.details["truncated"] is True


def test_make_trigger_makes_details_plain_json() -> None:
    """Values JSON cannot hold are shown by their text, so every channel can encode them."""
    t = make_trigger(
        site="s1",
        source="n1",
        alarm_type="t",
        severity="MINOR",
        message="m",
        details={"when": object, 3: (1, 2)},
        ts_ms=1,
    )
    assert t.details == {"when": str(object), "3": [1, 2]}


@pytest.mark.parametrize(
    "text", ["", "  \n ", "x" * (lifecycle.MAX_COMMENT_CHARS + 1), "bell\x07", 42]
)
def test_check_comment_refuses_empty_oversized_and_control(text: object) -> None:
    """Comments must be non-empty text within the size limit without control characters."""
    with pytest.raises(InvalidAlarmInput):
        lifecycle.check_comment(text)


def test_check_comment_keeps_newlines_and_trims() -> None:
    """Multi-line comments are allowed; surrounding whitespace is trimmed."""
    assert lifecycle.check_comment("  line 1\n\tline 2  ") == "line 1\n\tline 2"


def test_raise_severity_caps_at_critical() -> None:
    """Escalation steps climb the severity ladder and stop at CRITICAL."""
    assert raise_severity("WARNING", steps=1) == "MINOR"
    assert raise_severity("MINOR", steps=2) == "CRITICAL"
    assert raise_severity("MAJOR", steps=5) == "CRITICAL"
    assert raise_severity("INDETERMINATE", steps=0) == "INDETERMINATE"


def test_status_of_all_flag_combinations() -> None:
    """The two flags name exactly the four statuses."""
    assert {status_of(acknowledged=a, cleared=c) for a in (False, True) for c in (False, True)} == {
        "ACTIVE_UNACK",
        "ACTIVE_ACK",
        "CLEARED_UNACK",
        "CLEARED_ACK",
    }
