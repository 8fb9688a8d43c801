"""The alarm repository: alarms, their transitions, comments and the webhook delivery log,
in SQLite through sqlite-utils.

The tables live in the coordinator's database file beside the telemetry, under their own
migration set (`ALARM_MIGRATIONS`, name `flexfleet_alarms`), through the store's own
connection (WAL, busy timeout), so alarm writes never wait on the ingest writer's
transactions for longer than the busy timeout. One lock serialises use of the connection
between the caller's threads and the webhook workers. sqlite3 errors leave as the
coordinator's `StoreError` (HTTP 503).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import orjson
import sqlite_utils

from coordinator.alarms.model import Alarm, AlarmQuery, Comment, Status, Transition
from coordinator.notify.delivery import DeliveryRecord
from coordinator.store.sqlite_support import open_database, translated

ALARM_MIGRATIONS: Final = sqlite_utils.Migrations("flexfleet_alarms")
MAX_QUERY_LIMIT: Final = 1000

_ALARM_COLUMNS: Final = (
    "alarm_id",
    "site",
    "source",
    "alarm_type",
    "severity",
    "message",
    "details",
    "count",
    "start_ms",
    "last_ms",
    "acknowledged",
    "ack_ms",
    "ack_by",
    "cleared",
    "clear_ms",
    "clear_by",
    "assignee",
    "escalation_level",
    "escalated_ms",
    "unack_since_ms",
)


@ALARM_MIGRATIONS()
def m001_alarm_tables(db: sqlite_utils.Database) -> None:
    """Alarms, transitions, comments and the webhook delivery log."""
    db.execute(
        """CREATE TABLE alarms (
            alarm_id TEXT PRIMARY KEY, site TEXT NOT NULL, source TEXT NOT NULL,
            alarm_type TEXT NOT NULL, severity TEXT NOT NULL, message TEXT NOT NULL,
            details TEXT NOT NULL, count INTEGER NOT NULL, start_ms INTEGER NOT NULL,
            last_ms INTEGER NOT NULL, acknowledged INTEGER NOT NULL, ack_ms INTEGER,
            ack_by TEXT, cleared INTEGER NOT NULL, clear_ms INTEGER, clear_by TEXT,
            assignee TEXT, escalation_level INTEGER NOT NULL, escalated_ms INTEGER,
            unack_since_ms INTEGER)"""
    )
    # The database itself guarantees one active alarm per key, whatever the callers do.
    db.execute(
        "CREATE UNIQUE INDEX alarms_one_active ON alarms (site, source, alarm_type) "
        "WHERE cleared = 0"
    )
    db.execute("CREATE INDEX alarms_by_start ON alarms (start_ms)")
    db.execute("CREATE INDEX alarms_by_status ON alarms (cleared, acknowledged)")
    db.execute(
        """CREATE TABLE alarm_transitions (
            id INTEGER PRIMARY KEY, alarm_id TEXT NOT NULL REFERENCES alarms(alarm_id),
            ts_ms INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
            from_status TEXT, to_status TEXT NOT NULL, note TEXT NOT NULL)"""
    )
    db.execute("CREATE INDEX alarm_transitions_by_alarm ON alarm_transitions (alarm_id)")
    db.execute(
        """CREATE TABLE alarm_comments (
            id INTEGER PRIMARY KEY, alarm_id TEXT NOT NULL REFERENCES alarms(alarm_id),
            ts_ms INTEGER NOT NULL, author TEXT NOT NULL, text TEXT NOT NULL)"""
    )
    db.execute("CREATE INDEX alarm_comments_by_alarm ON alarm_comments (alarm_id)")
    db.execute(
        """CREATE TABLE alarm_webhook_deliveries (
            id INTEGER PRIMARY KEY, delivery_id TEXT NOT NULL, alarm_id TEXT NOT NULL,
            event TEXT NOT NULL, url TEXT NOT NULL, attempt INTEGER NOT NULL,
            outcome TEXT NOT NULL, status_code INTEGER, error TEXT NOT NULL,
            ts_ms INTEGER NOT NULL)"""
    )
    db.execute(
        "CREATE INDEX alarm_webhook_deliveries_by_alarm ON alarm_webhook_deliveries (alarm_id)"
    )


def apply_alarm_migrations(db: sqlite_utils.Database) -> None:
    """Bring the alarm tables in `db` up to date (safe to call on every start)."""
    ALARM_MIGRATIONS.apply(db)


def _row_to_alarm(row: dict[str, Any]) -> Alarm:
    return Alarm(
        alarm_id=row["alarm_id"],
        site=row["site"],
        source=row["source"],
        alarm_type=row["alarm_type"],
        severity=row["severity"],
        message=row["message"],
        details=orjson.loads(row["details"]),
        count=row["count"],
        start_ms=row["start_ms"],
        last_ms=row["last_ms"],
        acknowledged=bool(row["acknowledged"]),
        ack_ms=row["ack_ms"],
        ack_by=row["ack_by"],
        cleared=bool(row["cleared"]),
        clear_ms=row["clear_ms"],
        clear_by=row["clear_by"],
        assignee=row["assignee"],
        escalation_level=row["escalation_level"],
        escalated_ms=row["escalated_ms"],
        unack_since_ms=row["unack_since_ms"],
    )


def _alarm_to_row(alarm: Alarm) -> tuple[object, ...]:
    row = alarm.to_dict()
    row["details"] = orjson.dumps(alarm.details).decode()
    row["acknowledged"] = int(alarm.acknowledged)
    row["cleared"] = int(alarm.cleared)
    return tuple(row[column] for column in _ALARM_COLUMNS)


_STATUS_SQL: Final[dict[Status, str]] = {
    "ACTIVE_UNACK": "(cleared = 0 AND acknowledged = 0)",
    "ACTIVE_ACK": "(cleared = 0 AND acknowledged = 1)",
    "CLEARED_UNACK": "(cleared = 1 AND acknowledged = 0)",
    "CLEARED_ACK": "(cleared = 1 AND acknowledged = 1)",
}


class AlarmStore:
    """Repository of alarms and their history; every method is thread-safe."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._db = db
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: str | Path, *, busy_timeout_s: float = 5.0) -> AlarmStore:
        """Open (or create) the alarm tables in the database file at `path`."""
        with translated("open", store="alarm store"):
            db = open_database(path, busy_timeout_s=busy_timeout_s, synchronous="NORMAL")
            apply_alarm_migrations(db)
        return cls(db)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the store's lock and one SQLite transaction for several writes."""
        with self._lock, translated("write", store="alarm store"), self._db.atomic():
            yield

    @contextmanager
    def _reading(self) -> Iterator[None]:
        with self._lock, translated("read", store="alarm store"):
            yield

    def get(self, alarm_id: str) -> Alarm | None:
        """The alarm with this id, or None."""
        with self._reading():
            rows = list(self._db.query("SELECT * FROM alarms WHERE alarm_id = ?", [alarm_id]))
        return _row_to_alarm(rows[0]) if rows else None

    def find_active(self, *, site: str, source: str, alarm_type: str) -> Alarm | None:
        """The active (not cleared) alarm on this key, or None."""
        with self._reading():
            rows = list(
                self._db.query(
                    "SELECT * FROM alarms WHERE site = ? AND source = ? AND alarm_type = ? "
                    "AND cleared = 0",
                    [site, source, alarm_type],
                )
            )
        return _row_to_alarm(rows[0]) if rows else None

    def save(self, alarm: Alarm, transition: Transition) -> None:
        """Insert or update an alarm and record the transition that changed it, atomically."""
        columns = ", ".join(_ALARM_COLUMNS)
        marks = ", ".join("?" for _ in _ALARM_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _ALARM_COLUMNS[1:])
        with self.transaction():
            self._db.execute(
                f"INSERT INTO alarms ({columns}) VALUES ({marks}) "  # noqa: S608 - fixed names
                f"ON CONFLICT(alarm_id) DO UPDATE SET {updates}",
                _alarm_to_row(alarm),
            )
            self._insert_transition(transition)

    def add_comment(self, comment: Comment, transition: Transition) -> None:
        """Store a comment and the transition recording it."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO alarm_comments (alarm_id, ts_ms, author, text) VALUES (?, ?, ?, ?)",
                [comment.alarm_id, comment.ts_ms, comment.author, comment.text],
            )
            self._insert_transition(transition)

    def record(self, transition: Transition) -> None:
        """Record a transition that changes nothing on the alarm (operator feedback)."""
        with self.transaction():
            self._insert_transition(transition)

    def latest_verdicts(self) -> list[tuple[str, str, dict[str, Any], str]]:
        """(source, alarm_type, details, verdict) of every alarm with feedback, its latest."""
        with self._reading():
            rows = list(
                self._db.query(
                    "SELECT a.source, a.alarm_type, a.details, t.note FROM alarm_transitions t "
                    "JOIN alarms a ON a.alarm_id = t.alarm_id WHERE t.id IN ("
                    "SELECT MAX(id) FROM alarm_transitions WHERE action = 'FEEDBACK' "
                    "GROUP BY alarm_id)"
                )
            )
        return [(r["source"], r["alarm_type"], orjson.loads(r["details"]), r["note"]) for r in rows]

    def _insert_transition(self, t: Transition) -> None:
        self._db.execute(
            "INSERT INTO alarm_transitions (alarm_id, ts_ms, actor, action, from_status, "
            "to_status, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [t.alarm_id, t.ts_ms, t.actor, t.action, t.from_status, t.to_status, t.note],
        )

    def transitions(self, alarm_id: str) -> list[Transition]:
        """Every transition of one alarm, oldest first."""
        with self._reading():
            rows = list(
                self._db.query(
                    "SELECT * FROM alarm_transitions WHERE alarm_id = ? ORDER BY id", [alarm_id]
                )
            )
        return [
            Transition(
                alarm_id=r["alarm_id"],
                ts_ms=r["ts_ms"],
                actor=r["actor"],
                action=r["action"],
                from_status=r["from_status"],
                to_status=r["to_status"],
                note=r["note"],
            )
            for r in rows
        ]

    def comments(self, alarm_id: str) -> list[Comment]:
        """Every comment on one alarm, oldest first."""
        with self._reading():
            rows = list(
                self._db.query(
                    "SELECT * FROM alarm_comments WHERE alarm_id = ? ORDER BY id", [alarm_id]
                )
            )
        return [
            Comment(alarm_id=r["alarm_id"], ts_ms=r["ts_ms"], author=r["author"], text=r["text"])
            for r in rows
        ]

    def query(self, q: AlarmQuery) -> list[Alarm]:
        """Alarms matching the filter, newest start first."""
        where: list[str] = []
        params: list[object] = []
        if q.statuses:
            where.append("(" + " OR ".join(_STATUS_SQL[s] for s in sorted(q.statuses)) + ")")
        if q.severities:
            where.append(f"severity IN ({', '.join('?' for _ in q.severities)})")
            params.extend(sorted(q.severities))
        for column, value in (
            ("site", q.site),
            ("source", q.source),
            ("alarm_type", q.alarm_type),
            ("assignee", q.assignee),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if q.sites is not None:
            where.append(f"site IN ({', '.join('?' for _ in q.sites)})" if q.sites else "0")
            params.extend(sorted(q.sites))
        if q.until_ms is not None:
            where.append("start_ms < ?")
            params.append(q.until_ms)
        if q.since_ms is not None:
            where.append("(cleared = 0 OR clear_ms >= ?)")
            params.append(q.since_ms)
        sql = "SELECT * FROM alarms"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY start_ms DESC, alarm_id LIMIT ? OFFSET ?"
        params.extend([max(0, min(q.limit, MAX_QUERY_LIMIT)), max(0, q.offset)])
        with self._reading():
            rows = list(self._db.query(sql, params))
        return [_row_to_alarm(r) for r in rows]

    def unacknowledged_active(self) -> list[Alarm]:
        """Every ACTIVE_UNACK alarm (the candidates for escalation)."""
        with self._reading():
            rows = list(
                self._db.query("SELECT * FROM alarms WHERE cleared = 0 AND acknowledged = 0")
            )
        return [_row_to_alarm(r) for r in rows]

    def counts(self) -> dict[tuple[str, str], int]:
        """Number of alarms per (status, severity)."""
        with self._reading():
            rows = list(
                self._db.query(
                    "SELECT cleared, acknowledged, severity, count(*) AS n FROM alarms "
                    "GROUP BY cleared, acknowledged, severity"
                )
            )
        out: dict[tuple[str, str], int] = {}
        for r in rows:
            status = ("CLEARED_" if r["cleared"] else "ACTIVE_") + (
                "ACK" if r["acknowledged"] else "UNACK"
            )
            out[(status, r["severity"])] = r["n"]
        return out

    def purge_cleared(self, *, cleared_before_ms: int) -> int:
        """Delete alarms cleared before `cleared_before_ms` with their transitions, comments
        and delivery log; returns how many alarms went."""
        chosen = "SELECT alarm_id FROM alarms WHERE cleared = 1 AND clear_ms < ?"
        with self.transaction():
            for table in ("alarm_transitions", "alarm_comments", "alarm_webhook_deliveries"):
                self._db.execute(
                    f"DELETE FROM {table} WHERE alarm_id IN ({chosen})",  # noqa: S608 - fixed names
                    [cleared_before_ms],
                )
            cursor = self._db.execute(
                "DELETE FROM alarms WHERE cleared = 1 AND clear_ms < ?", [cleared_before_ms]
            )
        return int(cursor.rowcount)

    def record_delivery(self, record: DeliveryRecord) -> None:
        """Append one webhook delivery attempt to the log."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO alarm_webhook_deliveries (delivery_id, alarm_id, event, url, "
                "attempt, outcome, status_code, error, ts_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    record.delivery_id,
                    record.alarm_id,
                    record.event,
                    record.url,
                    record.attempt,
                    record.outcome,
                    record.status_code,
                    record.error,
                    record.ts_ms,
                ],
            )

    def deliveries(self, *, alarm_id: str | None = None, limit: int = 100) -> list[DeliveryRecord]:
        """Logged delivery attempts, oldest first, optionally for one alarm."""
        sql = "SELECT * FROM alarm_webhook_deliveries"
        params: list[object] = []
        if alarm_id is not None:
            sql += " WHERE alarm_id = ?"
            params.append(alarm_id)
        sql += " ORDER BY id LIMIT ?"
        params.append(max(0, min(limit, MAX_QUERY_LIMIT)))
        with self._reading():
            rows = list(self._db.query(sql, params))
        return [
            DeliveryRecord(
                delivery_id=r["delivery_id"],
                alarm_id=r["alarm_id"],
                event=r["event"],
                url=r["url"],
                attempt=r["attempt"],
                outcome=r["outcome"],
                status_code=r["status_code"],
                error=r["error"],
                ts_ms=r["ts_ms"],
            )
            for r in rows
        ]
