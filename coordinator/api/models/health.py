"""Body of the health route (`coordinator.api.routes.health`)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class HealthOut(BaseModel):
    """Liveness of the service's parts."""

    status: str
    role: str = Field(
        default="single",
        description="`single` (no leader lock: the only coordinator of its sites), `leader` "
        "(holds the leader lock: ingests, alarms, plans) or `standby` (serves reads from the "
        "database, takes over when the leader's lock is released)",
    )
    broker_connected: bool
    broker_error: str = Field(
        default="",
        description="Why the broker connection last failed (refused login, TLS, unreachable); "
        "empty while connected; to a caller without a token of every site, a fixed text "
        "saying it is hidden",
    )
    ingest_running: bool
    database_connected: bool = Field(
        default=True,
        description="Whether the database answers (false while a PostgreSQL server cannot be "
        "reached: ingest pauses without acking, so the broker keeps the backlog)",
    )
    database_error: str = Field(
        default="",
        description="Why the database cannot be reached; empty while it can (hidden like "
        "`broker_error`)",
    )
    queue_depth: int
    nodes_online: int
    last_error: str = Field(
        default="",
        description="Why ingest stopped, if it did (hidden like `broker_error`)",
    )


__all__ = ["HealthOut"]
