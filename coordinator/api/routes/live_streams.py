"""`/api/v1/live-streams`: announced live streams (operator to post, viewer to read).

Thin routes over the `LiveStreamBook` (`LiveStreamsDep`). `POST` answers 201 when the id
is new, 200 for the same content again (`outcome: unchanged`) or for other content before
the stream starts (`updated`), 409 for a change once it has started, and 422 naming the
field for a stream that cannot be taken (in the past, over 24 h, unknown SKUs, an
audience below 0, ...); nothing of a refused stream is kept.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from coordinator.api.deps import LiveStreamsDep, OperatorDep, ViewerDep
from coordinator.api.models.live_streams import (
    LiveStreamIn,
    LiveStreamListOut,
    LiveStreamOut,
    RealisedUpliftOut,
)
from coordinator.api.problems import problem_responses
from coordinator.errors import NotFound
from coordinator.stock.live_streams import Outcome
from coordinator.stock.stream_book import StoredStream
from protocol.topics import ID_PATTERN

router = APIRouter(tags=["stock"])


def stream_out(kept: StoredStream, *, now_ms: int, outcome: Outcome | None = None) -> LiveStreamOut:
    """The API form of a stored stream."""
    s = kept.stream
    return LiveStreamOut(
        id=s.id,
        start=datetime.fromtimestamp(s.start_ms / 1000, tz=UTC),
        start_ms=s.start_ms,
        duration_s=s.duration_s,
        channel=s.channel,
        featured_skus=list(s.featured_skus),
        expected_audience=s.expected_audience,
        expected_orders=s.expected_orders,
        status=s.status(now_ms),
        created_ms=kept.created_ms,
        updated_ms=kept.updated_ms,
        outcome=outcome,
    )


@router.post(
    "/api/v1/live-streams",
    summary="Announce or change a live stream",
    status_code=status.HTTP_201_CREATED,
    response_model=LiveStreamOut,
    responses={
        200: {"model": LiveStreamOut, "description": "Same content again, or changed"},
        **problem_responses(
            409,
            422,
            s409="The stream has started and can no longer change",
            s422="A stream that cannot be taken; the field is named",
        ),
    },
)
def post_stream(
    body: LiveStreamIn, response: Response, book: LiveStreamsDep, _who: OperatorDep
) -> LiveStreamOut:
    """Take a stream, idempotent by id and editable until it starts."""
    kept, outcome = book.post(body.to_stream())
    if outcome != "created":
        response.status_code = status.HTTP_200_OK
    return stream_out(kept, now_ms=book.now_ms(), outcome=outcome)


@router.get("/api/v1/live-streams", summary="Live streams", response_model=LiveStreamListOut)
def list_streams(
    book: LiveStreamsDep,
    _who: ViewerDep,
    include_ended: Annotated[bool, Query(description="also the streams that ended")] = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> LiveStreamListOut:
    """Announced and running streams by start time (with `include_ended`, all)."""
    now = book.now_ms()
    streams = [
        stream_out(k, now_ms=now) for k in book.list(include_ended=include_ended, limit=limit)
    ]
    return LiveStreamListOut(count=len(streams), streams=streams)


@router.get(
    "/api/v1/live-streams/{stream_id}",
    summary="One live stream",
    response_model=LiveStreamOut,
    responses=problem_responses(404),
)
def get_stream(
    stream_id: Annotated[str, Path(pattern=ID_PATTERN, max_length=64)],
    book: LiveStreamsDep,
    _who: ViewerDep,
) -> LiveStreamOut:
    """The stream with this id (404 when there is none), with its realised uplift once it
    has ended and been measured."""
    kept = book.get(stream_id)
    if kept is None:
        raise NotFound("live stream", stream_id)
    out = stream_out(kept, now_ms=book.now_ms())
    measured = book.measured(stream_id)
    if measured is not None:
        out.realised = RealisedUpliftOut.of(measured)
    return out


__all__ = ["router", "stream_out"]
