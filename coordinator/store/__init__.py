"""Persistence for the coordinator core, behind the `Store` port."""

from coordinator.store.port import (
    CommitResult,
    DeadLetterRow,
    Point,
    Resolution,
    RetentionResult,
    Store,
    TelemetrySeries,
)
from coordinator.store.schema import MIGRATIONS
from coordinator.store.sqlite_store import SqliteStore

__all__ = [
    "MIGRATIONS",
    "CommitResult",
    "DeadLetterRow",
    "Point",
    "Resolution",
    "RetentionResult",
    "SqliteStore",
    "Store",
    "TelemetrySeries",
]
