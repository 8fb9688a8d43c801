"""`/healthz`: 200 while the broker is connected and ingest runs, else 503 (with why the
broker connection failed, e.g. a refused login or an untrusted certificate).

Open to everyone (a load balancer's probe has no token), so it names no node: counts and
flags only. The error texts, which may quote a store error or a login, are shown to a
caller who may read `/metrics` (`coordinator.api.auth.metrics_reader`); anyone else reads
`HIDDEN` in their place.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request, Response

from coordinator.api.auth import metrics_reader
from coordinator.api.deps import CoordinatorDep
from coordinator.api.errors import ApiError
from coordinator.api.models.health import HealthOut

router = APIRouter(tags=["health"])
HIDDEN: Final = "hidden: send a token of every site (any role) to read it"


def _shows_details(request: Request) -> bool:
    """Whether the caller may read `/metrics`. The header is read here rather than through
    a security dependency: the route is open, and the OpenAPI document says so."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    try:
        metrics_reader(
            request.app.state.settings, token.strip() if scheme.lower() == "bearer" else None
        )
    except ApiError:
        return False
    return True


@router.get(
    "/healthz",
    summary="Service health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut}},
)
def healthz(
    coordinator: CoordinatorDep,
    request: Request,
    response: Response,
) -> HealthOut:
    """Whether the broker session is up and the ingest writer is running; the reasons of
    failures for a caller who may read `/metrics`."""
    healthy = coordinator.healthy
    if not healthy:
        response.status_code = 503
    broker_error = "; ".join(  # the ingest and alarm connections, each cause once
        dict.fromkeys(
            client.last_error
            for client in (coordinator.mqtt, coordinator.events_mqtt)
            if client is not None and client.last_error
        )
    )
    last_error = coordinator.writer.stats.last_error
    if not _shows_details(request):
        broker_error = HIDDEN if broker_error else ""
        last_error = HIDDEN if last_error else ""
    return HealthOut(
        status="ok" if healthy else "degraded",
        broker_connected=coordinator.mqtt.connected,
        broker_error=broker_error,
        ingest_running=not coordinator.writer.failed,
        queue_depth=coordinator.writer.queue.qsize(),
        nodes_online=coordinator.twin.online_count(),
        last_error=last_error,
    )


__all__ = ["HIDDEN", "router"]
