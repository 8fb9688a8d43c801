"""Escalation as a pure function of the alarms and the time.

An alarm left ACTIVE_UNACK for `after_s` is re-notified at level 1, after `2 × after_s` at
level 2, and so on up to `max_level`. Each level raises the urgency of the notification by
one severity step (capped at CRITICAL), so a MINOR alarm nobody acknowledges reaches the
people subscribed to MAJOR and then CRITICAL alerts. Acknowledging stops escalation; a
severity rise that re-arms an acknowledged alarm starts a new unacknowledged spell at level 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from coordinator.alarms.model import Alarm, raise_severity
from coordinator.alarms.port import Severity


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationPolicy:
    """When unacknowledged alarms are re-notified; `after_s <= 0` switches escalation off."""

    after_s: float = 900.0
    max_level: int = 2

    def __post_init__(self) -> None:
        if self.max_level < 0:
            raise ValueError(f"max_level must be >= 0, got {self.max_level}")

    @property
    def enabled(self) -> bool:
        """False when escalation is switched off."""
        return self.after_s > 0 and self.max_level > 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Escalation:
    """One alarm due for re-notification at `level`, with the severity to notify at."""

    alarm_id: str
    level: int
    notify_severity: Severity


def due_level(alarm: Alarm, *, now_ms: int, policy: EscalationPolicy) -> int:
    """The escalation level the alarm should have reached by `now_ms` (0 when none)."""
    if not policy.enabled or alarm.acknowledged or alarm.cleared:
        return 0
    since_ms = alarm.unack_since_ms if alarm.unack_since_ms is not None else alarm.start_ms
    elapsed_ms = now_ms - since_ms
    if elapsed_ms < 0:
        return 0
    return min(int(elapsed_ms // (policy.after_s * 1000.0)), policy.max_level)


def due_escalations(
    alarms: Iterable[Alarm], *, now_ms: int, policy: EscalationPolicy
) -> list[Escalation]:
    """The alarms whose escalation level is behind the time, oldest first.

    A coordinator that was down for several periods escalates once, straight to the level
    due now, rather than sending a burst of every level it missed.
    """
    due: list[tuple[int, Escalation]] = []
    for alarm in alarms:
        level = due_level(alarm, now_ms=now_ms, policy=policy)
        if level > alarm.escalation_level:
            escalation = Escalation(
                alarm_id=alarm.alarm_id,
                level=level,
                notify_severity=raise_severity(alarm.severity, steps=level),
            )
            due.append((alarm.start_ms, escalation))
    due.sort(key=lambda pair: pair[0])
    return [escalation for _, escalation in due]
