"""`SqliteLateralStore` on the coordinator's SQLite file (table of migration
m013_lateral_transfers).

It shares the store's writer connection and write lock (`SqliteStore.lateral_store()`),
as `coordinator.store.live_streams` does; every method is one transaction, durable on
return.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager

from coordinator.stock.lateral import LateralTransfer
from coordinator.store.sqlite_support import locked_transaction

_SELECT = (
    "SELECT id, seq, sku, source, destination, node, qty, created_ms, why, received"
    " FROM lateral_transfers"
)
_INSERT = (
    "INSERT OR IGNORE INTO lateral_transfers (id, seq, sku, source, destination, node, qty,"
    " created_ms, why, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"
)


class SqliteLateralStore:
    """Durable lateral transfers; thread-safe (every call holds the store's write lock)."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock) -> None:
        self._conn = conn
        self._lock = lock

    def _transaction(self, operation: str) -> AbstractContextManager[sqlite3.Connection]:
        return locked_transaction(self._conn, self._lock, operation, store="lateral transfers")

    def add(self, transfers: Sequence[LateralTransfer]) -> None:
        """Store new open transfers (an id stored before is left as it is)."""
        with self._transaction("add") as conn:
            conn.executemany(
                _INSERT,
                [
                    (
                        t.id,
                        t.seq,
                        t.sku,
                        t.source,
                        t.destination,
                        t.node,
                        t.qty,
                        t.created_ms,
                        t.why,
                    )
                    for t in transfers
                ],
            )

    def close(self, done: Sequence[LateralTransfer], *, at_ms: int) -> list[str]:
        """Record the units received of open transfers; the ids that were still open."""
        closed: list[str] = []
        with self._transaction("close") as conn:
            for t in done:
                cursor = conn.execute(
                    "UPDATE lateral_transfers SET received = ?, received_ms = ?"
                    " WHERE id = ? AND received IS NULL",
                    (t.received or 0, at_ms, t.id),
                )
                if cursor.rowcount:
                    closed.append(t.id)
        return closed

    def open(self) -> list[LateralTransfer]:
        """The transfers not received yet, in the order they were made."""
        with self._transaction("open") as conn:
            rows = conn.execute(_SELECT + " WHERE received IS NULL ORDER BY seq").fetchall()
        return [_transfer(row) for row in rows]

    def get(self, transfer_id: str) -> LateralTransfer | None:
        """The transfer with this id, open or received."""
        with self._transaction("get") as conn:
            row = conn.execute(_SELECT + " WHERE id = ?", (transfer_id,)).fetchone()
        return None if row is None else _transfer(row)

    def last_seq(self) -> int:
        """The highest sequence number ever given (0 before the first)."""
        with self._transaction("last_seq") as conn:
            row = conn.execute("SELECT MAX(seq) FROM lateral_transfers").fetchone()
        return int(row[0] or 0)


def _transfer(row: tuple[object, ...]) -> LateralTransfer:
    tid, seq, sku, source, destination, node, qty, created, why, received = row
    return LateralTransfer(
        id=str(tid),
        seq=int(str(seq)),
        sku=str(sku),
        source=str(source),
        destination=str(destination),
        node=str(node),
        qty=int(str(qty)),
        created_ms=int(str(created)),
        why=str(why),
        received=None if received is None else int(str(received)),
    )


__all__ = ["SqliteLateralStore"]
