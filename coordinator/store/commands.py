"""`CommandStore` on the coordinator's SQLite file (table `commands`, migration m007).

Like `SqlitePlanState` it shares the store's writer connection and write lock
(`SqliteStore.command_store()`), so each write is one `BEGIN IMMEDIATE` transaction,
durable when the method returns; reads go through the store's per-thread readers, so the
API never waits for an ingest commit.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final, cast

from coordinator.commands.port import Update
from coordinator.commands.tracking import CommandState, TrackedCommand
from coordinator.store.sqlite_support import translated

_COLUMNS: Final = "cmd_id, site, node, name, args, sent_ms, state, reason, answered_ms"


class SqliteCommandStore:
    """Tracked commands in SQLite; thread-safe."""

    def __init__(
        self,
        writer: sqlite3.Connection,
        lock: threading.Lock,
        reader: Callable[[], sqlite3.Connection],
    ) -> None:
        self._writer = writer
        self._lock = lock
        self._reader = reader

    @contextmanager
    def _transaction(self, operation: str) -> Iterator[sqlite3.Connection]:
        with self._lock, translated(operation, store="commands"):
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
                self._writer.execute("COMMIT")
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise

    def insert(self, command: TrackedCommand) -> None:
        """Record a new command."""
        with self._transaction("insert") as conn:
            conn.execute(
                f"INSERT INTO commands ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608 - constant columns
                _row(command),
            )

    def get(self, cmd_id: str) -> TrackedCommand | None:
        """The command with this id, if recorded."""
        with translated("get", store="commands"):
            row = (
                self._reader()
                .execute(f"SELECT {_COLUMNS} FROM commands WHERE cmd_id = ?", (cmd_id,))  # noqa: S608
                .fetchone()
            )
        return None if row is None else _command(row)

    def save(self, updates: Sequence[Update]) -> int:
        """Apply each update whose command is still in the given state (one transaction)."""
        if not updates:
            return 0
        applied = 0
        with self._transaction("save") as conn:
            for command, previous in updates:
                applied += conn.execute(
                    "UPDATE commands SET state = ?, reason = ?, answered_ms = ?"
                    " WHERE cmd_id = ? AND state = ?",
                    (command.state, command.reason, command.answered_ms, command.cmd_id, previous),
                ).rowcount
        return applied

    def unanswered_before(self, cutoff_ms: int, *, limit: int) -> list[TrackedCommand]:
        """Commands still `sent`, sent at or before `cutoff_ms`, oldest first."""
        with translated("unanswered", store="commands"):
            rows = (
                self._reader()
                .execute(
                    f"SELECT {_COLUMNS} FROM commands WHERE state = 'sent' AND sent_ms <= ?"  # noqa: S608
                    " ORDER BY sent_ms LIMIT ?",
                    (cutoff_ms, limit),
                )
                .fetchall()
            )
        return [_command(r) for r in rows]

    def query(
        self, *, site: str | None, node: str | None, state: CommandState | None, limit: int
    ) -> list[TrackedCommand]:
        """Commands matching the filters (None: any), newest first."""
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("site", site), ("node", node), ("state", state)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with translated("query", store="commands"):
            rows = (
                self._reader()
                .execute(
                    f"SELECT {_COLUMNS} FROM commands{clause} ORDER BY id DESC LIMIT ?",  # noqa: S608 - constant columns and clauses
                    (*params, limit),
                )
                .fetchall()
            )
        return [_command(r) for r in rows]

    def purge(self, *, before_ms: int, keep_rows: int) -> int:
        """Delete commands sent before `before_ms`, then the oldest beyond `keep_rows`."""
        with self._transaction("purge") as conn:
            removed = conn.execute("DELETE FROM commands WHERE sent_ms < ?", (before_ms,)).rowcount
            removed += conn.execute(
                "DELETE FROM commands WHERE id <= (SELECT id FROM commands ORDER BY id DESC"
                " LIMIT 1 OFFSET ?)",
                (keep_rows,),
            ).rowcount
        return removed

    def count(self) -> int:
        """How many commands are recorded."""
        with translated("count", store="commands"):
            return int(self._reader().execute("SELECT count(*) FROM commands").fetchone()[0])


def _row(c: TrackedCommand) -> tuple[Any, ...]:
    return (c.cmd_id, c.site, c.node, c.name, c.args, c.sent_ms, c.state, c.reason, c.answered_ms)


def _command(row: tuple[Any, ...]) -> TrackedCommand:
    return TrackedCommand(
        cmd_id=row[0],
        site=row[1],
        node=row[2],
        name=row[3],
        args=row[4],
        sent_ms=int(row[5]),
        state=cast(CommandState, row[6]),
        reason=row[7] or "",
        answered_ms=None if row[8] is None else int(row[8]),
    )


__all__ = ["SqliteCommandStore"]
