"""`/api/v1/alarms`: list and filter alarms (viewer); ack, clear, comment, assign (operator).

Thin routes over the `AlarmService` at `request.app.state.alarms`; domain errors
(`coordinator.alarms.errors`) propagate to the API's one exception handler. The SSE stream
(`/stream`) is included from `alarm_stream` before `/{alarm_id}` so the two never clash:
mount only this router.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from coordinator.alarms.lifecycle import MAX_ACTOR_CHARS, MAX_COMMENT_CHARS
from coordinator.alarms.model import Alarm, AlarmQuery, Status
from coordinator.alarms.port import Severity
from coordinator.alarms.service import AlarmService
from coordinator.api.auth import OperatorDep, ViewerDep
from coordinator.api.routes import alarm_stream
from coordinator.api.routes.alarm_stream import alarm_service

router = APIRouter(prefix="/api/v1/alarms", tags=["alarms"])
router.include_router(alarm_stream.router)

MAX_MS = 2**53  # beyond this, JSON numbers stop being exact
AlarmId = Annotated[str, Path(min_length=1, max_length=64, description="The alarm's id")]


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


class ClearIn(BaseModel):
    """Why the alarm is cleared (optional)."""

    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=MAX_COMMENT_CHARS)


class CommentIn(BaseModel):
    """A comment to add."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_COMMENT_CHARS)


class AssignIn(BaseModel):
    """Who should handle the alarm; null unassigns."""

    model_config = ConfigDict(extra="forbid")
    assignee: str | None = Field(max_length=MAX_ACTOR_CHARS)


def _service(request: Request) -> AlarmService:
    return alarm_service(request)


def _out(alarm: Alarm) -> AlarmOut:
    return AlarmOut.model_validate(alarm.to_dict())


@router.get("", summary="List and filter alarms", response_model=list[AlarmOut])
def list_alarms(
    request: Request,
    _who: ViewerDep,
    status: Annotated[list[Status] | None, Query(max_length=4)] = None,
    severity: Annotated[list[Severity] | None, Query(max_length=5)] = None,
    site: Annotated[str | None, Query(max_length=64)] = None,
    source: Annotated[str | None, Query(max_length=128)] = None,
    alarm_type: Annotated[str | None, Query(max_length=128)] = None,
    assignee: Annotated[str | None, Query(max_length=MAX_ACTOR_CHARS)] = None,
    since_ms: Annotated[int | None, Query(ge=0, le=MAX_MS)] = None,
    until_ms: Annotated[int | None, Query(ge=0, le=MAX_MS)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[AlarmOut]:
    """Alarms newest first; time range = alarms alive at some point in [since_ms, until_ms)."""
    query = AlarmQuery(
        statuses=frozenset(status or ()),
        severities=frozenset(severity or ()),
        site=site,
        source=source,
        alarm_type=alarm_type,
        assignee=assignee,
        since_ms=since_ms,
        until_ms=until_ms,
        limit=limit,
        offset=offset,
    )
    return [_out(a) for a in _service(request).list_alarms(query)]


@router.get("/{alarm_id}", summary="One alarm with its history", response_model=AlarmDetailOut)
def get_alarm(request: Request, alarm_id: AlarmId, _who: ViewerDep) -> AlarmDetailOut:
    """The alarm, every transition (who, when, what) and its comments."""
    detail = _service(request).get(alarm_id)
    return AlarmDetailOut(
        alarm=_out(detail.alarm),
        transitions=[TransitionOut.model_validate(t.to_dict()) for t in detail.transitions],
        comments=[CommentOut.model_validate(c.to_dict()) for c in detail.comments],
    )


@router.get(
    "/{alarm_id}/deliveries",
    summary="Webhook delivery log of one alarm",
    response_model=list[DeliveryOut],
)
def alarm_deliveries(
    request: Request,
    alarm_id: AlarmId,
    _who: ViewerDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    """Every webhook attempt for the alarm's notifications, oldest first."""
    records = _service(request).deliveries(alarm_id, limit=limit)
    return [
        DeliveryOut(
            delivery_id=r.delivery_id,
            event=r.event,
            url=r.url,
            attempt=r.attempt,
            outcome=r.outcome,
            status_code=r.status_code,
            error=r.error,
            ts_ms=r.ts_ms,
        )
        for r in records
    ]


@router.post("/{alarm_id}/ack", summary="Acknowledge an alarm", response_model=AlarmOut)
def acknowledge_alarm(request: Request, alarm_id: AlarmId, who: OperatorDep) -> AlarmOut:
    """ACTIVE_UNACK → ACTIVE_ACK or CLEARED_UNACK → CLEARED_ACK; 409 if already acknowledged."""
    return _out(_service(request).acknowledge(alarm_id, actor=who))


@router.post("/{alarm_id}/clear", summary="Clear an alarm", response_model=AlarmOut)
def clear_alarm(
    request: Request, alarm_id: AlarmId, who: OperatorDep, body: ClearIn | None = None
) -> AlarmOut:
    """ACTIVE_* → CLEARED_*; 409 if already cleared."""
    note = body.note if body is not None else ""
    return _out(_service(request).clear_alarm(alarm_id, actor=who, note=note))


@router.post(
    "/{alarm_id}/comments",
    summary="Comment on an alarm",
    response_model=CommentOut,
    status_code=201,
)
def comment_alarm(
    request: Request, alarm_id: AlarmId, body: CommentIn, who: OperatorDep
) -> CommentOut:
    """Add a comment (1–4000 characters, no control characters but newline and tab)."""
    comment = _service(request).add_comment(alarm_id, actor=who, text=body.text)
    return CommentOut.model_validate(comment.to_dict())


@router.post("/{alarm_id}/assign", summary="Assign or unassign an alarm", response_model=AlarmOut)
def assign_alarm(request: Request, alarm_id: AlarmId, body: AssignIn, who: OperatorDep) -> AlarmOut:
    """Set the assignee, or remove it with `{"assignee": null}`; 409 if unchanged."""
    return _out(_service(request).assign(alarm_id, actor=who, assignee=body.assignee))


__all__ = ["router"]
