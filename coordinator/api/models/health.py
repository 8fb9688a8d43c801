"""Body of the health route (`coordinator.api.routes.health`)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class HealthOut(BaseModel):
    """Liveness of the service's parts."""

    status: str
    broker_connected: bool
    broker_error: str = Field(
        default="",
        description="Why the broker connection last failed (refused login, TLS, unreachable); "
        "empty while connected; to a caller without a token of every site, a fixed text "
        "saying it is hidden",
    )
    ingest_running: bool
    queue_depth: int
    nodes_online: int
    last_error: str = Field(
        default="",
        description="Why ingest stopped, if it did (hidden like `broker_error`)",
    )


__all__ = ["HealthOut"]
