"""Job progress on the coordinator's SQLite file (tables of migration m009).

`write_reports`, `write_receipts` and `write_fleet_inbox` run inside the ingest commit (`SqliteStore.commit`), so a batch's
counts are stored with its messages or not at all: a coordinator killed mid-batch loses
nothing the broker will not redeliver, and a redelivered report changes nothing, as
counts only grow (`coordinator.jobs.progress.advance_operation`) and a receipt is kept
once per transfer and SKU (the first one; a replay is ignored).

`SqliteJobStore` shares the store's writer connection and lock (`SqliteStore.job_store()`):
it registers the jobs the planner takes (`track`), answers the job views and records what
the planner was told of a finished or short job (`settle`); it lists the fleet facts not
acted on yet (`fleet_inbox`) and takes them out once they were (`take_from_inbox`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Final

from coordinator.jobs.facts import FleetFact, OperationReport, Receipt
from coordinator.jobs.progress import (
    JobProgress,
    JobState,
    OperationProgress,
    TrackedJob,
    advance_operation,
    job_progress,
)
from coordinator.store.sqlite_support import locked_transaction

__all__ = ["SqliteJobStore", "write_fleet_inbox", "write_receipts", "write_reports"]

_OPERATION_COLUMNS: Final = (
    "operation_id, job_id, machine, state, good, scrap, started_ms, updated_ms, finished_ms"
)
_JOB_COLUMNS: Final = "id, quantity, operations, sku, tracked_ms"
# Statements built from the constant column lists above (no outside text enters them).
_SELECT_OPERATIONS: Final = f"SELECT {_OPERATION_COLUMNS} FROM job_operations"  # noqa: S608
_SAVE_OPERATION: Final = (
    f"INSERT OR REPLACE INTO job_operations ({_OPERATION_COLUMNS}) VALUES ({', '.join('?' * 9)})"  # noqa: S608
)
_RECEIVED: Final = "SELECT transfer_id, sum(quantity) FROM transfer_receipts WHERE transfer_id IN"
_SELECT_JOBS: Final = f"SELECT {_JOB_COLUMNS} FROM jobs"  # noqa: S608
_SELECT_OPEN_OPERATIONS: Final = (
    f"SELECT {_OPERATION_COLUMNS} FROM job_operations"  # noqa: S608
    " WHERE job_id IN (SELECT id FROM jobs WHERE settled_ms IS NULL)"
)


def _operation(row: Sequence[Any]) -> OperationProgress:
    return OperationProgress(*row)


def write_reports(conn: sqlite3.Connection, reports: Sequence[OperationReport]) -> set[str]:
    """Fold `reports` into the stored operations and refresh their tracked jobs (call
    inside the caller's transaction); the ids of the jobs touched."""
    if not reports:
        return set()
    ids = sorted({r.operation_id for r in reports})
    current: dict[str, OperationProgress] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(f"{_SELECT_OPERATIONS} WHERE operation_id IN ({marks})", chunk)
        current.update((row[0], _operation(row)) for row in rows)
    for report in reports:
        current[report.operation_id] = advance_operation(current.get(report.operation_id), report)
    conn.executemany(
        _SAVE_OPERATION,
        [
            (
                o.operation_id,
                o.job_id,
                o.machine,
                o.state,
                o.good,
                o.scrap,
                o.started_ms,
                o.updated_ms,
                o.finished_ms,
            )
            for o in current.values()
        ],
    )
    touched = {r.job_id for r in reports}
    _refresh(conn, touched)
    return touched


def write_receipts(conn: sqlite3.Connection, receipts: Sequence[Receipt]) -> None:
    """Keep each receipt not kept yet for its transfer and SKU (call inside the caller's
    transaction)."""
    conn.executemany(
        "INSERT OR IGNORE INTO transfer_receipts (transfer_id, sku, site, node, quantity, ts_ms)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(r.transfer_id, r.sku, r.site, r.node, r.quantity, r.ts_ms) for r in receipts],
    )


def write_fleet_inbox(conn: sqlite3.Connection, facts: Sequence[FleetFact], at_ms: int) -> None:
    """Put the batch's fleet facts in the inbox (call inside the caller's transaction)."""
    conn.executemany(
        "INSERT OR IGNORE INTO fleet_inbox (site, node, name, ref, at_ms) VALUES (?, ?, ?, ?, ?)",
        [(f.site, f.node, f.name, f.ref, at_ms) for f in facts],
    )


def _refresh(conn: sqlite3.Connection, job_ids: Iterable[str]) -> None:
    """Recompute the derived columns of the tracked jobs among `job_ids`."""
    for job_id in job_ids:
        job = _tracked(conn, job_id)
        if job is None:
            continue
        progress = job_progress(job, _operations_of(conn, job_id))
        conn.execute(
            "UPDATE jobs SET state = ?, good = ?, scrap = ?, started_ms = ?,"
            " finished_ms = coalesce(finished_ms, ?) WHERE id = ?",
            (
                progress.state,
                progress.good,
                progress.scrap,
                progress.started_ms,
                progress.finished_ms,
                job_id,
            ),
        )


def _tracked(conn: sqlite3.Connection, job_id: str) -> TrackedJob | None:
    row = conn.execute(f"{_SELECT_JOBS} WHERE id = ?", (job_id,)).fetchone()
    return None if row is None else TrackedJob(*row)


def _operations_of(conn: sqlite3.Connection, job_id: str) -> list[OperationProgress]:
    rows = conn.execute(f"{_SELECT_OPERATIONS} WHERE job_id = ?", (job_id,))
    return [_operation(row) for row in rows]


class SqliteJobStore:
    """Tracked jobs and their progress; thread-safe (every call holds the store's write lock)."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock) -> None:
        self._conn = conn
        self._lock = lock

    def _transaction(
        self, operation: str, *, write: bool = True
    ) -> AbstractContextManager[sqlite3.Connection]:
        return locked_transaction(self._conn, self._lock, operation, store="job store", write=write)

    def track(self, jobs: Iterable[TrackedJob]) -> None:
        """Follow these jobs (a job already followed keeps its record; reports that came
        before are counted at once)."""
        batch = list(jobs)
        if not batch:
            return
        with self._transaction("track") as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO jobs (id, quantity, operations, sku, tracked_ms, state,"
                " good, scrap) VALUES (?, ?, ?, ?, ?, 'planned', 0, 0)",
                [(j.job_id, j.quantity, j.operations, j.sku, j.tracked_ms) for j in batch],
            )
            _refresh(conn, [j.job_id for j in batch])

    def job(self, job_id: str) -> JobProgress | None:
        """One followed job's progress (None if it is not followed)."""
        with self._transaction("job", write=False) as conn:
            job = _tracked(conn, job_id)
            return None if job is None else job_progress(job, _operations_of(conn, job_id))

    def jobs(
        self, *, state: JobState | None = None, limit: int = 1000, after: str = ""
    ) -> list[JobProgress]:
        """Followed jobs by id (those in `state`; ids after `after`), at most `limit`."""
        sql = f"{_SELECT_JOBS} WHERE id > ?"
        args: list[Any] = [after]
        if state is not None:
            sql += " AND state = ?"
            args.append(state)
        sql += " ORDER BY id LIMIT ?"
        args.append(limit)
        with self._transaction("jobs", write=False) as conn:
            tracked = [TrackedJob(*row) for row in conn.execute(sql, args)]
            return [job_progress(j, _operations_of(conn, j.job_id)) for j in tracked]

    def unsettled(self) -> list[JobProgress]:
        """Finished or short jobs the planner has not been told of yet."""
        with self._transaction("unsettled", write=False) as conn:
            rows = conn.execute(
                f"{_SELECT_JOBS} WHERE state IN ('finished', 'short') AND settled_ms IS NULL"
                " ORDER BY id"
            ).fetchall()
            tracked = [TrackedJob(*row) for row in rows]
            return [job_progress(j, _operations_of(conn, j.job_id)) for j in tracked]

    def settle(self, job_id: str, *, at_ms: int, remake_id: str | None = None) -> None:
        """Record that the planner closed a finished or short job (and its re-make's id)."""
        with self._transaction("settle") as conn:
            conn.execute(
                "UPDATE jobs SET settled_ms = ?, remake_id = ? WHERE id = ? AND settled_ms IS NULL",
                (at_ms, remake_id, job_id),
            )

    def remake_of(self, job_id: str) -> str | None:
        """The id of the re-make made for a short job, if any."""
        with self._transaction("remake_of", write=False) as conn:
            row = conn.execute("SELECT remake_id FROM jobs WHERE id = ?", (job_id,)).fetchone()
            return None if row is None else row[0]

    def received(self, transfer_ids: Iterable[str]) -> dict[str, int]:
        """Units received so far against each of these transfers (those with a receipt)."""
        ids = sorted(set(transfer_ids))
        out: dict[str, int] = {}
        with self._transaction("received", write=False) as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(f"{_RECEIVED} ({marks}) GROUP BY transfer_id", chunk)
                out.update((row[0], int(row[1])) for row in rows)
        return out

    def fleet_inbox(self, *, limit: int = 100_000) -> list[FleetFact]:
        """The fleet facts committed and not acted on yet, oldest first (at most `limit`)."""
        with self._transaction("fleet_inbox", write=False) as conn:
            rows = conn.execute(
                "SELECT site, node, name, ref FROM fleet_inbox ORDER BY at_ms, site, node, ref"
                " LIMIT ?",
                (limit,),
            )
            return [FleetFact(*row) for row in rows]

    def take_from_inbox(self, facts: Iterable[FleetFact]) -> None:
        """Take these facts out of the inbox: the sales book and the planner acted on them."""
        rows = [(f.site, f.node, f.name, f.ref) for f in facts]
        if not rows:
            return
        with self._transaction("take_from_inbox") as conn:
            conn.executemany(
                "DELETE FROM fleet_inbox WHERE site = ? AND node = ? AND name = ? AND ref = ?",
                rows,
            )

    def done_batches(
        self, machine: str, sku: str, *, since_ms: int, until_ms: int
    ) -> list[tuple[int, int]]:
        """(good, scrap) of every operation of a `sku` job that `machine` finished within
        [since_ms, until_ms]."""
        with self._transaction("done_batches", write=False) as conn:
            rows = conn.execute(
                "SELECT o.good, o.scrap FROM job_operations AS o JOIN jobs AS j"
                " ON j.id = o.job_id WHERE o.machine = ? AND o.state = 'done'"
                " AND o.finished_ms BETWEEN ? AND ? AND j.sku = ?",
                (machine, since_ms, until_ms, sku),
            )
            return [(int(good), int(scrap)) for good, scrap in rows]

    def open_operations(self) -> dict[str, OperationProgress]:
        """The reported operations of followed jobs not settled yet, by operation id."""
        with self._transaction("open_operations", write=False) as conn:
            rows = conn.execute(_SELECT_OPEN_OPERATIONS)
            return {row[0]: _operation(row) for row in rows}
