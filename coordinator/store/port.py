"""The store port: everything the coordinator core persists, behind one `typing.Protocol`.

Two adapters implement it: `SqliteStore` (`coordinator.store.sqlite_store`, the embedded
default) and `PostgresStore` (`coordinator.store.postgres_store`, `--db postgresql://...`).
The contract tests (`tests/coordinator/test_store_contract.py`) run against both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, Protocol

from coordinator.fleet.node import NodeRecord
from coordinator.fleet.views import StockItem
from coordinator.ingest.records import WriteBatch

Resolution = Literal["raw", "1m"]

CORE_TABLES: Final = frozenset(
    {
        "messages",
        "samples",
        "rollup_1m",
        "events",
        "stock_changes",
        "sales_daily",
        "dead_letters",
        "nodes",
        "series",
    }
)
"""The tables every backend holds and `Store.count` answers for."""


@dataclass(frozen=True, slots=True)
class CommitResult:
    """What one committed batch wrote."""

    messages_new: int
    messages_already_stored: int
    samples_written: int
    dead_letters: int


@dataclass(frozen=True, slots=True)
class Point:
    """One point of a series: a raw sample (min = max = value, count 1) or a 1-minute rollup."""

    ts_ms: int
    value: float
    min: float
    max: float
    count: int


@dataclass(frozen=True, slots=True)
class TelemetrySeries:
    """Points of one signal in [start_ms, end_ms] at one resolution (`truncated` at the limit)."""

    site: str
    node: str
    signal: str
    resolution: Resolution
    start_ms: int
    end_ms: int
    points: tuple[Point, ...]
    truncated: bool


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    """A stored dead letter."""

    id: int
    received_ms: int
    topic: str
    reason: str
    error: str
    payload_size: int
    payload_prefix: bytes


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """Rows removed by one retention pass (`partitions_dropped`: whole days of raw samples,
    on a backend that partitions them)."""

    samples_deleted: int
    rollups_deleted: int
    dead_letters_deleted: int
    partitions_dropped: int = 0


class Store(Protocol):
    """Persistence of the coordinator core (nodes, messages, samples, stock, dead letters)."""

    def commit(self, batch: WriteBatch) -> CommitResult:
        """Write one batch in one transaction; message keys already stored are skipped."""
        ...

    def load_nodes(self) -> list[NodeRecord]:
        """Every persisted node record."""
        ...

    def load_latest(self) -> list[tuple[str, str, str, int, float]]:
        """(site, node, signal, ts_ms, value) of each series' newest sample."""
        ...

    def load_stock(self) -> list[StockItem]:
        """Current stock levels."""
        ...

    def daily_sales(self, *, since_day: int) -> list[tuple[str, str, str, int, int]]:
        """(site, node, sku, day, units) sold per day from `since_day` on (days since 1970)."""
        ...

    def hourly_sales_profile(self, *, since_ms: int) -> list[tuple[str, str, int, int]]:
        """(site, node, UTC hour of day, units) picked since `since_ms`, per shelf node."""
        ...

    def telemetry(
        self,
        *,
        site: str,
        node: str,
        signal: str,
        start_ms: int,
        end_ms: int,
        resolution: Resolution,
        limit: int,
    ) -> TelemetrySeries:
        """Points of one signal; `NotFound` if the node or signal is unknown."""
        ...

    def dead_letters(self, *, limit: int, offset: int = 0) -> list[DeadLetterRow]:
        """Dead letters, newest first."""
        ...

    def dead_letter_count(self) -> int:
        """How many dead letters are stored."""
        ...

    def apply_retention(
        self, *, raw_before_ms: int, rollup_before_ms: int, dead_letters_before_ms: int
    ) -> RetentionResult:
        """Delete raw samples, rollups and dead letters older than the given times (raw
        samples by whole UTC days where the backend partitions them by day)."""
        ...

    def count(self, table: str) -> int:
        """Rows in one of the core tables (for tests and benchmarks); `StoreError` for others."""
        ...

    def ping(self) -> None:
        """Raise `StoreError` (`StoreUnavailable` when unreachable) unless the database answers."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


__all__ = [
    "CORE_TABLES",
    "CommitResult",
    "DeadLetterRow",
    "Point",
    "Resolution",
    "RetentionResult",
    "Store",
    "TelemetrySeries",
]
