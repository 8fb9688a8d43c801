"""`PlanState` on the coordinator's SQLite file (tables of migrations m003 to m006, m008,
m019 and m021).

It shares the store's writer connection and write lock (`SqliteStore.plan_state()`), so
it opens nothing and closes with the store. Every write is one `BEGIN IMMEDIATE`
transaction, durable when the method returns (the store's `synchronous` mode, FULL by
default). Orders are kept as the operator sent them (`coordinator.plan.orders.specs`), plans
as `coordinator.plan.snapshot` writes them.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Final, Literal

import orjson

from coordinator.plan.orders.replenishment import Replenishment
from coordinator.plan.orders.specs import (
    ChangeoverSpec,
    DeliveryOrder,
    DepotSpec,
    JobOrder,
    ProductSpec,
    ReserveSpec,
    VehicleSpec,
    changeover_from_json,
    delivery_from_json,
    depot_from_json,
    job_from_json,
    order_json,
    product_from_json,
    reserve_from_json,
    vehicle_from_json,
)
from coordinator.plan.snapshot import plan_from_json, plan_json
from coordinator.plan.state import PlanMade, SavedState
from coordinator.plan.van_loans import VanTimes
from coordinator.store.sqlite_support import locked_transaction

__all__ = ["SqlitePlanState"]

_UPSERT_ORDER: Final = (
    "INSERT INTO plan_orders (kind, id, body, accepted_ms, updated_ms) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, updated_ms = excluded.updated_ms"
)
_PIN: Final = (
    "UPDATE plan_orders SET vehicle_id = ?, updated_ms = ?,"
    " pinned_seq = (SELECT coalesce(max(pinned_seq), 0) + 1 FROM plan_orders)"
    " WHERE kind = 'delivery' AND id = ?"
)
_REPLENISHMENT_COLUMNS: Final = (
    "id, seq, site, node, sku, quantity, stock_at_submit, submitted_ms, due_ms, rush, received"
)
_SAVE_PLAN: Final = (
    "INSERT OR REPLACE INTO plan_latest (kind, version, made_ms, triggers, epoch_s, content)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


class SqlitePlanState:
    """Durable planner state; thread-safe (every call holds the store's write lock)."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock) -> None:
        self._conn = conn
        self._lock = lock

    def _transaction(
        self, operation: str, *, write: bool = True
    ) -> AbstractContextManager[sqlite3.Connection]:
        return locked_transaction(
            self._conn, self._lock, operation, store="plan state", write=write
        )

    def save_orders(
        self, jobs: Sequence[JobOrder], deliveries: Sequence[DeliveryOrder], *, at_ms: int
    ) -> tuple[frozenset[str], frozenset[str]]:
        """See `coordinator.plan.state.PlanState.save_orders`."""
        with self._transaction("save_orders") as conn:
            return (
                _upsert(conn, "job", jobs, at_ms),
                _upsert(conn, "delivery", deliveries, at_ms),
            )

    def save_fleet(
        self, depots: Sequence[DepotSpec], vehicles: Sequence[VehicleSpec], *, at_ms: int
    ) -> None:
        """See `coordinator.plan.state.PlanState.save_fleet`."""
        with self._transaction("save_fleet") as conn:
            conn.execute(
                "INSERT OR REPLACE INTO plan_fleet (id, depots, vehicles, updated_ms)"
                " VALUES (1, ?, ?, ?)",
                (_array(depots), _array(vehicles), at_ms),
            )
            conn.execute("DELETE FROM plan_van_bases")

    def save_van_bases(self, bases: Mapping[str, str], *, at_ms: int) -> None:
        """See `coordinator.plan.state.PlanState.save_van_bases`."""
        with self._transaction("save_van_bases") as conn:
            conn.execute("DELETE FROM plan_van_bases")
            conn.executemany(
                "INSERT INTO plan_van_bases (vehicle_id, depot_id, updated_ms) VALUES (?, ?, ?)",
                [(vehicle, depot, at_ms) for vehicle, depot in sorted(bases.items())],
            )

    def save_van_times(self, times: VanTimes, *, at_ms: int) -> None:
        """See `coordinator.plan.state.PlanState.save_van_times` (seconds kept as ms)."""
        rows: list[tuple[str | None, str, int, int | None]] = [
            (None, d, round(left * 1000), round(back * 1000)) for d, left, back in times.tours
        ]
        rows += [(v, d, round(left * 1000), None) for v, d, left in times.out]
        with self._transaction("save_van_times") as conn:
            conn.execute("DELETE FROM plan_van_tours")
            conn.executemany(
                "INSERT INTO plan_van_tours (vehicle_id, depot_id, left_ms, back_ms)"
                " VALUES (?, ?, ?, ?)",
                rows,
            )

    def save_changeovers(self, changeovers: Sequence[ChangeoverSpec], *, at_ms: int) -> None:
        """See `coordinator.plan.state.PlanState.save_changeovers`."""
        with self._transaction("save_changeovers") as conn:
            conn.execute(
                "INSERT OR REPLACE INTO plan_changeovers (id, body, updated_ms) VALUES (1, ?, ?)",
                (_array(changeovers), at_ms),
            )

    def save_reserve(self, reserve: ReserveSpec, *, at_ms: int) -> None:
        """See `coordinator.plan.state.PlanState.save_reserve`."""
        with self._transaction("save_reserve") as conn:
            conn.execute(
                "INSERT OR REPLACE INTO plan_reserve (id, body, updated_ms) VALUES (1, ?, ?)",
                (order_json(reserve), at_ms),
            )

    def save_products(self, products: Sequence[ProductSpec], *, at_ms: int) -> None:
        """See `coordinator.plan.state.PlanState.save_products`."""
        with self._transaction("save_products") as conn:
            conn.execute(
                "INSERT OR REPLACE INTO plan_products (id, body, updated_ms) VALUES (1, ?, ?)",
                (_array(products), at_ms),
            )

    def save_replenishment(self, job: JobOrder, record: Replenishment) -> None:
        """See `coordinator.plan.state.PlanState.save_replenishment`."""
        with self._transaction("save_replenishment") as conn:
            _upsert(conn, "job", [job], record.submitted_ms)
            conn.execute(
                f"INSERT INTO plan_replenishments ({_REPLENISHMENT_COLUMNS})"  # noqa: S608
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.seq,
                    record.site,
                    record.node,
                    record.sku,
                    record.quantity,
                    record.stock_at_submit,
                    record.submitted_ms,
                    record.due_ms,
                    int(record.rush),
                    record.received,
                ),
            )

    def update_replenishments(self, records: Sequence[Replenishment]) -> None:
        """See `coordinator.plan.state.PlanState.update_replenishments`."""
        with self._transaction("update_replenishments") as conn:
            conn.executemany(
                "UPDATE plan_replenishments SET received = ? WHERE id = ? AND closed_ms IS NULL",
                [(r.received, r.id) for r in records],
            )

    def close_replenishments(
        self, ids: Sequence[str], *, reason: str, at_ms: int
    ) -> tuple[frozenset[str], frozenset[str]]:
        """See `coordinator.plan.state.PlanState.close_replenishments`."""
        closed: set[str] = set()
        with self._transaction("close_replenishments") as conn:
            jobs = _delete(conn, "job", ids)
            for record_id in ids:
                if conn.execute(
                    "UPDATE plan_replenishments SET closed_ms = ?, close_reason = ?"
                    " WHERE id = ? AND closed_ms IS NULL",
                    (at_ms, reason, record_id),
                ).rowcount:
                    closed.add(record_id)
        return jobs, frozenset(closed)

    def save_plan(self, made: PlanMade) -> None:
        """See `coordinator.plan.state.PlanState.save_plan`. The plan is serialised before
        the transaction: the store's one writer connection is held only for the write (a
        schedule of thousands of operations takes a while to turn into JSON, and order
        batches and ingest wait on that connection)."""
        row = (
            made.kind,
            made.version,
            made.made_ms,
            orjson.dumps(list(made.triggers)).decode(),
            made.epoch_s,
            plan_json(made.plan).decode(),
        )
        with self._transaction("save_plan") as conn:
            conn.execute(_SAVE_PLAN, row)
            conn.executemany(
                "DELETE FROM plan_orders WHERE kind = 'job' AND id = ?",
                [(job_id,) for job_id in made.forgotten_jobs],
            )

    def close_orders(
        self, job_ids: Sequence[str], delivery_ids: Sequence[str]
    ) -> tuple[frozenset[str], frozenset[str]]:
        """See `coordinator.plan.state.PlanState.close_orders`."""
        with self._transaction("close_orders") as conn:
            return _delete(conn, "job", job_ids), _delete(conn, "delivery", delivery_ids)

    def pin_deliveries(
        self, vehicle_id: str, delivery_ids: Sequence[str], *, at_ms: int
    ) -> frozenset[str]:
        """See `coordinator.plan.state.PlanState.pin_deliveries`."""
        held: set[str] = set()
        with self._transaction("pin_deliveries") as conn:
            for delivery_id in delivery_ids:
                if conn.execute(_PIN, (vehicle_id, at_ms, delivery_id)).rowcount:
                    held.add(delivery_id)
        return frozenset(held)

    def unpin_deliveries(self, delivery_ids: Sequence[str], *, at_ms: int) -> frozenset[str]:
        """See `coordinator.plan.state.PlanState.unpin_deliveries`."""
        unpinned: set[str] = set()
        with self._transaction("unpin_deliveries") as conn:
            for delivery_id in delivery_ids:
                cursor = conn.execute(
                    "UPDATE plan_orders SET vehicle_id = NULL, pinned_seq = NULL, updated_ms = ?"
                    " WHERE kind = 'delivery' AND id = ? AND vehicle_id IS NOT NULL",
                    (at_ms, delivery_id),
                )
                if cursor.rowcount:
                    unpinned.add(delivery_id)
        return frozenset(unpinned)

    def orders(self) -> tuple[list[JobOrder], list[DeliveryOrder]]:
        """See `coordinator.plan.state.PlanState.orders`."""
        with self._transaction("orders", write=False) as conn:
            return _orders(conn)

    def load(self) -> SavedState:
        """See `coordinator.plan.state.PlanState.load`."""
        with self._transaction("load", write=False) as conn:
            jobs, deliveries = _orders(conn)
            fleet = conn.execute("SELECT depots, vehicles FROM plan_fleet").fetchone()
            plans = conn.execute(
                "SELECT kind, version, made_ms, triggers, epoch_s, content FROM plan_latest"
                " ORDER BY kind"
            ).fetchall()
            changeovers = conn.execute("SELECT body FROM plan_changeovers").fetchone()
            reserve = conn.execute("SELECT body FROM plan_reserve").fetchone()
            products = conn.execute("SELECT body FROM plan_products").fetchone()
            replenishments = conn.execute(
                f"SELECT {_REPLENISHMENT_COLUMNS} FROM plan_replenishments"  # noqa: S608
                " WHERE closed_ms IS NULL ORDER BY seq"
            ).fetchall()
            (seq,) = conn.execute(
                "SELECT coalesce(max(seq), 0) FROM plan_replenishments"
            ).fetchone()
            pins = conn.execute(
                "SELECT id, vehicle_id FROM plan_orders WHERE kind = 'delivery'"
                " AND vehicle_id IS NOT NULL ORDER BY pinned_seq"
            ).fetchall()
            accepted = conn.execute(
                "SELECT id, accepted_ms FROM plan_orders WHERE kind = 'delivery' ORDER BY seq"
            ).fetchall()
            bases = conn.execute(
                "SELECT vehicle_id, depot_id FROM plan_van_bases ORDER BY vehicle_id"
            ).fetchall()
            tours = conn.execute(
                "SELECT vehicle_id, depot_id, left_ms, back_ms FROM plan_van_tours"
                " ORDER BY coalesce(back_ms, left_ms), vehicle_id"
            ).fetchall()
        return SavedState(
            jobs=tuple(jobs),
            deliveries=tuple(deliveries),
            depots=tuple(depot_from_json(d) for d in orjson.loads(fleet[0])) if fleet else (),
            vehicles=tuple(vehicle_from_json(v) for v in orjson.loads(fleet[1])) if fleet else (),
            fleet_saved=fleet is not None,
            plans=tuple(_plan(row) for row in plans),
            pins=tuple((str(d), str(v)) for d, v in pins),
            changeovers=tuple(changeover_from_json(c) for c in orjson.loads(changeovers[0]))
            if changeovers
            else (),
            reserve=reserve_from_json(orjson.loads(reserve[0])) if reserve else None,
            products=tuple(product_from_json(p) for p in orjson.loads(products[0]))
            if products
            else (),
            replenishments=tuple(_replenishment(row) for row in replenishments),
            replenish_seq=int(seq),
            accepted_ms=tuple((str(d), int(ms)) for d, ms in accepted),
            van_bases=tuple((str(v), str(d)) for v, d in bases),
            van_times=VanTimes(
                tours=tuple(
                    (str(d), left / 1000, back / 1000)
                    for v, d, left, back in tours
                    if back is not None
                ),
                out=tuple(
                    (str(v), str(d), left / 1000) for v, d, left, back in tours if back is None
                ),
            ),
        )


def _delete(conn: sqlite3.Connection, kind: str, ids: Sequence[str]) -> frozenset[str]:
    held = set()
    for order_id in ids:
        if conn.execute(
            "DELETE FROM plan_orders WHERE kind = ? AND id = ?", (kind, order_id)
        ).rowcount:
            held.add(order_id)
    return frozenset(held)


def _orders(conn: sqlite3.Connection) -> tuple[list[JobOrder], list[DeliveryOrder]]:
    rows = conn.execute("SELECT kind, body FROM plan_orders ORDER BY seq").fetchall()
    jobs = [job_from_json(orjson.loads(b)) for kind, b in rows if kind == "job"]
    drops = [delivery_from_json(orjson.loads(b)) for kind, b in rows if kind == "delivery"]
    return jobs, drops


def _upsert(
    conn: sqlite3.Connection,
    kind: Literal["job", "delivery"],
    batch: Sequence[JobOrder | DeliveryOrder],
    at_ms: int,
) -> frozenset[str]:
    """Write new and changed orders of one kind; the ids stored with the same body."""
    if not batch:
        return frozenset()
    bodies = {item.id: order_json(item) for item in batch}
    held: dict[str, str] = {}
    ids = list(bodies)
    for start in range(0, len(ids), 500):  # under SQLite's bound-parameter limit
        part = ids[start : start + 500]
        marks = ", ".join("?" * len(part))
        held.update(
            conn.execute(
                f"SELECT id, body FROM plan_orders WHERE kind = ? AND id IN ({marks})",  # noqa: S608
                [kind, *part],
            ).fetchall()
        )
    same = frozenset(i for i, body in bodies.items() if held.get(i) == body)
    conn.executemany(
        _UPSERT_ORDER,
        [(kind, i, body, at_ms, at_ms) for i, body in bodies.items() if i not in same],
    )
    return same


def _array(items: Sequence[DepotSpec | VehicleSpec | ChangeoverSpec | ProductSpec]) -> str:
    return "[" + ",".join(order_json(item) for item in items) + "]"


def _replenishment(row: tuple[Any, ...]) -> Replenishment:
    record_id, seq, site, node, sku, quantity, stock, submitted, due, rush, received = row
    return Replenishment(
        id=str(record_id),
        seq=int(seq),
        site=str(site),
        node=str(node),
        sku=str(sku),
        quantity=int(quantity),
        stock_at_submit=int(stock),
        submitted_ms=int(submitted),
        due_ms=int(due),
        rush=bool(rush),
        received=int(received),
    )


def _plan(row: tuple[Any, ...]) -> PlanMade:
    kind, version, made_ms, triggers, epoch_s, content = row
    return PlanMade(
        kind=kind,
        version=int(version),
        made_ms=int(made_ms),
        triggers=tuple(orjson.loads(triggers)),
        epoch_s=float(epoch_s),
        plan=plan_from_json(kind, orjson.loads(content)),
    )
