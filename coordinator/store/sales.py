"""`SalesStore` on the coordinator's SQLite file (tables of migrations m009_sales_orders and
m014_sales_revisions).

It shares the store's writer connection and write lock (`SqliteStore.sales_store()`), as
`coordinator.store.plan_state` does; every write is one transaction, durable on return.
Reads go through the store's per-thread reader connections (WAL: they see every committed
write and never wait for the writer), so looking an order up never queues behind an fsync.
Webhook events are written in the transaction that records their transition, so a
transition is never stored without its push, nor pushed without being stored.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Final

import orjson

from coordinator.sales.lifecycle import Standing, Status, Transition
from coordinator.sales.records import (
    Hold,
    NewOrder,
    OrderAdvance,
    SalesOrder,
    WebhookEvent,
    event_body,
)
from coordinator.sales.summary import OrderOutcome
from coordinator.store.sqlite_support import locked_transaction, translated

__all__ = ["SqliteSalesStore"]

_ORDER_COLUMNS: Final = "id, customer, body, status, delayed_from, promise, created_ms, updated_ms"


class SqliteSalesStore:
    """Durable sales orders; thread-safe (every write holds the store's write lock)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        lock: threading.Lock,
        reader: Callable[[], sqlite3.Connection],
    ) -> None:
        self._conn = conn
        self._lock = lock
        self._reader = reader

    @contextmanager
    def _read(self, operation: str) -> Iterator[sqlite3.Connection]:
        with translated(operation, store="sales"):
            yield self._reader()

    def _transaction(self, operation: str) -> AbstractContextManager[sqlite3.Connection]:
        return locked_transaction(self._conn, self._lock, operation, store="sales")

    def save_network(self, body: str, *, at_ms: int) -> None:
        with self._transaction("save_network") as conn:
            conn.execute(
                "INSERT OR REPLACE INTO sales_network (id, body, updated_ms) VALUES (1, ?, ?)",
                (body, at_ms),
            )

    def load_network(self) -> str | None:
        with self._read("load_network") as conn:
            row = conn.execute("SELECT body FROM sales_network WHERE id = 1").fetchone()
        return None if row is None else str(row[0])

    def find(self, order_id: str) -> SalesOrder | None:
        with self._read("find") as conn:
            row = conn.execute(
                f"SELECT {_ORDER_COLUMNS} FROM sales_orders WHERE id = ?",  # noqa: S608
                (order_id,),
            ).fetchone()
        return None if row is None else _order(row)

    def find_by_token(self, token_hash: str) -> SalesOrder | None:
        with self._read("find_by_token") as conn:
            row = conn.execute(
                f"SELECT {_ORDER_COLUMNS} FROM sales_orders WHERE token_hash = ?",  # noqa: S608
                (token_hash,),
            ).fetchone()
        return None if row is None else _order(row)

    def create_all(self, orders: Sequence[NewOrder]) -> None:
        with self._transaction("create") as conn:
            conn.executemany(
                "INSERT INTO sales_orders (id, customer, body, status, delayed_from, promise,"
                " token_hash, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        n.order.id,
                        n.order.customer,
                        n.order.body,
                        n.order.standing.status,
                        n.order.standing.delayed_from,
                        orjson.dumps(n.order.promise).decode(),
                        n.token_hash,
                        n.order.created_ms,
                        n.order.updated_ms,
                    )
                    for n in orders
                ],
            )
            conn.executemany(
                "INSERT INTO sales_holds (order_id, kind, place, sku, amount, from_reserve)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (n.order.id, h.kind, h.place, h.sku, h.amount, int(h.from_reserve))
                    for n in orders
                    for h in n.holds
                ],
            )
            for n in orders:
                _append(conn, n.order, n.transitions, first=True)

    def advance(
        self,
        order_id: str,
        standing: Standing,
        transitions: Sequence[Transition],
        *,
        at_ms: int,
        release_holds: bool = False,
    ) -> None:
        self.advance_all(
            [OrderAdvance(order_id, standing, tuple(transitions), at_ms, release_holds)]
        )

    def advance_all(self, changes: Sequence[OrderAdvance]) -> None:
        if not changes:
            return
        with self._transaction("advance") as conn:
            for change in changes:
                standing = change.standing
                conn.execute(
                    "UPDATE sales_orders SET status = ?, delayed_from = ?, updated_ms = ?"
                    " WHERE id = ?",
                    (standing.status, standing.delayed_from, change.at_ms, change.order_id),
                )
                if change.release_holds:
                    conn.execute(
                        "UPDATE sales_holds SET released_ms = ? WHERE order_id = ?"
                        " AND released_ms IS NULL",
                        (change.at_ms, change.order_id),
                    )
                row = conn.execute(
                    f"SELECT {_ORDER_COLUMNS} FROM sales_orders WHERE id = ?",  # noqa: S608
                    (change.order_id,),
                ).fetchone()
                _append(conn, _order(row), change.transitions)

    def list_orders(self, *, status: str | None, limit: int, after: str | None) -> list[SalesOrder]:
        clauses, params = [], []
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if after is not None:
            clauses.append("id > ?")
            params.append(after)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._read("list") as conn:
            rows = conn.execute(
                f"SELECT {_ORDER_COLUMNS} FROM sales_orders {where} ORDER BY id LIMIT ?",  # noqa: S608
                (*params, limit),
            ).fetchall()
        return [_order(r) for r in rows]

    def save_revisions(self, revisions: Sequence[tuple[str, str, int]]) -> None:
        if not revisions:
            return
        with self._transaction("save_revisions") as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO sales_revisions (order_id, body, updated_ms)"
                " VALUES (?, ?, ?)",
                revisions,
            )

    def load_revision(self, order_id: str) -> str | None:
        with self._read("load_revision") as conn:
            row = conn.execute(
                "SELECT body FROM sales_revisions WHERE order_id = ?", (order_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    def transitions(self, order_id: str) -> list[Transition]:
        with self._read("transitions") as conn:
            rows = conn.execute(
                "SELECT status, at_ms, cause, actor, reason FROM sales_events"
                " WHERE order_id = ? ORDER BY seq",
                (order_id,),
            ).fetchall()
        return [Transition(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def outcomes(self) -> list[OrderOutcome]:
        with self._read("outcomes") as conn:
            rows = conn.execute(
                "SELECT o.status, o.created_ms, json_extract(o.promise, '$.promised_ms'),"
                " (SELECT min(e.at_ms) FROM sales_events e"
                "  WHERE e.order_id = o.id AND e.status = 'delivered')"
                " FROM sales_orders o"
            ).fetchall()
        return [OrderOutcome(r[0], r[1], r[2], r[3]) for r in rows]

    def open_holds(self) -> list[tuple[str, Hold]]:
        with self._read("open_holds") as conn:
            rows = conn.execute(
                "SELECT order_id, kind, place, sku, amount, from_reserve FROM sales_holds"
                " WHERE released_ms IS NULL"
            ).fetchall()
        return [(r[0], Hold(r[1], r[2], r[3], r[4], bool(r[5]))) for r in rows]

    def due_webhooks(self, *, now_ms: int, limit: int) -> list[WebhookEvent]:
        with self._read("due_webhooks") as conn:
            rows = conn.execute(
                "SELECT w.order_id, w.seq, w.url, w.body, w.attempts, w.next_ms"
                " FROM sales_webhooks w WHERE w.delivered_ms IS NULL AND w.next_ms <= ?"
                " AND w.seq = (SELECT min(seq) FROM sales_webhooks f"
                "  WHERE f.order_id = w.order_id AND f.delivered_ms IS NULL)"
                " ORDER BY w.next_ms LIMIT ?",
                (now_ms, limit),
            ).fetchall()
        return [WebhookEvent(r[0], r[1], r[2], bytes(r[3]), r[4], r[5]) for r in rows]

    def webhook_done(self, order_id: str, seq: int, *, at_ms: int) -> None:
        with self._transaction("webhook_done") as conn:
            conn.execute(
                "UPDATE sales_webhooks SET delivered_ms = ? WHERE order_id = ? AND seq = ?",
                (at_ms, order_id, seq),
            )

    def webhook_retry(
        self, order_id: str, seq: int, *, attempts: int, next_ms: int, error: str
    ) -> None:
        with self._transaction("webhook_retry") as conn:
            conn.execute(
                "UPDATE sales_webhooks SET attempts = ?, next_ms = ?, last_error = ?"
                " WHERE order_id = ? AND seq = ?",
                (attempts, next_ms, error[:500], order_id, seq),
            )


def _order(row: Any) -> SalesOrder:
    body = orjson.loads(row[2])
    status: Status = row[3]
    return SalesOrder(
        id=row[0],
        customer=row[1],
        body=row[2],
        standing=Standing(status, row[4]),
        promise=orjson.loads(row[5]),
        created_ms=row[6],
        updated_ms=row[7],
        webhook_url=body.get("webhook_url"),
    )


def _append(
    conn: sqlite3.Connection,
    order: SalesOrder,
    transitions: Sequence[Transition],
    *,
    first: bool = False,
) -> None:
    """Store the order's transitions after its last one (`first`: it has none yet)."""
    last = 0
    if not first:
        (last,) = conn.execute(
            "SELECT coalesce(max(seq), 0) FROM sales_events WHERE order_id = ?", (order.id,)
        ).fetchone()
    for offset, change in enumerate(transitions, start=1):
        seq = last + offset
        conn.execute(
            "INSERT INTO sales_events (order_id, seq, status, at_ms, cause, actor, reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (order.id, seq, change.status, change.at_ms, change.cause, change.actor, change.reason),
        )
        if order.webhook_url:
            conn.execute(
                "INSERT INTO sales_webhooks (order_id, seq, url, body, next_ms)"
                " VALUES (?, ?, ?, ?, ?)",
                (order.id, seq, order.webhook_url, event_body(order, seq, change), change.at_ms),
            )
