"""The alarm change every notification channel receives.

Events carry a JSON-ready snapshot of the alarm rather than the alarm object, so channels
depend on nothing in the alarm package and can serialise without knowing its types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Protocol

import orjson

# Every kind an event can have: the lower-cased transition action.
EVENT_KINDS: Final = frozenset(
    {
        "created",
        "updated",
        "severity_raised",
        "acknowledged",
        "cleared",
        "assigned",
        "unassigned",
        "commented",
        "escalated",
    }
)
# What deserves to wake someone up: openings, worsening, escalation and the end of it.
# Repeat triggers (`updated`) and comments stay on the dashboard stream.
URGENT_KINDS: Final = frozenset({"created", "severity_raised", "escalated", "cleared"})


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmEvent:
    """One change to one alarm.

    `severity` is the urgency to notify at: the alarm's own severity, raised one step per
    escalation level for `escalated` events.
    """

    event_id: int
    kind: str
    alarm_id: str
    site: str
    severity: str
    escalation_level: int
    actor: str
    ts_ms: int
    alarm: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view."""
        return {
            "event_id": self.event_id,
            "kind": self.kind,
            "alarm_id": self.alarm_id,
            "site": self.site,
            "severity": self.severity,
            "escalation_level": self.escalation_level,
            "actor": self.actor,
            "ts_ms": self.ts_ms,
            "alarm": self.alarm,
        }

    def to_json(self) -> bytes:
        """The event as UTF-8 JSON."""
        return orjson.dumps(self.to_dict())


class Notifier(Protocol):
    """A notification channel. `notify` is called with the alarm service's lock held, so it
    must only hand the event over (enqueue, publish without waiting) and return."""

    def notify(self, event: AlarmEvent) -> None:
        """Hand one event to the channel."""
        ...


@dataclass
class RecordingNotifier:
    """A `Notifier` that keeps every event it is given, in order."""

    events: list[AlarmEvent] = field(default_factory=list)

    def notify(self, event: AlarmEvent) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        """The kinds of the events received so far."""
        return [e.kind for e in self.events]
