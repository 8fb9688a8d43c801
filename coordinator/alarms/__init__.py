"""Alarms operators can act on: lifecycle, escalation, storage and the service.

Import map: `port` (the `AlarmSink` other parts call), `model` and `lifecycle` (pure),
`escalation` (pure), `store` (SQLite), `service` (the `AlarmService`), `sources` (turning
fleet happenings into triggers), `wiring` (`build_alarm_service`). Errors: see `errors`.
"""

from coordinator.alarms.errors import (
    AlarmError,
    AlarmNotFound,
    AlarmsUnavailable,
    InvalidAlarmInput,
    InvalidTransition,
)
from coordinator.alarms.escalation import Escalation, EscalationPolicy, due_escalations
from coordinator.alarms.model import (
    SEVERITIES,
    STATUSES,
    Alarm,
    AlarmDetail,
    AlarmQuery,
    Comment,
    Status,
    Transition,
)
from coordinator.alarms.port import AlarmSink, RecordingAlarmSink, Severity
from coordinator.alarms.service import AlarmService
from coordinator.alarms.store import ALARM_MIGRATIONS, AlarmStore, apply_alarm_migrations
from coordinator.alarms.wiring import build_alarm_service

__all__ = [
    "ALARM_MIGRATIONS",
    "SEVERITIES",
    "STATUSES",
    "Alarm",
    "AlarmDetail",
    "AlarmError",
    "AlarmNotFound",
    "AlarmQuery",
    "AlarmService",
    "AlarmSink",
    "AlarmStore",
    "AlarmsUnavailable",
    "Comment",
    "Escalation",
    "EscalationPolicy",
    "InvalidAlarmInput",
    "InvalidTransition",
    "RecordingAlarmSink",
    "Severity",
    "Status",
    "Transition",
    "apply_alarm_migrations",
    "build_alarm_service",
    "due_escalations",
]
