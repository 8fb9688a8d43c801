"""The alarm board on PostgreSQL: every coordinator's alarms, for the fleet-wide alarm list.

Each coordinator keeps its alarms (and their history, comments and deliveries) in its own
alarm file; on a PostgreSQL shared with other coordinators it also copies the current state
of each of its alarms onto `alarm_board` (m016), so any of them, and any standby, can list
the alarms of every site (`coordinator.alarms.fleet_list`). The board is a copy, never the
source: `AlarmBoardFeed` writes each change in the background (the alarm service's notifiers
must only enqueue), keeps the newest state of each alarm while the server cannot be reached
and writes it once it can; at start it replaces the board's rows of its own sites with what
its file holds (alarms purged there leave the board too).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from coordinator.alarms.fleet_list import alarm_of, matches
from coordinator.alarms.model import Alarm, AlarmQuery
from coordinator.errors import StoreError, StoreUnavailable
from coordinator.notify.events import AlarmEvent
from coordinator.store.postgres_store import describe_url

log = logging.getLogger(__name__)

_UPSERT = (
    "INSERT INTO alarm_board (alarm_id, site, start_ms, alarm) VALUES (%s, %s, %s, %s)"
    " ON CONFLICT (alarm_id) DO UPDATE SET site = excluded.site,"
    " start_ms = excluded.start_ms, alarm = excluded.alarm"
)


class PostgresAlarmBoard:
    """`alarm_board` on the database at `url` (the store's migrations made it); one
    connection, used by one caller at a time."""

    def __init__(self, url: str, *, connect_timeout_s: float = 5.0) -> None:
        self.url = url
        self._timeout = max(1, round(connect_timeout_s))
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None

    def _connection(self) -> psycopg.Connection[tuple[Any, ...]]:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                conn.close()
            self._conn = None
            conn = self._conn = psycopg.connect(
                self.url, autocommit=True, connect_timeout=self._timeout
            )
        return conn

    def _run(self, operation: str, work: Any) -> Any:
        """`work(connection)`; a connection found dead (a restarted server ended it) is
        replaced and the work tried once more."""
        with self._lock:
            try:
                try:
                    return work(self._connection())
                except psycopg.OperationalError:
                    if self._conn is None or not self._conn.broken:
                        raise
                    return work(self._connection())  # reopened: the old one was dead
            except psycopg.OperationalError as exc:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
                raise StoreUnavailable(
                    f"PostgreSQL {operation} failed ({describe_url(self.url)}): {exc}",
                    operation=operation,
                ) from exc
            except psycopg.Error as exc:
                raise StoreError(
                    f"PostgreSQL {operation} failed: {exc}", operation=operation
                ) from exc

    def put(self, alarms: Iterable[Mapping[str, Any]]) -> None:
        """Write the current state of each alarm (`Alarm.to_dict`), in one transaction."""
        rows = [(a["alarm_id"], a["site"], a["start_ms"], Jsonb(dict(a))) for a in alarms]
        if not rows:
            return

        def work(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(_UPSERT, rows)

        self._run("alarm board write", work)

    def replace_sites(self, sites: tuple[str, ...], alarms: Iterable[Mapping[str, Any]]) -> None:
        """The board's rows of `sites` (every site when empty) become exactly `alarms`."""
        rows = [(a["alarm_id"], a["site"], a["start_ms"], Jsonb(dict(a))) for a in alarms]

        def work(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
            with conn.transaction(), conn.cursor() as cur:
                if sites:
                    cur.execute("DELETE FROM alarm_board WHERE site = ANY(%s)", (list(sites),))
                else:
                    cur.execute("DELETE FROM alarm_board")
                if rows:
                    cur.executemany(_UPSERT, rows)

        self._run("alarm board resync", work)

    def query(self, q: AlarmQuery, *, except_sites: tuple[str, ...] = ()) -> list[Alarm]:
        """The board's alarms passing `q`'s filter, sites in `except_sites` left out, newest
        first; `q.offset + q.limit` of them at most (the caller pages the merged list)."""

        def work(conn: psycopg.Connection[tuple[Any, ...]]) -> list[Any]:
            sql = "SELECT alarm FROM alarm_board WHERE NOT (site = ANY(%s))"
            params: list[Any] = [list(except_sites)]
            if q.site is not None:
                sql += " AND site = %s"
                params.append(q.site)
            if q.sites is not None:
                sql += " AND site = ANY(%s)"
                params.append(sorted(q.sites))
            sql += " ORDER BY start_ms DESC, alarm_id"
            return conn.execute(sql, params).fetchall()

        wanted = max(0, q.offset) + max(0, q.limit)
        found: list[Alarm] = []
        for (body,) in self._run("alarm board read", work):
            alarm = alarm_of(body)
            if matches(alarm, q):
                found.append(alarm)
                if len(found) >= wanted:
                    break
        return found

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class AlarmBoardFeed:
    """The alarm service's notifier that copies each change onto the board."""

    def __init__(
        self, board: PostgresAlarmBoard, *, sites: tuple[str, ...], retry_s: float = 1.0
    ) -> None:
        self.board = board
        self.sites = sites
        self._retry_s = retry_s
        self._queue: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.written = 0

    def notify(self, event: AlarmEvent) -> None:
        """Enqueue the alarm's new state."""
        self._queue.put(dict(event.alarm))

    def resync(self, alarms: Iterable[Alarm]) -> None:
        """Make the board's rows of this coordinator's sites what its file holds
        (`StoreError` when the server cannot be reached)."""
        self.board.replace_sites(self.sites, [a.to_dict() for a in alarms])

    def start(self) -> None:
        """Write in a thread of its own."""
        self._thread = threading.Thread(target=self._run, name="alarm-board", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pending: dict[str, dict[str, Any]] = {}
        stopping = False
        while not stopping:
            item = self._queue.get() if not pending else self._next(timeout_s=self._retry_s)
            items = [item]
            while not self._queue.empty():
                items.append(self._queue.get())
            for body in items:
                if body is None:
                    stopping = True
                elif "alarm_id" in body:
                    pending[str(body["alarm_id"])] = body  # only the newest state counts
            try:
                self.board.put(pending.values())
            except StoreError as exc:
                log.warning("alarm board not written (retrying): %s", exc.reason)
                continue
            self.written += len(pending)
            pending.clear()

    def _next(self, *, timeout_s: float) -> dict[str, Any] | None:
        try:
            return self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return {}

    def close(self) -> None:
        """Write what is queued (one try) and stop."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(10.0)
            self._thread = None
        self.board.close()


__all__ = ["AlarmBoardFeed", "PostgresAlarmBoard"]
