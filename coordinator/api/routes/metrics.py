"""`/metrics`: Prometheus text format, for a token covering every site (a `metrics`
token is enough) unless `metrics_public` opens it (`coordinator.api.auth.metrics_reader`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from coordinator.api.auth import require_metrics_reader
from coordinator.errors import StandingBy
from coordinator.metrics import render

router = APIRouter(tags=["metrics"])


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request, _reader: Annotated[str, Depends(require_metrics_reader)]) -> Response:
    """Ingest rate, queue depth, dead letters, nodes online, alarm counts, per-node seq
    health. Needs a token of every site (any role; `flexfleet token add NAME --role
    metrics` makes one that reads nothing else), unless `metrics_public` is set. A
    standby has none yet: 503 `standby`."""
    registry = getattr(request.app.state, "metrics", None)
    if registry is None:
        raise StandingBy("this coordinator stands by; its metrics start when it leads")
    return Response(content=render(registry), media_type=CONTENT_TYPE_LATEST)


__all__ = ["router"]
