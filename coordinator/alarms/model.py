"""Alarm values: severities, statuses, the alarm itself, its transitions and comments.

Acknowledged and cleared are two independent flags, as in ThingsBoard; the four statuses
(ACTIVE_UNACK, ACTIVE_ACK, CLEARED_UNACK, CLEARED_ACK) are derived from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal, get_args

from coordinator.alarms.port import Severity

Status = Literal["ACTIVE_UNACK", "ACTIVE_ACK", "CLEARED_UNACK", "CLEARED_ACK"]
Action = Literal[
    "CREATED",
    "UPDATED",
    "SEVERITY_RAISED",
    "ACKNOWLEDGED",
    "CLEARED",
    "ASSIGNED",
    "UNASSIGNED",
    "COMMENTED",
    "ESCALATED",
    "FEEDBACK",
]

SEVERITIES: Final[tuple[Severity, ...]] = get_args(Severity)
STATUSES: Final[tuple[Status, ...]] = get_args(Status)
# Higher is more urgent. INDETERMINATE sits lowest: the source could not say how bad it is.
SEVERITY_RANK: Final[dict[Severity, int]] = {
    "INDETERMINATE": 0,
    "WARNING": 1,
    "MINOR": 2,
    "MAJOR": 3,
    "CRITICAL": 4,
}
SYSTEM_ACTOR: Final = "system"


def higher_severity(a: Severity, b: Severity) -> Severity:
    """The more urgent of two severities."""
    return a if SEVERITY_RANK[a] >= SEVERITY_RANK[b] else b


def raise_severity(severity: Severity, *, steps: int) -> Severity:
    """`severity` made `steps` levels more urgent, capped at CRITICAL."""
    ordered = sorted(SEVERITY_RANK, key=SEVERITY_RANK.__getitem__)
    return ordered[min(SEVERITY_RANK[severity] + max(steps, 0), len(ordered) - 1)]


def status_of(*, acknowledged: bool, cleared: bool) -> Status:
    """The status named by the two independent flags."""
    if cleared:
        return "CLEARED_ACK" if acknowledged else "CLEARED_UNACK"
    return "ACTIVE_ACK" if acknowledged else "ACTIVE_UNACK"


@dataclass(frozen=True, slots=True, kw_only=True)
class Alarm:
    """One alarm: at most one is active per (site, source, alarm_type)."""

    alarm_id: str
    site: str
    source: str
    alarm_type: str
    severity: Severity
    message: str
    details: dict[str, object] = field(default_factory=dict)
    count: int = 1
    start_ms: int
    last_ms: int
    acknowledged: bool = False
    ack_ms: int | None = None
    ack_by: str | None = None
    cleared: bool = False
    clear_ms: int | None = None
    clear_by: str | None = None
    assignee: str | None = None
    escalation_level: int = 0
    escalated_ms: int | None = None
    # When the current unacknowledged spell began: the start, or a re-arm by a severity rise.
    unack_since_ms: int | None = None

    @property
    def status(self) -> Status:
        """ACTIVE_UNACK, ACTIVE_ACK, CLEARED_UNACK or CLEARED_ACK."""
        return status_of(acknowledged=self.acknowledged, cleared=self.cleared)

    @property
    def active(self) -> bool:
        """True until the alarm is cleared."""
        return not self.cleared

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view, including the derived status."""
        return {
            "alarm_id": self.alarm_id,
            "site": self.site,
            "source": self.source,
            "alarm_type": self.alarm_type,
            "severity": self.severity,
            "status": self.status,
            "message": self.message,
            "details": self.details,
            "count": self.count,
            "start_ms": self.start_ms,
            "last_ms": self.last_ms,
            "acknowledged": self.acknowledged,
            "ack_ms": self.ack_ms,
            "ack_by": self.ack_by,
            "cleared": self.cleared,
            "clear_ms": self.clear_ms,
            "clear_by": self.clear_by,
            "assignee": self.assignee,
            "escalation_level": self.escalation_level,
            "escalated_ms": self.escalated_ms,
            "unack_since_ms": self.unack_since_ms,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    """One recorded change: who did what to which alarm, when, and the status around it."""

    alarm_id: str
    ts_ms: int
    actor: str
    action: Action
    from_status: Status | None
    to_status: Status
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view."""
        return {
            "alarm_id": self.alarm_id,
            "ts_ms": self.ts_ms,
            "actor": self.actor,
            "action": self.action,
            "from_status": self.from_status,
            "to_status": self.to_status,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Comment:
    """An operator's note on an alarm."""

    alarm_id: str
    ts_ms: int
    author: str
    text: str

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view."""
        return {
            "alarm_id": self.alarm_id,
            "ts_ms": self.ts_ms,
            "author": self.author,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmDetail:
    """An alarm with its full history and comments, oldest first."""

    alarm: Alarm
    transitions: tuple[Transition, ...]
    comments: tuple[Comment, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmQuery:
    """A filter over alarms; empty sets and None mean "any".

    The time range selects alarms whose life overlaps [since_ms, until_ms): started before
    `until_ms` and not cleared before `since_ms`.
    """

    statuses: frozenset[Status] = frozenset()
    severities: frozenset[Severity] = frozenset()
    site: str | None = None
    sites: frozenset[str] | None = None  # only these sites (a caller's scope); None: any
    source: str | None = None
    alarm_type: str | None = None
    assignee: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    limit: int = 100
    offset: int = 0
