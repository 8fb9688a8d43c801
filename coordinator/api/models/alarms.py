"""Bodies of the alarm routes (`coordinator.api.routes.alarms`)."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from coordinator.alarms.lifecycle import MAX_ACTOR_CHARS, MAX_COMMENT_CHARS
from coordinator.alarms.model import Status
from coordinator.alarms.port import Severity


class AlarmOut(BaseModel):
    """An alarm as the API shows it."""

    alarm_id: str
    site: str
    source: str
    alarm_type: str
    severity: Severity
    status: Status
    message: str
    details: dict[str, object]
    count: int
    start_ms: int
    last_ms: int
    acknowledged: bool
    ack_ms: int | None
    ack_by: str | None
    cleared: bool
    clear_ms: int | None
    clear_by: str | None
    assignee: str | None
    escalation_level: int
    escalated_ms: int | None


class TransitionOut(BaseModel):
    """One entry of an alarm's history."""

    ts_ms: int
    actor: str
    action: str
    from_status: Status | None
    to_status: Status
    note: str


class CommentOut(BaseModel):
    """An operator's comment."""

    ts_ms: int
    author: str
    text: str


class AlarmDetailOut(BaseModel):
    """An alarm with its history and comments, oldest first."""

    alarm: AlarmOut
    transitions: list[TransitionOut]
    comments: list[CommentOut]


class DeliveryOut(BaseModel):
    """One webhook delivery attempt for an alarm's notification."""

    delivery_id: str
    event: str
    url: str
    attempt: int
    outcome: str
    status_code: int | None
    error: str
    ts_ms: int


# JSON Schema forms of the alarm service's text rules (`coordinator.alarms.lifecycle`),
# checked here too so a body the schema admits is never refused later. Control characters
# (Unicode Cc: U+0000-U+001F, U+007F-U+009F) are refused, but newline and tab in comments.
_COMMENT_CHAR = r"[^\x00-\x08\x0b-\x1f\x7f-\x9f]"
_VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f]"
_NAME_CHAR = r"[^\x00-\x1f\x7f-\x9f]"
NOTE_PATTERN: Final = rf"^{_COMMENT_CHAR}*$"
COMMENT_PATTERN: Final = rf"^{_COMMENT_CHAR}*{_VISIBLE}{_COMMENT_CHAR}*$"
ASSIGNEE_PATTERN: Final = rf"^{_NAME_CHAR}*{_VISIBLE}{_NAME_CHAR}*$"


class ClearIn(BaseModel):
    """Why the alarm is cleared (optional)."""

    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=MAX_COMMENT_CHARS, pattern=NOTE_PATTERN)


class CommentIn(BaseModel):
    """A comment to add: not blank, no control characters but newline and tab."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_COMMENT_CHARS, pattern=COMMENT_PATTERN)


class FeedbackIn(BaseModel):
    """An operator's verdict on an alarm: a false alert, or a confirmed fault."""

    model_config = ConfigDict(extra="forbid")
    verdict: Literal["false", "confirmed"]


class AssignIn(BaseModel):
    """Who should handle the alarm (not blank, no control characters); null unassigns."""

    model_config = ConfigDict(extra="forbid")
    assignee: str | None = Field(max_length=MAX_ACTOR_CHARS, pattern=ASSIGNEE_PATTERN)


__all__ = [
    "AlarmDetailOut",
    "AlarmOut",
    "AssignIn",
    "ClearIn",
    "CommentIn",
    "CommentOut",
    "DeliveryOut",
    "TransitionOut",
]
