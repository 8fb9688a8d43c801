"""Errors raised by the alarm service, a branch of the coordinator's tree.

    CoordinatorError (coordinator.errors)
    └── AlarmError                anything the alarm service refuses
        ├── AlarmNotFound         no alarm has this id (also a `NotFound`)
        ├── InvalidTransition     the action does not apply in this status
        ├── AlarmsUnavailable     this coordinator runs without an alarm service
        └── InvalidAlarmInput     a field is malformed, empty or oversized
                                  (also an `InvalidQuery`, `parameter` = field)

Every error carries `reason` (a sentence for people) and, where one is known, `alarm_id`.
The API maps the tree to status codes in one table (`coordinator.api.errors`).
"""

from __future__ import annotations

from coordinator.errors import CoordinatorError, InvalidQuery, NotFound


class AlarmError(CoordinatorError):
    """Base of every error the alarm service raises."""

    def __init__(self, reason: str, *, alarm_id: str | None = None) -> None:
        # Not super(): the subclasses also inherit NotFound/InvalidQuery, whose
        # constructors take other arguments; CoordinatorError's is the one to run.
        CoordinatorError.__init__(self, reason)
        self.alarm_id = alarm_id

    def __str__(self) -> str:
        return self.reason


class AlarmNotFound(AlarmError, NotFound):
    """No alarm has the requested id."""

    def __init__(self, reason: str, *, alarm_id: str | None = None) -> None:
        super().__init__(reason, alarm_id=alarm_id)
        self.resource = "alarm"
        self.key = alarm_id or ""


class InvalidTransition(AlarmError):
    """The action does not apply to the alarm in its current status (e.g. ack twice)."""

    def __init__(self, reason: str, *, alarm_id: str | None = None, status: str = "") -> None:
        super().__init__(reason, alarm_id=alarm_id)
        self.status = status


class AlarmsUnavailable(AlarmError):
    """The coordinator was started without an alarm service."""


class InvalidAlarmInput(AlarmError, InvalidQuery):
    """A field is malformed, empty or larger than allowed; `field` names it."""

    def __init__(self, reason: str, *, field: str, alarm_id: str | None = None) -> None:
        super().__init__(reason, alarm_id=alarm_id)
        self.field = field
        self.parameter = field
