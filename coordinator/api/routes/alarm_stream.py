"""`GET /api/v1/alarms/stream`: alarm changes as server-sent events, for dashboards.

The stream opens with a `ready` event and (unless `snapshot=false`) a `snapshot` event
holding the active alarms, then sends one `alarm` event per change (its data is the
`AlarmEvent` JSON, whose `kind` says what happened). A listener too slow to keep up gets
a `lagged` event with the number of changes it missed and should reload the alarm list.
Comments keep idle connections alive through proxies.

This router has no prefix of its own: `coordinator.api.routes.alarms.router` includes it
ahead of `/{alarm_id}`, so mounting that one router serves the stream too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from sse_starlette import EventSourceResponse

from coordinator.alarms.model import AlarmQuery, Status
from coordinator.alarms.store import MAX_QUERY_LIMIT
from coordinator.api.deps import AlarmsDep, ScopeDep, ViewerDep
from coordinator.api.site_scope import site_filter
from coordinator.notify.broadcast import AlarmBroadcaster

router = APIRouter()

PING_INTERVAL_S = 15
ACTIVE: frozenset[Status] = frozenset({"ACTIVE_UNACK", "ACTIVE_ACK"})


@router.get(
    "/stream",
    summary="Stream alarm changes as server-sent events",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"}
    },
)
async def stream_alarms(
    who: ViewerDep,
    scope: ScopeDep,
    service: AlarmsDep,
    site: Annotated[str | None, Query(max_length=64, description="Only this site's alarms")] = None,
    snapshot: Annotated[
        bool, Query(description="Send the active alarms (up to 1000) first, as `snapshot`")
    ] = True,
) -> EventSourceResponse:
    """Server-sent events for every alarm change of the caller's sites (optionally of one
    site)."""
    broadcaster: AlarmBroadcaster = service.broadcaster
    site, sites = site_filter(scope, site)
    # Subscribe before reading the snapshot, so no change falls between the two; a change
    # may then appear in both, which is harmless (the event carries the whole alarm).
    subscription = broadcaster.subscribe(site=site, sites=sites)

    async def events() -> AsyncIterator[dict[str, Any]]:
        reported = 0
        try:
            yield {
                "event": "ready",
                "data": orjson.dumps({"principal": who, "site": site}).decode(),
            }
            if snapshot:
                query = AlarmQuery(statuses=ACTIVE, site=site, sites=sites, limit=MAX_QUERY_LIMIT)
                active = await run_in_threadpool(service.list_alarms, query)
                yield {
                    "event": "snapshot",
                    "data": orjson.dumps([a.to_dict() for a in active]).decode(),
                }
            while True:
                event = await subscription.get()
                if subscription.dropped > reported:
                    missed = subscription.dropped - reported
                    reported = subscription.dropped
                    yield {"event": "lagged", "data": orjson.dumps({"missed": missed}).decode()}
                yield {
                    "event": "alarm",
                    "id": str(event.event_id),
                    "data": event.to_json().decode(),
                }
        finally:
            broadcaster.unsubscribe(subscription)

    return EventSourceResponse(events(), ping=PING_INTERVAL_S)


__all__ = ["router"]
