"""Persistence for the coordinator core, behind the `Store` port.

`SqliteStore` is the embedded default; `coordinator.store.postgres_store.PostgresStore`
(`--db postgresql://...`) is imported from its own module only, so psycopg is loaded only
by a coordinator that uses it.
"""

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
