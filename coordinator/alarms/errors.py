"""Errors raised by the alarm service, a branch of the coordinator's tree.

    CoordinatorError (coordinator.errors)
    └── AlarmError                anything the alarm service refuses
        ├── AlarmNotFound         no alarm has this id (also a `NotFound`)        HTTP 404
        ├── InvalidTransition     the action does not apply in this status       HTTP 409
        ├── AlarmsUnavailable     this coordinator runs without an alarm service  HTTP 503
        └── InvalidAlarmInput     a field is malformed, empty or oversized        HTTP 422
                                  (also an `InvalidQuery`, `parameter` = field)

Every error carries `reason` (a sentence for people) and, where one is known, `alarm_id`.
The API maps the tree to status codes in its one exception handler; `http_status` on each
class names the code it stands for, so the handler can read it instead of keeping a table.
"""

from __future__ import annotations

from typing import ClassVar

from coordinator.errors import CoordinatorError, InvalidQuery, NotFound


class AlarmError(CoordinatorError):
    """Base of every error the alarm service raises."""

    http_status: ClassVar[int] = 400

    def __init__(self, reason: str, *, alarm_id: str | None = None) -> None:
        # Not super(): the subclasses also inherit NotFound/InvalidQuery, whose
        # constructors take other arguments; CoordinatorError's is the one to run.
        CoordinatorError.__init__(self, reason)
        self.alarm_id = alarm_id

    def __str__(self) -> str:
        return self.reason


class AlarmNotFound(AlarmError, NotFound):
    """No alarm has the requested id."""

    http_status: ClassVar[int] = 404

    def __init__(self, reason: str, *, alarm_id: str | None = None) -> None:
        super().__init__(reason, alarm_id=alarm_id)
        self.resource = "alarm"
        self.key = alarm_id or ""


class InvalidTransition(AlarmError):
    """The action does not apply to the alarm in its current status (e.g. ack twice)."""

    http_status: ClassVar[int] = 409

    def __init__(self, reason: str, *, alarm_id: str | None = None, status: str = "") -> None:
        super().__init__(reason, alarm_id=alarm_id)
        self.status = status


class AlarmsUnavailable(AlarmError):
    """The coordinator was started without an alarm service."""

    http_status: ClassVar[int] = 503


class InvalidAlarmInput(AlarmError, InvalidQuery):
    """A field is malformed, empty or larger than allowed; `field` names it."""

    http_status: ClassVar[int] = 422

    def __init__(self, reason: str, *, field: str, alarm_id: str | None = None) -> None:
        super().__init__(reason, alarm_id=alarm_id)
        self.field = field
        self.parameter = field
