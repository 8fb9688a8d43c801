"""The PostgreSQL store (`--db postgresql://...`): the core tables on a database server.

The only module that imports psycopg (the `heavy-adapters` import contract names it).

Write path (one transaction per batch, like `SqliteStore`): node rows upserted; the
batch's message keys inserted in one statement (`ON CONFLICT DO NOTHING RETURNING`), and
the payload rows of the new ones written: samples with binary `COPY` into the
day-partitioned `samples` table, straight into the day's partition when the batch spans one
day (the partition of a new day is created first, in the same transaction); should the `COPY` meet a (signal, ms) already stored (a redelivery, or the
same value twice in a batch), it is rolled back to a savepoint and the samples go through
a temporary staging table and `INSERT ... ON CONFLICT DO NOTHING`, keeping the first value,
and the touched minutes' rollups are recomputed from `samples` instead of added to.
The job facts of a batch (operation reports, receipts) stay on the coordinator's SQLite
file: `job_facts` writes them before the PostgreSQL transaction (they are idempotent, so a
crash in between redelivers the batch and writes them again harmlessly).

Reads take a connection from a pool of at most `readers` (`coordinator.store.bounded_pool`),
so a coordinator holds `readers` + 1 connections at most, whatever its API's threads.

Faults: a server that cannot be reached, a lost connection or a full disk raise
`StoreUnavailable` (ingest pauses and retries, acking nothing); the next call reconnects.
Every pending migration is applied in one transaction under an advisory lock: a failing one
leaves the database unchanged and stops start-up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

import numpy as np
import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict

from coordinator.errors import NotFound, StoreError, StoreUnavailable
from coordinator.fleet.node import NodeRecord
from coordinator.fleet.views import StockItem
from coordinator.ingest.records import StockLevels, WriteBatch
from coordinator.ingest.sales import sales_of
from coordinator.stock.stream_uplift import RealisedUplift
from coordinator.store.bounded_pool import BoundedPool, PoolBusy
from coordinator.store.port import (
    CORE_TABLES,
    CommitResult,
    DeadLetterRow,
    Point,
    Resolution,
    RetentionResult,
    TelemetrySeries,
)
from coordinator.store.postgres_schema import (
    DAY_MS,
    MIGRATION_SET,
    PG_MIGRATIONS,
    PgMigration,
    partition_ddl,
    partition_name,
)
from coordinator.store.rows import event_row, node_record, node_row
from coordinator.store.stream_uplifts import MAX_SKUS, SqliteStreamUpliftStore
from protocol import Birth, Event, Stock, Telemetry

MINUTE_MS: Final = 60_000
# Advisory lock keys: migrations, and creating a day's partition (two coordinators on one
# database must not race on either).
_MIGRATION_LOCK: Final = 0x666C6578_0001
_PARTITION_LOCK: Final = 0x666C6578_0002
# A batch whose samples span more days than this has its days collected one by one
# (else every day from the first to the last gets a partition).
_DAY_SPAN_DENSE: Final = 31

_NODE_COLUMNS: Final = (
    "site, node, kind, firmware, units, capabilities, birth_seen, online, offline_reason,"
    " bd_seq, last_seen_ms, last_seq, gaps, received, duplicates, gaps_seen, lost,"
    " out_of_sync, samples, stock_snapshot_seq"
)
_UPDATE_NODE: Final = ", ".join(
    f"{c.strip()} = excluded.{c.strip()}" for c in _NODE_COLUMNS.split(",")[2:]
)
# Built from the constant column list above; no outside text reaches this SQL.
_UPSERT_NODE: Final = f"INSERT INTO nodes ({_NODE_COLUMNS}) VALUES ({', '.join(['%s'] * 20)}) ON CONFLICT (site, node) DO UPDATE SET {_UPDATE_NODE}"  # noqa: S608
_INSERT_KEYS: Final = (
    "INSERT INTO messages (node_id, bd_seq, seq, kind, ts_ms, historical, received_ms)"
    " SELECT * FROM unnest(%s::integer[], %s::bigint[], %s::bigint[], %s::text[],"
    " %s::bigint[], %s::integer[], %s::bigint[])"
    " ON CONFLICT DO NOTHING RETURNING node_id, bd_seq, seq"
)
_ROLLUP_UPSERT: Final = (
    "INSERT INTO rollup_1m (series_id, minute_ms, min, max, sum, count)"
    " SELECT * FROM unnest(%s::integer[], %s::bigint[], %s::float8[], %s::float8[],"
    " %s::float8[], %s::bigint[])"
    " ON CONFLICT (series_id, minute_ms) DO UPDATE SET min = least(rollup_1m.min, excluded.min),"
    " max = greatest(rollup_1m.max, excluded.max), sum = rollup_1m.sum + excluded.sum,"
    " count = rollup_1m.count + excluded.count"
)
_ROLLUP_RECOMPUTE: Final = (
    "INSERT INTO rollup_1m (series_id, minute_ms, min, max, sum, count)"
    " SELECT t.series_id, t.minute_ms, min(s.value), max(s.value), sum(s.value), count(*)"
    " FROM unnest(%s::integer[], %s::bigint[]) AS t(series_id, minute_ms)"
    " JOIN samples s ON s.series_id = t.series_id AND s.ts_ms >= t.minute_ms"
    " AND s.ts_ms < t.minute_ms + 60000 GROUP BY t.series_id, t.minute_ms"
    " ON CONFLICT (series_id, minute_ms) DO UPDATE SET min = excluded.min,"
    " max = excluded.max, sum = excluded.sum, count = excluded.count"
)
_SALES_UPSERT: Final = (
    "INSERT INTO sales_daily (node_id, sku, day, units) VALUES (%s, %s, %s, %s)"
    " ON CONFLICT (node_id, sku, day) DO UPDATE SET units = sales_daily.units + excluded.units"
)
_LATEST: Final = (
    "UPDATE series s SET last_ts_ms = u.ts, last_value = u.value"
    " FROM unnest(%s::integer[], %s::bigint[], %s::float8[]) AS u(id, ts, value)"
    " WHERE s.id = u.id"
)
_STAGE: Final = (
    "CREATE TEMP TABLE IF NOT EXISTS samples_stage (series_id integer NOT NULL,"
    " ts_ms bigint NOT NULL, value double precision NOT NULL,"
    " ord bigint GENERATED ALWAYS AS IDENTITY) ON COMMIT DELETE ROWS"
)
_FROM_STAGE: Final = (
    "INSERT INTO samples (series_id, ts_ms, value)"
    " SELECT DISTINCT ON (series_id, ts_ms) series_id, ts_ms, value FROM samples_stage"
    " ORDER BY series_id, ts_ms, ord ON CONFLICT DO NOTHING"
)

# Binary COPY (PostgreSQL docs, "COPY", Binary Format): a signature, flags and header
# extension length, then per row a field count and each field's length and big-endian value,
# then -1 as the trailer.
_COPY_HEADER: Final = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_COPY_TRAILER: Final = b"\xff\xff"
_SAMPLE_COLUMNS: Final = np.dtype([("series_id", "<i8"), ("ts_ms", "<i8"), ("value", "<f8")])
_COPY_ROW: Final = np.dtype(
    [
        ("fields", ">i2"),
        ("series_len", ">i4"),
        ("series_id", ">i4"),
        ("ts_len", ">i4"),
        ("ts_ms", ">i8"),
        ("value_len", ">i4"),
        ("value", ">f8"),
    ]
)

JobFacts = Callable[[WriteBatch], None]
Connection = psycopg.Connection[tuple[Any, ...]]


def describe_url(url: str) -> str:
    """`url` without its password, for messages (`postgresql://user@host:port/db`)."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.Error:
        return "(an unparsable database URL)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    host = parts.get("host") or "localhost"
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{host}{port}/{parts.get('dbname') or ''}"


def _usable(conn: Connection) -> bool:
    """Whether a reader given back may be reused: open, its link up, no query half read."""
    return (
        not conn.closed
        and not conn.broken
        and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    )


def _close(conn: Connection) -> None:
    conn.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "; ".join(lines[:2]) if lines else type(exc).__name__


def apply_migrations(
    conn: Connection, migrations: Sequence[PgMigration], *, migration_set: str = MIGRATION_SET
) -> list[str]:
    """Apply every pending migration in one transaction; the names applied. A failure
    rolls everything back (PostgreSQL's DDL is transactional) and raises `StoreError`."""
    applied: list[str] = []
    current = ""
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS flexfleet_migrations (migration_set text NOT NULL,"
                " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),"
                " PRIMARY KEY (migration_set, name))"
            )
            done = {
                row[0]
                for row in conn.execute(
                    "SELECT name FROM flexfleet_migrations WHERE migration_set = %s",
                    (migration_set,),
                )
            }
            for migration in migrations:
                if migration.name in done:
                    continue
                current = migration.name
                for statement in migration.statements:
                    conn.execute(statement)  # constant DDL
                conn.execute(
                    "INSERT INTO flexfleet_migrations (migration_set, name) VALUES (%s, %s)",
                    (migration_set, migration.name),
                )
                applied.append(migration.name)
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(
            f"PostgreSQL migration {current or '(check)'} failed: {_first_line(exc)}",
            operation="migrate",
        ) from exc
    except psycopg.Error as exc:
        raise StoreError(
            f"PostgreSQL migration {current} failed, nothing was changed: {_first_line(exc)}",
            operation="migrate",
        ) from exc
    return applied


class PostgresStore:
    """`Store` on a PostgreSQL database; `commit` must be called from one thread at a time."""

    def __init__(
        self,
        url: str,
        *,
        job_facts: JobFacts | None = None,
        migrations: Sequence[PgMigration] = PG_MIGRATIONS,
        connect_timeout_s: float = 5.0,
        readers: int = 8,
    ) -> None:
        self.url = url
        self.where = describe_url(url)
        self._timeout = max(1, round(connect_timeout_s))
        self._job_facts = job_facts
        self._closed = False
        self._write_lock = threading.Lock()
        self._readers = BoundedPool(
            lambda: self._connect("read"), size=readers, usable=_usable, close=_close
        )
        self._node_ids: dict[tuple[str, str], int] = {}
        self._series: dict[int, dict[str, int]] = {}
        self._days: set[int] = set()
        self._writer: Connection | None = self._connect("open")
        try:
            apply_migrations(self._writer, migrations)
        except BaseException:
            self._writer.close()
            raise
        self._stale = True

    # -- connections ----------------------------------------------------------------------

    def _connect(self, operation: str) -> Connection:
        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=self._timeout)
        except psycopg.ProgrammingError as exc:  # a URL libpq cannot parse
            raise StoreError(
                f"invalid database URL: {_first_line(exc)}", operation=operation
            ) from exc
        except psycopg.Error as exc:
            raise StoreUnavailable(
                f"cannot connect to PostgreSQL at {self.where}: {_first_line(exc)}",
                operation=operation,
            ) from exc

    def _writer_conn(self) -> Connection:
        """The writer connection, opened again if it was lost (caches reloaded then)."""
        if self._closed:
            raise StoreError("the store is closed", operation="commit")
        conn = self._writer
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                conn.close()
            self._writer = None
            conn = self._writer = self._connect("reconnect")
            self._stale = True
        if self._stale:
            self._load_caches(conn)
            self._stale = False
        return conn

    @contextmanager
    def _translated(self, operation: str) -> Iterator[None]:
        """psycopg errors out as `StoreUnavailable` (connection, disk, lock: may pass) or
        `StoreError` (anything else)."""
        try:
            yield
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(
                f"PostgreSQL {operation} failed ({self.where}): {_first_line(exc)}",
                operation=operation,
            ) from exc
        except psycopg.Error as exc:
            raise StoreError(
                f"PostgreSQL {operation} failed: {_first_line(exc)}", operation=operation
            ) from exc

    def ping(self) -> None:
        """`SELECT 1` on a reader (one found lost is replaced)."""
        with self._reading("ping") as conn:
            conn.execute("SELECT 1").fetchone()

    # -- write path -----------------------------------------------------------------------

    def commit(self, batch: WriteBatch) -> CommitResult:
        """Write one batch atomically; see the module docstring for the steps."""
        with self._write_lock:
            if self._job_facts is not None:
                self._job_facts(batch)
            with self._translated("commit"):
                conn = self._writer_conn()
                try:
                    with conn.transaction():
                        return self._write(conn, batch)
                except BaseException:
                    self._stale = True  # ids and partitions made in the rolled-back transaction
                    raise

    def _write(self, conn: Connection, batch: WriteBatch) -> CommitResult:
        cur = conn.cursor()
        if batch.nodes:
            cur.executemany(_UPSERT_NODE, [node_row(r) for r in batch.nodes])
        keys = [(self._node_id(cur, a.message.site, a.message.node), a) for a in batch.accepted]
        new_keys = self._insert_keys(cur, keys)
        new = already = 0
        samples: list[tuple[int, int, float]] = []
        events: list[tuple[Any, ...]] = []
        changes: list[tuple[Any, ...]] = []
        sales: dict[tuple[int, str, int], int] = {}
        for node_id, accepted in keys:
            m = accepted.message
            key = (node_id, m.bd_seq, m.seq)
            if key not in new_keys:
                already += 1
                continue
            new_keys.discard(key)  # the same key twice in one batch: the second is a repeat
            new += 1
            if isinstance(m, Telemetry):
                ids = self._series.setdefault(node_id, {})
                for name, ts, value in m.samples:
                    sid = ids.get(name) or self._new_series(cur, node_id, name)
                    samples.append((sid, ts, value))
            elif isinstance(m, Event):
                events.append(event_row(node_id, m))
            elif isinstance(m, Stock):
                changes.extend(
                    (node_id, m.seq, m.ts, m.mode, m.reason, sku, qty)
                    for sku, qty in m.items.items()
                )
                for sku, day, units in sales_of(m):
                    sales[(node_id, sku, day)] = sales.get((node_id, sku, day), 0) + units
            elif isinstance(m, Birth):
                ids = self._series.setdefault(node_id, {})
                for spec in m.signals:
                    if spec.name not in ids:
                        self._new_series(cur, node_id, spec.name)
        written = self._write_samples(cur, samples, batch, exact=already == 0) if samples else 0
        if events:
            cur.executemany(
                "INSERT INTO events (node_id, seq, ts_ms, name, severity, state, signal,"
                " detector, score, reason, data, historical)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                events,
            )
        if changes:
            cur.executemany(
                "INSERT INTO stock_changes (node_id, seq, ts_ms, mode, reason, sku, qty)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                changes,
            )
        if sales:
            cur.executemany(_SALES_UPSERT, [(*key, units) for key, units in sales.items()])
        if batch.latest:
            self._write_latest(cur, batch)
        for levels in batch.stock:
            self._replace_stock(cur, levels, batch)
        if batch.dead_letters:
            cur.executemany(
                "INSERT INTO dead_letters (received_ms, topic, reason, error, payload_size,"
                " payload_prefix) VALUES (%s, %s, %s, %s, %s, %s)",
                [
                    (d.received_ms, d.topic, d.reason, d.error, d.payload_size, d.payload_prefix)
                    for d in batch.dead_letters
                ],
            )
        return CommitResult(new, already, written, len(batch.dead_letters))

    def _insert_keys(
        self, cur: psycopg.Cursor[tuple[Any, ...]], keys: list[tuple[int, Any]]
    ) -> set[tuple[int, int, int]]:
        """Insert the message keys in one statement; the keys that were new."""
        if not keys:
            return set()
        columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [])
        for node_id, accepted in keys:
            m = accepted.message
            for column, value in zip(
                columns,
                (node_id, m.bd_seq, m.seq, m.kind, m.ts, int(m.historical), accepted.received_ms),
                strict=True,
            ):
                column.append(value)
        rows = cur.execute(_INSERT_KEYS, columns).fetchall()
        return {(int(a), int(b), int(c)) for a, b, c in rows}

    def _write_samples(
        self,
        cur: psycopg.Cursor[tuple[Any, ...]],
        samples: list[tuple[int, int, float]],
        batch: WriteBatch,
        *,
        exact: bool,
    ) -> int:
        """COPY the samples into their day partitions, then add the batch's rollups
        (recomputed from `samples` for the touched minutes when anything was skipped)."""
        days = self._ensure_partitions(cur, samples)
        text = copy_binary(samples)
        # One day (the usual case): straight into its partition, sparing PostgreSQL the
        # routing of each row (the partition still checks its bounds).
        target = partition_name(days[0]) if len(days) == 1 else "samples"
        try:
            # The savepoint: a conflict undoes only the COPY.
            with (
                cur.connection.transaction(),
                cur.copy(
                    f"COPY {target} (series_id, ts_ms, value) FROM STDIN (FORMAT BINARY)"
                ) as copy,
            ):
                copy.write(text)
            written = len(samples)
        except pg_errors.UniqueViolation:
            cur.execute(_STAGE)
            with cur.copy(
                "COPY samples_stage (series_id, ts_ms, value) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.write(text)
            written = cur.execute(_FROM_STAGE).rowcount
        columns: tuple[list[Any], ...] = ([], [], [], [], [], [])
        for site, node, minutes in batch.rollups:
            ids = self._series.get(self._node_id(cur, site, node), {})
            for (signal, minute), (low, high, total, count) in minutes.items():
                series_id = ids.get(signal)
                if series_id is not None:  # floats as floats: psycopg types a list by its items
                    row = (series_id, minute, float(low), float(high), float(total), int(count))
                    for column, value in zip(columns, row, strict=True):
                        column.append(value)
        if not columns[0]:
            return written
        if exact and written == len(samples):
            cur.execute(_ROLLUP_UPSERT, columns)
        else:
            cur.execute(_ROLLUP_RECOMPUTE, columns[:2])
        return written

    def _ensure_partitions(
        self, cur: psycopg.Cursor[tuple[Any, ...]], samples: list[tuple[int, int, float]]
    ) -> list[int]:
        """Create the day partitions the samples need and this store has not seen yet;
        the days the samples may fall on (every day from the first to the last, unless
        that span is wide)."""
        low = min(s[1] for s in samples) // DAY_MS
        high = max(s[1] for s in samples) // DAY_MS
        if high - low <= _DAY_SPAN_DENSE:
            days = set(range(low, high + 1))
        else:
            days = {s[1] // DAY_MS for s in samples}
        missing = sorted(days - self._days)
        if missing:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_PARTITION_LOCK,))
            for day in missing:
                cur.execute(partition_ddl(day))  # built from an int
            self._days.update(missing)
        return sorted(days)

    def _write_latest(self, cur: psycopg.Cursor[tuple[Any, ...]], batch: WriteBatch) -> None:
        columns: tuple[list[Any], ...] = ([], [], [])
        for site, node, values in batch.latest:
            node_id = self._node_id(cur, site, node)
            ids = self._series.setdefault(node_id, {})
            for signal, (ts, value) in values.items():
                columns[0].append(ids.get(signal) or self._new_series(cur, node_id, signal))
                columns[1].append(ts)
                columns[2].append(float(value))
        cur.execute(_LATEST, columns)

    def _replace_stock(
        self, cur: psycopg.Cursor[tuple[Any, ...]], levels: StockLevels, batch: WriteBatch
    ) -> None:
        node_id = self._node_id(cur, levels.site, levels.node)
        updated = max((a.received_ms for a in batch.accepted), default=0)
        cur.execute("DELETE FROM stock_levels WHERE node_id = %s", (node_id,))
        if levels.levels:
            cur.executemany(
                "INSERT INTO stock_levels (node_id, sku, qty, updated_ms) VALUES (%s, %s, %s, %s)",
                [(node_id, sku, qty, updated) for sku, qty in levels.levels.items()],
            )

    def _node_id(self, cur: psycopg.Cursor[tuple[Any, ...]], site: str, node: str) -> int:
        found = self._node_ids.get((site, node))
        if found is not None:
            return found
        row = cur.execute(
            "INSERT INTO nodes (site, node, kind, last_seq) VALUES (%s, %s, 'unknown', -1)"
            " ON CONFLICT (site, node) DO NOTHING RETURNING id",
            (site, node),
        ).fetchone()
        if row is None:
            row = cur.execute(
                "SELECT id FROM nodes WHERE site = %s AND node = %s", (site, node)
            ).fetchone()
        assert row is not None
        self._node_ids[(site, node)] = node_id = int(row[0])
        return node_id

    def _new_series(self, cur: psycopg.Cursor[tuple[Any, ...]], node_id: int, signal: str) -> int:
        row = cur.execute(
            "INSERT INTO series (node_id, signal) VALUES (%s, %s)"
            " ON CONFLICT (node_id, signal) DO NOTHING RETURNING id",
            (node_id, signal),
        ).fetchone()
        if row is None:
            row = cur.execute(
                "SELECT id FROM series WHERE node_id = %s AND signal = %s", (node_id, signal)
            ).fetchone()
        assert row is not None
        series_id = int(row[0])
        self._series.setdefault(node_id, {})[signal] = series_id
        return series_id

    def _load_caches(self, conn: Connection) -> None:
        self._node_ids = {
            (site, node): int(i)
            for i, site, node in conn.execute("SELECT id, site, node FROM nodes")
        }
        self._series = {}
        for sid, node_id, signal in conn.execute("SELECT id, node_id, signal FROM series"):
            self._series.setdefault(int(node_id), {})[signal] = int(sid)
        self._days = {day for day, _name in _partitions(conn)}

    # -- read path ------------------------------------------------------------------------

    @contextmanager
    def _reading(self, operation: str) -> Iterator[Connection]:
        """A reader from the pool (closed instead of kept if its link failed)."""
        if self._closed:
            raise StoreError("the store is closed", operation=operation)
        with self._translated(operation):
            try:
                with self._readers.connection() as conn:
                    yield conn
            except PoolBusy as exc:
                raise StoreUnavailable(
                    f"no PostgreSQL reader free at {self.where}: {exc}", operation=operation
                ) from exc

    def load_nodes(self) -> list[NodeRecord]:
        """Every persisted node record."""
        with self._reading("load nodes") as conn:
            rows = conn.execute(f"SELECT {_NODE_COLUMNS} FROM nodes").fetchall()  # noqa: S608
        return [node_record(row) for row in rows]

    def load_latest(self) -> list[tuple[str, str, str, int, float]]:
        """(site, node, signal, ts_ms, value) of each series' newest sample."""
        with self._reading("load latest") as conn:
            rows = conn.execute(
                "SELECT n.site, n.node, s.signal, s.last_ts_ms, s.last_value FROM series s"
                " JOIN nodes n ON n.id = s.node_id WHERE s.last_ts_ms IS NOT NULL"
            ).fetchall()
        return [(r[0], r[1], r[2], int(r[3]), float(r[4])) for r in rows]

    def load_stock(self) -> list[StockItem]:
        """Current stock levels."""
        with self._reading("load stock") as conn:
            rows = conn.execute(
                "SELECT n.site, n.node, l.sku, l.qty FROM stock_levels l"
                " JOIN nodes n ON n.id = l.node_id"
            ).fetchall()
        return [StockItem(site=r[0], node=r[1], sku=r[2], qty=int(r[3])) for r in rows]

    def daily_sales(self, *, since_day: int) -> list[tuple[str, str, str, int, int]]:
        """(site, node, sku, day, units) sold on each day from `since_day` on."""
        with self._reading("daily sales") as conn:
            rows = conn.execute(
                "SELECT n.site, n.node, d.sku, d.day, d.units FROM sales_daily d"
                " JOIN nodes n ON n.id = d.node_id WHERE d.day >= %s",
                (since_day,),
            ).fetchall()
        return [(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in rows]

    def hourly_sales_profile(self, *, since_ms: int) -> list[tuple[str, str, int, int]]:
        """(site, node, UTC hour of day, units) picked since `since_ms`, per shelf node."""
        with self._reading("hourly sales profile") as conn:
            rows = conn.execute(
                "SELECT n.site, n.node, (c.ts_ms / 3600000) %% 24 AS hour, -sum(c.qty) FROM nodes n"
                " JOIN stock_changes c ON c.node_id = n.id AND c.ts_ms >= %s"
                " WHERE c.mode = 'delta' AND c.qty < 0 GROUP BY n.id, n.site, n.node, hour",
                (since_ms,),
            ).fetchall()
        return [(r[0], r[1], int(r[2]), int(r[3])) for r in rows]

    def units_between(self, skus: Sequence[str], start_ms: int, end_ms: int) -> dict[str, float]:
        """Units of `skus` picked at any warehouse in `[start_ms, end_ms)` (stock deltas)."""
        with self._reading("units between") as conn:
            rows = conn.execute(
                "SELECT sku, -sum(qty) FROM stock_changes WHERE mode = 'delta' AND qty < 0"
                " AND ts_ms >= %s AND ts_ms < %s AND sku = ANY(%s) GROUP BY sku",
                (start_ms, end_ms, list(skus)[:MAX_SKUS]),
            ).fetchall()
        return {str(sku): float(units) for sku, units in rows}

    def units_on_days(self, skus: Sequence[str], first_day: int, last_day: int) -> dict[str, float]:
        """Units of `skus` sold at any warehouse on days `first_day..last_day` (inclusive)."""
        with self._reading("units on days") as conn:
            rows = conn.execute(
                "SELECT sku, sum(units) FROM sales_daily WHERE day BETWEEN %s AND %s"
                " AND sku = ANY(%s) GROUP BY sku",
                (first_day, last_day, list(skus)[:MAX_SKUS]),
            ).fetchall()
        return {str(sku): float(units) for sku, units in rows}

    def flag_samples(
        self, start_ms: int, end_ms: int, *, limit: int = 100_000
    ) -> list[tuple[int, float]]:
        """`live_stream` flag samples `(ts_ms, value)` of every node in the span."""
        with self._reading("flag samples") as conn:
            rows = conn.execute(
                "SELECT p.ts_ms, p.value FROM samples p JOIN series s ON s.id = p.series_id"
                " WHERE s.signal = 'live_stream' AND p.ts_ms BETWEEN %s AND %s"
                " ORDER BY p.ts_ms LIMIT %s",
                (start_ms, end_ms, limit),
            ).fetchall()
        return [(int(t), float(v)) for t, v in rows]

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
        """Points of one signal, raw samples or 1-minute rollups, oldest first."""
        with self._reading("telemetry query") as conn:
            row = conn.execute(
                "SELECT s.id FROM series s JOIN nodes n ON n.id = s.node_id"
                " WHERE n.site = %s AND n.node = %s AND s.signal = %s",
                (site, node, signal),
            ).fetchone()
            if row is None:
                raise NotFound("signal", f"{site}/{node}/{signal}")
            if resolution == "raw":
                rows = conn.execute(
                    "SELECT ts_ms, value FROM samples WHERE series_id = %s"
                    " AND ts_ms BETWEEN %s AND %s ORDER BY ts_ms LIMIT %s",
                    (row[0], start_ms, end_ms, limit + 1),
                ).fetchall()
                points = [Point(int(t), float(v), float(v), float(v), 1) for t, v in rows]
            else:
                rows = conn.execute(
                    "SELECT minute_ms, min, max, sum, count FROM rollup_1m WHERE series_id = %s"
                    " AND minute_ms BETWEEN %s AND %s ORDER BY minute_ms LIMIT %s",
                    (row[0], (start_ms // MINUTE_MS) * MINUTE_MS, end_ms, limit + 1),
                ).fetchall()
                points = [
                    Point(int(t), float(s) / int(c), float(lo), float(hi), int(c))
                    for t, lo, hi, s, c in rows
                ]
        return TelemetrySeries(
            site=site,
            node=node,
            signal=signal,
            resolution=resolution,
            start_ms=start_ms,
            end_ms=end_ms,
            points=tuple(points[:limit]),
            truncated=len(points) > limit,
        )

    def dead_letters(self, *, limit: int, offset: int = 0) -> list[DeadLetterRow]:
        """Dead letters, newest first."""
        with self._reading("dead letter query") as conn:
            rows = conn.execute(
                "SELECT id, received_ms, topic, reason, error, payload_size, payload_prefix"
                " FROM dead_letters ORDER BY id DESC LIMIT %s OFFSET %s",
                (limit, offset),
            ).fetchall()
        return [
            DeadLetterRow(int(r[0]), int(r[1]), r[2], r[3], r[4], int(r[5]), bytes(r[6] or b""))
            for r in rows
        ]

    def dead_letter_count(self) -> int:
        """How many dead letters are stored."""
        with self._reading("dead letter count") as conn:
            row = conn.execute("SELECT count(*) FROM dead_letters").fetchone()
        return int(row[0]) if row else 0

    def count(self, table: str) -> int:
        """Rows in one of the core tables (for tests and benchmarks)."""
        if table not in CORE_TABLES:
            raise StoreError(f"unknown table {table!r}", operation="count")
        with self._reading("count") as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
        return int(row[0]) if row else 0

    def partitions(self) -> list[str]:
        """The names of the samples partitions, oldest day first."""
        with self._reading("partitions") as conn:
            return [name for _day, name in sorted(_partitions(conn))]

    # -- maintenance ----------------------------------------------------------------------

    def apply_retention(
        self, *, raw_before_ms: int, rollup_before_ms: int, dead_letters_before_ms: int
    ) -> RetentionResult:
        """Drop the samples partitions of days wholly before `raw_before_ms` (their rows
        counted by ANALYZE: exact for small days, PostgreSQL's estimate for large ones),
        and delete old rollups and dead letters."""
        with self._write_lock, self._translated("retention"):
            conn = self._writer_conn()
            old = [(d, n) for d, n in _partitions(conn) if (d + 1) * DAY_MS <= raw_before_ms]
            samples = 0
            for _day, name in old:
                conn.execute(f"ANALYZE {name}")  # our own name
                row = conn.execute(
                    "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (name,)
                ).fetchone()
                samples += max(0, int(row[0])) if row else 0
            with conn.transaction():
                for _day, name in old:
                    conn.execute(f"DROP TABLE IF EXISTS {name}")
                rollups = conn.execute(
                    "DELETE FROM rollup_1m WHERE minute_ms < %s", (rollup_before_ms,)
                ).rowcount
                dead = conn.execute(
                    "DELETE FROM dead_letters WHERE received_ms < %s", (dead_letters_before_ms,)
                ).rowcount
            self._days.difference_update(d for d, _n in old)
        return RetentionResult(samples, rollups, dead, partitions_dropped=len(old))

    def close(self) -> None:
        """Close every connection (readers in use when they are given back)."""
        self._closed = True
        self._readers.close()
        if self._writer is not None:
            self._writer.close()


class SplitUpliftStore:
    """The stream uplift store with the core on PostgreSQL: measurements kept where the
    local stores live (`kept`, the SQLite file), measured from the core tables (`core`)."""

    def __init__(self, kept: SqliteStreamUpliftStore, core: PostgresStore) -> None:
        self._kept = kept
        self._core = core

    def put(self, measured: RealisedUplift) -> bool:
        """Keep a stream's measurement once."""
        return self._kept.put(measured)

    def get(self, stream_id: str) -> RealisedUplift | None:
        """A stream's measurement."""
        return self._kept.get(stream_id)

    def recent(self, *, limit: int = 500) -> list[RealisedUplift]:
        """The newest measurements first."""
        return self._kept.recent(limit=limit)

    def units_between(self, skus: Sequence[str], start_ms: int, end_ms: int) -> dict[str, float]:
        """Units of the SKUs picked in the span (PostgreSQL)."""
        return self._core.units_between(skus, start_ms, end_ms)

    def units_on_days(self, skus: Sequence[str], first_day: int, last_day: int) -> dict[str, float]:
        """Units of the SKUs sold on the days (PostgreSQL)."""
        return self._core.units_on_days(skus, first_day, last_day)

    def flag_samples(self, start_ms: int, end_ms: int) -> list[tuple[int, float]]:
        """`live_stream` flag samples in the span (PostgreSQL)."""
        return self._core.flag_samples(start_ms, end_ms)


def copy_binary(samples: list[tuple[int, int, float]]) -> bytes:
    """`samples` as a PostgreSQL binary COPY stream of (integer, bigint, double precision)
    rows, built column-wise with numpy rather than formatted row by row in Python."""
    columns = np.array(samples, dtype=_SAMPLE_COLUMNS)
    rows = np.empty(len(samples), dtype=_COPY_ROW)
    rows["fields"] = 3
    rows["series_len"] = 4
    rows["series_id"] = columns["series_id"]
    rows["ts_len"] = 8
    rows["ts_ms"] = columns["ts_ms"]
    rows["value_len"] = 8
    rows["value"] = columns["value"]
    body: bytes = rows.tobytes()
    return _COPY_HEADER + body + _COPY_TRAILER


def _partitions(conn: Connection) -> list[tuple[int, str]]:
    """(day, name) of every samples partition."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'samples'::regclass"
    ).fetchall()
    found = []
    for (name,) in rows:
        digits = str(name)[len("samples_d") :]
        if not digits.isdigit():
            continue
        day = int(digits) * (-1 if str(name).startswith("samples_m") else 1)
        if partition_name(day) == name:
            found.append((day, str(name)))
    return found


__all__ = ["PostgresStore", "SplitUpliftStore", "apply_migrations", "copy_binary", "describe_url"]
