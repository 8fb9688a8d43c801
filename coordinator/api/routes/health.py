"""`/healthz`: 200 while the broker is connected, ingest runs and the database answers,
else 503 (with why the broker connection failed, e.g. a refused login or an untrusted
certificate, and why the database cannot be reached)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from coordinator.api.deps import CoordinatorDep
from coordinator.api.models.health import HealthOut
from coordinator.errors import StoreError

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="Service health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut}},
)
def healthz(coordinator: CoordinatorDep, response: Response) -> HealthOut:
    """Whether the broker session is up, the ingest writer is running and the database
    answers (asked now, and as the writer last found it)."""
    database_error = coordinator.writer.store_lost
    try:
        coordinator.store.ping()
    except StoreError as exc:
        database_error = exc.reason
    healthy = coordinator.healthy and not database_error
    if not healthy:
        response.status_code = 503
    return HealthOut(
        status="ok" if healthy else "degraded",
        broker_connected=coordinator.mqtt.connected,
        broker_error="; ".join(  # the ingest and alarm connections, each cause once
            dict.fromkeys(
                client.last_error
                for client in (coordinator.mqtt, coordinator.events_mqtt)
                if client is not None and client.last_error
            )
        ),
        ingest_running=not coordinator.writer.failed,
        database_connected=not database_error,
        database_error=database_error,
        queue_depth=coordinator.writer.queue.qsize(),
        nodes_online=coordinator.twin.online_count(),
        last_error=coordinator.writer.stats.last_error,
    )


__all__ = ["router"]
