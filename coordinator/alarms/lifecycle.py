"""The alarm lifecycle as pure functions: each takes an alarm and returns the next one plus
the transition that records the change. No I/O, no clock: callers pass `ts_ms` and `actor`.

Rules (after ThingsBoard's alarm model):
- one active alarm per (site, source, alarm_type); a repeat trigger updates it (count, last
  time, latest message, highest severity) instead of opening a new one;
- a repeat trigger that raises the severity of an acknowledged alarm re-arms it
  (ACTIVE_ACK → ACTIVE_UNACK): the operator acknowledged something less urgent;
- acknowledge and clear are independent; each applies once;
- a trigger after a clear opens a new alarm (the cleared one keeps its history).
"""

from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import dataclass
from typing import Final

import orjson

from coordinator.alarms.errors import InvalidAlarmInput, InvalidTransition
from coordinator.alarms.model import (
    SEVERITIES,
    SEVERITY_RANK,
    SYSTEM_ACTOR,
    Action,
    Alarm,
    Transition,
    higher_severity,
)
from coordinator.alarms.port import Severity
from protocol.errors import TopicError
from protocol.topics import check_id

MAX_NAME_CHARS: Final = 128
MAX_MESSAGE_CHARS: Final = 1000
MAX_DETAILS_BYTES: Final = 8192
MAX_COMMENT_CHARS: Final = 4000
MAX_ACTOR_CHARS: Final = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class Trigger:
    """A validated request to raise an alarm; build it with `make_trigger`."""

    site: str
    source: str
    alarm_type: str
    severity: Severity
    message: str
    details: dict[str, object]
    ts_ms: int


def _name(value: object, *, field: str, max_chars: int = MAX_NAME_CHARS) -> str:
    if not isinstance(value, str):
        raise InvalidAlarmInput(f"{field} must be a string", field=field)
    text = value.strip()
    if not text:
        raise InvalidAlarmInput(f"{field} must not be empty", field=field)
    if len(text) > max_chars:
        raise InvalidAlarmInput(f"{field} is longer than {max_chars} characters", field=field)
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InvalidAlarmInput(f"{field} contains control characters", field=field)
    return text


def check_actor(actor: object) -> str:
    """Validate the name of who acts (an operator's principal, or `system`)."""
    return _name(actor, field="actor", max_chars=MAX_ACTOR_CHARS)


def _details(details: object) -> dict[str, object]:
    if not isinstance(details, dict):
        raise InvalidAlarmInput("details must be a mapping", field="details")
    # Round-trip through JSON so the store and every channel see the same plain values;
    # anything orjson cannot encode is shown by its str().
    raw = orjson.dumps(details, default=str, option=orjson.OPT_NON_STR_KEYS)
    if len(raw) > MAX_DETAILS_BYTES:
        return {"truncated": True, "size_bytes": len(raw)}
    decoded: dict[str, object] = orjson.loads(raw)
    return decoded


def make_trigger(
    *,
    site: object,
    source: object,
    alarm_type: object,
    severity: object,
    message: object,
    details: object,
    ts_ms: object,
) -> Trigger:
    """Validate raw trigger fields; raises `InvalidAlarmInput` naming the bad field.

    Messages longer than `MAX_MESSAGE_CHARS` are cut (they come from machines, and losing
    the alarm over a long message would be worse); details over `MAX_DETAILS_BYTES` are
    replaced by a note of their size.
    """
    try:
        checked_site = check_id(site, what="site") if isinstance(site, str) else None
    except TopicError as exc:
        raise InvalidAlarmInput(exc.reason, field="site") from exc
    if checked_site is None:
        raise InvalidAlarmInput("site must be a string", field="site")
    if severity not in SEVERITIES:
        raise InvalidAlarmInput(f"unknown severity {str(severity)[:40]!r}", field="severity")
    if not isinstance(message, str):
        raise InvalidAlarmInput("message must be a string", field="message")
    if isinstance(ts_ms, bool) or not isinstance(ts_ms, int) or ts_ms < 0:
        raise InvalidAlarmInput("ts_ms must be a non-negative integer", field="ts_ms")
    return Trigger(
        site=checked_site,
        source=_name(source, field="source"),
        alarm_type=_name(alarm_type, field="alarm_type"),
        severity=severity,
        message=message[:MAX_MESSAGE_CHARS],
        details=_details(details),
        ts_ms=ts_ms,
    )


def open_alarm(trigger: Trigger, *, alarm_id: str) -> tuple[Alarm, Transition]:
    """A new ACTIVE_UNACK alarm for a trigger with no active alarm on its key."""
    alarm = Alarm(
        alarm_id=alarm_id,
        site=trigger.site,
        source=trigger.source,
        alarm_type=trigger.alarm_type,
        severity=trigger.severity,
        message=trigger.message,
        details=trigger.details,
        start_ms=trigger.ts_ms,
        last_ms=trigger.ts_ms,
        unack_since_ms=trigger.ts_ms,
    )
    transition = Transition(
        alarm_id=alarm_id,
        ts_ms=trigger.ts_ms,
        actor=SYSTEM_ACTOR,
        action="CREATED",
        from_status=None,
        to_status=alarm.status,
        note=f"{trigger.severity}: {trigger.message}"[:MAX_MESSAGE_CHARS],
    )
    return alarm, transition


def repeat_trigger(alarm: Alarm, trigger: Trigger) -> tuple[Alarm, Transition]:
    """Fold a repeat trigger into the active alarm on the same key."""
    if alarm.cleared:
        raise InvalidTransition(
            "a cleared alarm cannot be re-triggered; open a new one",
            alarm_id=alarm.alarm_id,
            status=alarm.status,
        )
    severity = higher_severity(alarm.severity, trigger.severity)
    raised = SEVERITY_RANK[severity] > SEVERITY_RANK[alarm.severity]
    rearm = raised and alarm.acknowledged
    updated = dataclasses.replace(
        alarm,
        severity=severity,
        message=trigger.message,
        details=trigger.details,
        count=alarm.count + 1,
        last_ms=max(alarm.last_ms, trigger.ts_ms),
        acknowledged=False if rearm else alarm.acknowledged,
        ack_ms=None if rearm else alarm.ack_ms,
        ack_by=None if rearm else alarm.ack_by,
        escalation_level=0 if rearm else alarm.escalation_level,
        unack_since_ms=trigger.ts_ms if rearm else alarm.unack_since_ms,
    )
    note = f"count {updated.count}"
    if raised:
        note = f"severity {alarm.severity} -> {severity}, {note}"
    transition = Transition(
        alarm_id=alarm.alarm_id,
        ts_ms=trigger.ts_ms,
        actor=SYSTEM_ACTOR,
        action="SEVERITY_RAISED" if raised else "UPDATED",
        from_status=alarm.status,
        to_status=updated.status,
        note=note,
    )
    return updated, transition


def acknowledge(alarm: Alarm, *, actor: str, ts_ms: int) -> tuple[Alarm, Transition]:
    """ACTIVE_UNACK → ACTIVE_ACK, CLEARED_UNACK → CLEARED_ACK; acking twice is refused."""
    if alarm.acknowledged:
        raise InvalidTransition(
            f"alarm is already acknowledged ({alarm.status})",
            alarm_id=alarm.alarm_id,
            status=alarm.status,
        )
    updated = dataclasses.replace(alarm, acknowledged=True, ack_ms=ts_ms, ack_by=actor)
    return updated, _transition(alarm, updated, actor=actor, ts_ms=ts_ms, action="ACKNOWLEDGED")


def clear(alarm: Alarm, *, actor: str, ts_ms: int, note: str = "") -> tuple[Alarm, Transition]:
    """ACTIVE_UNACK → CLEARED_UNACK, ACTIVE_ACK → CLEARED_ACK; clearing twice is refused."""
    if alarm.cleared:
        raise InvalidTransition(
            f"alarm is already cleared ({alarm.status})",
            alarm_id=alarm.alarm_id,
            status=alarm.status,
        )
    updated = dataclasses.replace(alarm, cleared=True, clear_ms=ts_ms, clear_by=actor)
    return updated, _transition(
        alarm, updated, actor=actor, ts_ms=ts_ms, action="CLEARED", note=note[:MAX_MESSAGE_CHARS]
    )


def assign(
    alarm: Alarm, *, actor: str, assignee: str | None, ts_ms: int
) -> tuple[Alarm, Transition]:
    """Set or remove the assignee; assigning the current assignee again is refused."""
    if assignee is not None:
        assignee = _name(assignee, field="assignee", max_chars=MAX_ACTOR_CHARS)
    if assignee == alarm.assignee:
        what = f"assigned to {assignee}" if assignee else "unassigned"
        raise InvalidTransition(
            f"alarm is already {what}", alarm_id=alarm.alarm_id, status=alarm.status
        )
    updated = dataclasses.replace(alarm, assignee=assignee)
    action: Action = "ASSIGNED" if assignee is not None else "UNASSIGNED"
    note = assignee if assignee is not None else f"was {alarm.assignee}"
    return updated, _transition(alarm, updated, actor=actor, ts_ms=ts_ms, action=action, note=note)


def check_comment(text: object, *, max_chars: int = MAX_COMMENT_CHARS) -> str:
    """Validate a comment: non-empty after trimming, at most `max_chars`, no control
    characters other than newlines and tabs."""
    if not isinstance(text, str):
        raise InvalidAlarmInput("comment must be a string", field="text")
    trimmed = text.strip()
    if not trimmed:
        raise InvalidAlarmInput("comment must not be empty", field="text")
    if len(trimmed) > max_chars:
        raise InvalidAlarmInput(f"comment is longer than {max_chars} characters", field="text")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in trimmed):
        raise InvalidAlarmInput("comment contains control characters", field="text")
    return trimmed


def comment_transition(alarm: Alarm, *, actor: str, ts_ms: int, text: str) -> Transition:
    """The history entry recording that a comment was added (the text lives with comments)."""
    return _transition(alarm, alarm, actor=actor, ts_ms=ts_ms, action="COMMENTED", note=text[:80])


def feedback_transition(alarm: Alarm, *, actor: str, ts_ms: int, verdict: str) -> Transition:
    """The history entry recording an operator's verdict (`false` or `confirmed`)."""
    return _transition(alarm, alarm, actor=actor, ts_ms=ts_ms, action="FEEDBACK", note=verdict)


def escalate(alarm: Alarm, *, level: int, ts_ms: int) -> tuple[Alarm, Transition]:
    """Record that an unacknowledged alarm was re-notified at escalation `level`."""
    if alarm.acknowledged or alarm.cleared or level <= alarm.escalation_level:
        raise InvalidTransition(
            f"alarm cannot escalate to level {level} ({alarm.status}, "
            f"level {alarm.escalation_level})",
            alarm_id=alarm.alarm_id,
            status=alarm.status,
        )
    updated = dataclasses.replace(alarm, escalation_level=level, escalated_ms=ts_ms)
    return updated, _transition(
        alarm, updated, actor=SYSTEM_ACTOR, ts_ms=ts_ms, action="ESCALATED", note=f"level {level}"
    )


def _transition(
    before: Alarm,
    after: Alarm,
    *,
    actor: str,
    ts_ms: int,
    action: Action,
    note: str = "",
) -> Transition:
    return Transition(
        alarm_id=before.alarm_id,
        ts_ms=ts_ms,
        actor=actor,
        action=action,
        from_status=before.status,
        to_status=after.status,
        note=note,
    )
