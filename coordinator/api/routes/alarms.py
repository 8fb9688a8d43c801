"""`/api/v1/alarms`: list and filter alarms (viewer); ack, clear, comment, assign and give
feedback (operator).

Thin routes over the `AlarmService` (`AlarmsDep`); domain errors
(`coordinator.alarms.errors`) propagate to the API's one exception handler. The SSE stream
(`/stream`) is included from `alarm_stream` before `/{alarm_id}` so the two never clash:
mount only this router.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query

from coordinator.access.scope import Scope
from coordinator.alarms.lifecycle import MAX_ACTOR_CHARS
from coordinator.alarms.model import Alarm, AlarmQuery, Status
from coordinator.alarms.port import Severity
from coordinator.alarms.service import AlarmService
from coordinator.api.deps import (
    AlarmIdPath,
    AlarmsDep,
    FleetAlarmsDep,
    OperatorDep,
    ScopeDep,
    ViewerDep,
)
from coordinator.api.models.alarms import (
    AlarmDetailOut,
    AlarmOut,
    AssignIn,
    ClearIn,
    CommentIn,
    CommentOut,
    DeliveryOut,
    FeedbackIn,
    TransitionOut,
)
from coordinator.api.problems import problem_responses
from coordinator.api.routes import alarm_stream
from coordinator.api.site_scope import site_filter
from coordinator.errors import NotFound

router = APIRouter(prefix="/api/v1/alarms", tags=["alarms"])
router.include_router(alarm_stream.router)

MAX_MS: Final = 2**53  # beyond this, JSON numbers stop being exact


def _out(alarm: Alarm) -> AlarmOut:
    return AlarmOut.model_validate(alarm.to_dict())


def _in_scope(alarms: AlarmService, alarm_id: str, scope: Scope) -> None:
    """404 for an alarm of a site outside the caller's scope, as for an unknown id."""
    if not scope.covers_all and not scope.covers(alarms.get(alarm_id).alarm.site):
        raise NotFound("alarm", alarm_id)


@router.get("", summary="List and filter alarms", response_model=list[AlarmOut])
def list_alarms(
    _who: ViewerDep,
    scope: ScopeDep,
    alarms: FleetAlarmsDep,
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
    """Alarms (of the caller's sites) newest first; time range = alarms alive at some point
    in [since_ms, until_ms). With coordinators sharing a PostgreSQL, every site's: other
    coordinators' alarms from the alarm board they share (all of them on a standby)."""
    site, sites = site_filter(scope, site)
    query = AlarmQuery(
        statuses=frozenset(status or ()),
        severities=frozenset(severity or ()),
        site=site,
        sites=sites,
        source=source,
        alarm_type=alarm_type,
        assignee=assignee,
        since_ms=since_ms,
        until_ms=until_ms,
        limit=limit,
        offset=offset,
    )
    return [_out(a) for a in alarms.list_alarms(query)]


@router.get(
    "/{alarm_id}",
    summary="One alarm with its history",
    response_model=AlarmDetailOut,
    responses=problem_responses(404),
)
def get_alarm(
    alarm_id: AlarmIdPath, _who: ViewerDep, scope: ScopeDep, alarms: AlarmsDep
) -> AlarmDetailOut:
    """The alarm, every transition (who, when, what) and its comments."""
    detail = alarms.get(alarm_id)
    if not scope.covers(detail.alarm.site):
        raise NotFound("alarm", alarm_id)
    return AlarmDetailOut(
        alarm=_out(detail.alarm),
        transitions=[TransitionOut.model_validate(t.to_dict()) for t in detail.transitions],
        comments=[CommentOut.model_validate(c.to_dict()) for c in detail.comments],
    )


@router.get(
    "/{alarm_id}/deliveries",
    summary="Webhook delivery log of one alarm",
    response_model=list[DeliveryOut],
    responses=problem_responses(404),
)
def alarm_deliveries(
    alarm_id: AlarmIdPath,
    _who: ViewerDep,
    scope: ScopeDep,
    alarms: AlarmsDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    """Every webhook attempt for the alarm's notifications, oldest first."""
    _in_scope(alarms, alarm_id, scope)
    records = alarms.deliveries(alarm_id, limit=limit)
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


@router.post(
    "/{alarm_id}/ack",
    summary="Acknowledge an alarm",
    response_model=AlarmOut,
    responses=problem_responses(404, 409, s409="Already acknowledged"),
)
def acknowledge_alarm(
    alarm_id: AlarmIdPath, who: OperatorDep, scope: ScopeDep, alarms: AlarmsDep
) -> AlarmOut:
    """ACTIVE_UNACK → ACTIVE_ACK or CLEARED_UNACK → CLEARED_ACK; 409 if already acknowledged."""
    _in_scope(alarms, alarm_id, scope)
    return _out(alarms.acknowledge(alarm_id, actor=who))


@router.post(
    "/{alarm_id}/clear",
    summary="Clear an alarm",
    response_model=AlarmOut,
    responses=problem_responses(404, 409, s409="Already cleared"),
)
def clear_alarm(
    alarm_id: AlarmIdPath,
    who: OperatorDep,
    scope: ScopeDep,
    alarms: AlarmsDep,
    body: ClearIn | None = None,
) -> AlarmOut:
    """ACTIVE_* → CLEARED_*; 409 if already cleared."""
    _in_scope(alarms, alarm_id, scope)
    note = body.note if body is not None else ""
    return _out(alarms.clear_alarm(alarm_id, actor=who, note=note))


@router.post(
    "/{alarm_id}/comments",
    summary="Comment on an alarm",
    response_model=CommentOut,
    status_code=201,
    responses=problem_responses(404),
)
def comment_alarm(
    alarm_id: AlarmIdPath, body: CommentIn, who: OperatorDep, scope: ScopeDep, alarms: AlarmsDep
) -> CommentOut:
    """Add a comment (1–4000 characters, no control characters but newline and tab)."""
    _in_scope(alarms, alarm_id, scope)
    comment = alarms.add_comment(alarm_id, actor=who, text=body.text)
    return CommentOut.model_validate(comment.to_dict())


@router.post(
    "/{alarm_id}/feedback",
    summary="Mark an alarm a false alert or a confirmed fault",
    response_model=TransitionOut,
    status_code=201,
    responses=problem_responses(404),
)
def alarm_feedback(
    alarm_id: AlarmIdPath, body: FeedbackIn, who: OperatorDep, scope: ScopeDep, alarms: AlarmsDep
) -> TransitionOut:
    """Record the verdict (the latest counts, per detector and signal, in `/metrics`)."""
    _in_scope(alarms, alarm_id, scope)
    transition = alarms.give_feedback(alarm_id, actor=who, verdict=body.verdict)
    return TransitionOut.model_validate(transition.to_dict())


@router.post(
    "/{alarm_id}/assign",
    summary="Assign or unassign an alarm",
    response_model=AlarmOut,
    responses=problem_responses(404, 409, s409="Assigned to the same person already"),
)
def assign_alarm(
    alarm_id: AlarmIdPath, body: AssignIn, who: OperatorDep, scope: ScopeDep, alarms: AlarmsDep
) -> AlarmOut:
    """Set the assignee, or remove it with `{"assignee": null}`; 409 if unchanged."""
    _in_scope(alarms, alarm_id, scope)
    return _out(alarms.assign(alarm_id, actor=who, assignee=body.assignee))


__all__ = ["router"]
