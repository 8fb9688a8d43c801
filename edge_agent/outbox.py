"""The on-disk outbox: every data message waits here until the broker has PUBACKed it.

One SQLite file (stdlib `sqlite3`, WAL, `synchronous=FULL`) holds the messages and the
node's counters, changed together in one transaction each time:

- `seq` is allocated, the message built and encoded, the row inserted and `next_seq`
  bumped atomically, so a `kill -9` or power cut at any instant leaves either the whole
  message with its seq or neither — a seq is never reused and never skipped by a crash.
  `synchronous=FULL` makes a committed seq durable before the message can be published.
- `bd_seq` grows by one per MQTT session (`begin_session`).
- Rows leave only through `remove_through` (the coordinator's commit watermark covers
  them), `remove` (on PUBACK, with a coordinator that sends no watermarks), through the
  bounds, or never.

`durable=False` (synchronous=OFF) exists only for simulated-time scenarios, where no
power is ever cut and an fsync per message would dominate the run time.

Bounds (the stated drop policy): the outbox holds at most `max_outbox_bytes` of payload
and telemetry at most `max_age_s` old. To make room, the OLDEST TELEMETRY is dropped
first, and every drop is counted (`dropped_messages`, `dropped_samples`) and reported in
the next birth's `stats`. Events and stock are never dropped: they may use up to
`hard_limit_factor` × `max_outbox_bytes` when no telemetry is left to drop; past that,
`append` raises `OutboxFull` (nothing is written) and the caller counts it as `refused`.
A birth is always stored, even past the hard limit: it opens the link period that drains
the outbox, so refusing it would leave a full outbox stuck for good.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from edge_agent.errors import OutboxError, OutboxFull
from protocol import Message, encode, topic_for

SCHEMA_VERSION: Final = 1
COUNTERS: Final = (
    "next_seq",
    "bd_seq",
    "produced_messages",
    "produced_samples",
    "dropped_messages",
    "dropped_samples",
    "refused_messages",
)
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    historical INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One stored message, ready to publish."""

    seq: int
    kind: str
    topic: str
    payload: bytes
    historical: bool
    created_ms: int
    samples: int


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """Counters since the outbox was created, and what it holds now."""

    rows: int
    bytes: int
    next_seq: int
    bd_seq: int
    produced_messages: int
    produced_samples: int
    dropped_messages: int
    dropped_samples: int
    refused_messages: int


class Outbox:
    """A durable, bounded FIFO of encoded data messages keyed by `seq`."""

    def __init__(
        self,
        path: Path,
        *,
        max_outbox_bytes: int = 64 * 1024 * 1024,
        max_age_s: float = 7 * 24 * 3600.0,
        hard_limit_factor: float = 2.0,
        durable: bool = True,
    ) -> None:
        if max_outbox_bytes < 1024:
            raise ValueError(f"max_outbox_bytes must be >= 1024, got {max_outbox_bytes}")
        if not max_age_s > 0:
            raise ValueError(f"max_age_s must be > 0, got {max_age_s}")
        if not hard_limit_factor >= 1.0:
            raise ValueError(f"hard_limit_factor must be >= 1, got {hard_limit_factor}")
        self.path = path
        self.max_outbox_bytes = max_outbox_bytes
        self.max_age_ms = int(max_age_s * 1000)
        self.hard_limit_bytes = int(max_outbox_bytes * hard_limit_factor)
        self._db = self._open(path, synchronous="FULL" if durable else "OFF")
        try:
            self._counters = self._load_counters()
            row = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM outbox").fetchone()
        except sqlite3.Error as exc:
            self._db.close()
            raise OutboxError(f"cannot read outbox: {exc}", path=str(path)) from exc
        self._rows, self._bytes = int(row[0]), int(row[1])

    # --- lifecycle -------------------------------------------------------------------

    def _open(self, path: Path, *, synchronous: str) -> sqlite3.Connection:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={synchronous}")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise OutboxError(
                    f"outbox schema v{version} is newer than this agent (v{SCHEMA_VERSION})",
                    path=str(path),
                )
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open outbox: {exc}", path=str(path)) from exc
        return db

    def close(self) -> None:
        """Close the database (further calls raise `OutboxError`)."""
        self._db.close()

    def _load_counters(self) -> dict[str, int]:
        stored = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
        counters = {name: int(stored.get(name, 0)) for name in COUNTERS}
        top = self._db.execute("SELECT MAX(seq) FROM outbox").fetchone()[0]
        if top is not None and top >= counters["next_seq"]:  # never reuse a stored seq
            counters["next_seq"] = int(top) + 1
        return counters

    def _save(self, *names: str) -> None:
        self._db.executemany(
            "INSERT INTO counters(name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            [(name, self._counters[name]) for name in names],
        )

    # --- counters --------------------------------------------------------------------

    @property
    def next_seq(self) -> int:
        """The seq the next appended message will get."""
        return self._counters["next_seq"]

    @property
    def bd_seq(self) -> int:
        """The current (last begun) session's bd_seq."""
        return self._counters["bd_seq"]

    def begin_session(self) -> int:
        """Persist and return the bd_seq of a new MQTT session (one more than the last)."""
        with self._transaction():
            self._counters["bd_seq"] += 1
            self._save("bd_seq")
        return self._counters["bd_seq"]

    def stats(self) -> OutboxStats:
        """Counters and current size."""
        c = self._counters
        return OutboxStats(
            rows=self._rows,
            bytes=self._bytes,
            next_seq=c["next_seq"],
            bd_seq=c["bd_seq"],
            produced_messages=c["produced_messages"],
            produced_samples=c["produced_samples"],
            dropped_messages=c["dropped_messages"],
            dropped_samples=c["dropped_samples"],
            refused_messages=c["refused_messages"],
        )

    # --- messages --------------------------------------------------------------------

    def append(
        self,
        build: Callable[[int], Message],
        *,
        created_ms: int,
        samples: int = 0,
        historical: bool = False,
    ) -> OutboxRow | None:
        """Allocate the next seq, build the message with it, and store it durably.

        `build(seq)` returns the message; it is encoded inside the transaction, so a
        failure there (or a crash) leaves no trace and does not consume the seq.
        Returns None when the message is telemetry that does not fit even after all
        older telemetry was dropped: it then counts as produced and dropped. Raises
        `OutboxFull` for an event/stock message that does not fit under the hard limit
        (counted in `refused_messages`; nothing else changes). A birth is never refused.
        """
        try:
            return self._append(build, created_ms, samples, historical)
        except OutboxFull:
            with self._transaction():
                self._counters["refused_messages"] += 1
                self._save("refused_messages")
            raise

    def append_with_state(
        self,
        builds: list[Callable[[int], Message]],
        *,
        created_ms: int,
        historical: bool = False,
        state: dict[str, Any],
    ) -> list[OutboxRow]:
        """Store event/stock messages and save `state` (settings, JSON) in ONE transaction:
        a device's retained state is on disk exactly when the reports of it are, so a crash
        can neither lose a report nor make one twice. `OutboxFull` stores nothing."""
        rows: list[OutboxRow] = []
        try:
            with self._transaction():
                for build in builds:
                    row = self._store(build, created_ms, 0, historical)
                    assert row is not None  # only telemetry is dropped for room
                    rows.append(row)
                self._save_settings(state)
        except OutboxFull:
            with self._transaction():
                self._counters["refused_messages"] += 1
                self._save("refused_messages")
            raise
        return rows

    def _append(
        self, build: Callable[[int], Message], created_ms: int, samples: int, historical: bool
    ) -> OutboxRow | None:
        with self._transaction():
            return self._store(build, created_ms, samples, historical)

    def _store(
        self, build: Callable[[int], Message], created_ms: int, samples: int, historical: bool
    ) -> OutboxRow | None:
        """Allocate a seq, build, encode and insert one message (inside a transaction)."""
        seq = self._counters["next_seq"]
        message = build(seq)
        payload = encode(message)
        kind = message.kind
        size = len(payload)
        fits = self._make_room(size, kind)
        self._counters["next_seq"] = seq + 1
        self._counters["produced_messages"] += 1
        self._counters["produced_samples"] += samples
        self._save("next_seq", "produced_messages", "produced_samples")
        if not fits:
            self._count_drop(0, samples, rows=0, messages=1)
            return None
        row = OutboxRow(seq, kind, topic_for(message), payload, historical, created_ms, samples)
        self._db.execute(
            "INSERT INTO outbox VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, kind, row.topic, payload, int(historical), created_ms, samples, size),
        )
        self._rows += 1
        self._bytes += size
        return row

    def _make_room(self, size: int, kind: str) -> bool:
        """Drop the oldest telemetry until `size` more bytes fit (inside a transaction).

        Returns False when `kind` is telemetry and it still does not fit; raises
        `OutboxFull` for an event or stock message past the hard limit. A birth always fits.
        """
        while self._bytes + size > self.max_outbox_bytes:
            if not self._drop_oldest_telemetry():
                break
        if self._bytes + size <= self.max_outbox_bytes:
            return True
        if kind == "telemetry":
            return False
        if kind != "birth" and self._bytes + size > self.hard_limit_bytes:
            raise OutboxFull(
                f"{kind} message of {size} bytes does not fit ({self._bytes} bytes held)",
                path=str(self.path),
                size=size,
                limit=self.hard_limit_bytes,
            )
        return True

    def _drop_oldest_telemetry(self) -> bool:
        found = self._db.execute(
            "DELETE FROM outbox WHERE seq = (SELECT MIN(seq) FROM outbox WHERE kind = 'telemetry') "
            "RETURNING size, samples"
        ).fetchone()
        if found is None:
            return False
        self._count_drop(int(found[0]), int(found[1]), rows=1)
        return True

    def _count_drop(
        self, size: int, samples: int, *, rows: int, messages: int | None = None
    ) -> None:
        self._rows -= rows
        self._bytes -= size
        self._counters["dropped_messages"] += rows if messages is None else messages
        self._counters["dropped_samples"] += samples
        self._save("dropped_messages", "dropped_samples")

    def expire(self, now_ms: int) -> int:
        """Drop telemetry older than `max_age_s` (counted); returns how many messages."""
        with self._transaction():
            gone = self._db.execute(
                "DELETE FROM outbox WHERE kind = 'telemetry' AND created_ms < ? RETURNING size, samples",
                (now_ms - self.max_age_ms,),
            ).fetchall()
            if gone:
                self._count_drop(sum(g[0] for g in gone), sum(g[1] for g in gone), rows=len(gone))
        return len(gone)

    def pending(self, *, after_seq: int = -1, limit: int = 100) -> list[OutboxRow]:
        """Up to `limit` stored messages with seq > `after_seq`, in seq order."""
        rows = self._query(
            "SELECT seq, kind, topic, payload, historical, created_ms, samples FROM outbox "
            "WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
        return [OutboxRow(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6]) for r in rows]

    def lowest_pending_seq(self) -> int | None:
        """The smallest seq still stored, or None when empty."""
        value = self._query("SELECT MIN(seq) FROM outbox", ())[0][0]
        return None if value is None else int(value)

    def remove_through(self, seq: int) -> int:
        """Delete every message with a seq <= `seq` (committed by the coordinator);
        returns how many were still stored."""
        with self._transaction():
            gone = self._db.execute(
                "DELETE FROM outbox WHERE seq <= ? RETURNING size", (seq,)
            ).fetchall()
            self._rows -= len(gone)
            self._bytes -= sum(g[0] for g in gone)
        return len(gone)

    def remove(self, seqs: Iterable[int]) -> int:
        """Delete delivered messages (PUBACKed); returns how many were still stored."""
        batch = list(seqs)
        if not batch:
            return 0
        removed = 0
        with self._transaction():
            for start in range(0, len(batch), 500):
                chunk = batch[start : start + 500]
                marks = ",".join("?" * len(chunk))
                gone = self._db.execute(
                    f"DELETE FROM outbox WHERE seq IN ({marks}) RETURNING size",  # noqa: S608
                    chunk,
                ).fetchall()
                removed += len(gone)
                self._rows -= len(gone)
                self._bytes -= sum(g[0] for g in gone)
        return removed

    # --- persisted settings ----------------------------------------------------------

    def save_settings(self, values: dict[str, Any]) -> None:
        """Persist live settings (JSON) so they survive a restart."""
        with self._transaction():
            self._save_settings(values)

    def _save_settings(self, values: dict[str, Any]) -> None:
        self._db.executemany(
            "INSERT INTO settings(name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            [(k, json.dumps(v, sort_keys=True)) for k, v in values.items()],
        )

    def load_settings(self) -> dict[str, Any]:
        """The persisted live settings (empty if none)."""
        rows = self._query("SELECT name, value FROM settings ORDER BY name", ())
        return {name: json.loads(value) for name, value in rows}

    # --- plumbing --------------------------------------------------------------------

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox query failed: {exc}", path=str(self.path)) from exc

    def _transaction(self) -> _Transaction:
        return _Transaction(self)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolling back the counters' in-memory copy on failure."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._saved: tuple[dict[str, int], int, int] | None = None

    def __enter__(self) -> None:
        box = self._outbox
        self._saved = (dict(box._counters), box._rows, box._bytes)
        try:
            box._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot write outbox: {exc}", path=str(box.path)) from exc

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        box = self._outbox
        if exc is None:
            try:
                box._db.execute("COMMIT")
            except sqlite3.Error as err:
                self._rollback()
                raise OutboxError(f"cannot commit outbox: {err}", path=str(box.path)) from err
            return
        self._rollback()
        if isinstance(exc, sqlite3.Error):
            raise OutboxError(f"outbox write failed: {exc}", path=str(box.path)) from exc

    def _rollback(self) -> None:
        box = self._outbox
        box._db.execute("ROLLBACK")
        assert self._saved is not None
        box._counters, box._rows, box._bytes = self._saved
