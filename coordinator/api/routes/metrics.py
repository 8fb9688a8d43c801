"""`/metrics`: Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from coordinator.metrics import render

router = APIRouter(tags=["metrics"])


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Ingest rate, queue depth, dead letters, nodes online, alarm counts, per-node seq health."""
    return Response(content=render(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)


__all__ = ["router"]
