"""`/healthz`: 200 while the broker is connected, ingest runs and the database answers,
else 503 (with why the broker connection failed, e.g. a refused login or an untrusted
certificate, and why the database cannot be reached).

Open to everyone (a load balancer's probe has no token), so it names no node: counts and
flags only. The error texts, which may quote a store error or a login, are shown to a
caller who may read `/metrics` (`coordinator.api.auth.metrics_reader`); anyone else reads
`HIDDEN` in their place.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request, Response

from coordinator.api.auth import metrics_reader
from coordinator.api.errors import ApiError
from coordinator.api.models.health import HealthOut
from coordinator.errors import StoreError
from coordinator.service import Coordinator
from coordinator.store.port import Store

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
    request: Request,
    response: Response,
) -> HealthOut:
    """Whether the broker session is up, the ingest writer is running and the database
    answers (asked now, and as the writer last found it); the reasons of failures for a
    caller who may read `/metrics`. `role` says whether this coordinator leads or stands
    by; a standby is healthy while the database answers (it has no broker session)."""
    coordinator: Coordinator | None = request.app.state.coordinator
    if coordinator is None:
        return _standby_health(request, response)
    database_error = coordinator.writer.store_lost
    try:
        coordinator.store.ping()
    except StoreError as exc:
        database_error = exc.reason
    healthy = coordinator.healthy and not database_error
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
    database_connected = not database_error
    if not _shows_details(request):
        broker_error = HIDDEN if broker_error else ""
        last_error = HIDDEN if last_error else ""
        database_error = HIDDEN if database_error else ""
    return HealthOut(
        status="ok" if healthy else "degraded",
        role=request.app.state.role,
        broker_connected=coordinator.mqtt.connected,
        broker_error=broker_error,
        ingest_running=not coordinator.writer.failed,
        database_connected=database_connected,
        database_error=database_error,
        queue_depth=coordinator.writer.queue.qsize(),
        nodes_online=coordinator.twin.online_count(),
        last_error=last_error,
    )


def _standby_health(request: Request, response: Response) -> HealthOut:
    """A standby's health: the database it reads from answers."""
    reads: Store | None = getattr(request.app.state, "reads", None)
    database_error = "" if reads is not None else "not open yet"
    if reads is not None:
        try:
            reads.ping()
        except StoreError as exc:
            database_error = exc.reason
    if database_error:
        response.status_code = 503
        if not _shows_details(request):
            database_error = HIDDEN
    return HealthOut(
        status="degraded" if database_error else "ok",
        role=request.app.state.role,
        broker_connected=False,
        ingest_running=False,
        database_connected=not database_error,
        database_error=database_error,
        queue_depth=0,
        nodes_online=0,
    )


__all__ = ["HIDDEN", "router"]
