"""The audit log: every write through the API, appended to SQLite and chained by hash.

Each record holds who (principal and role), when, what (method, path, answer status) and
SHA-256 digests of the request body and of the resource's state before and after the write
(empty when the write has no state to read back). Its `hash` is the SHA-256 of the previous
record's hash and its own canonical JSON, so editing or removing a record breaks the chain
at that point (`verify_chain`, `flexfleet audit verify`).

Writes made together share one transaction (`append_many`); the API appends through
`append_async`, a group commit (`coordinator.store.group_commit`): the records of the writes
answered while the previous batch was being made durable are chained and stored in the next
one, and each write is answered only once its own record is.

Records older than the retention are pruned from the head; the hash and sequence number of
the last pruned record are kept as the chain's anchor, so the rest still verifies. The
anchor is in the same file: someone able to rewrite the whole file (records, anchor and all
hashes) is not detected; copy the head hash elsewhere (`GET /api/v1/audit` shows it) to
catch that too.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import orjson

from coordinator.store.group_commit import GroupCommit

GENESIS: Final = "0" * 64

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    ts_ms INTEGER NOT NULL,
    principal TEXT NOT NULL,
    role TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    request_sha256 TEXT NOT NULL,
    before_sha256 TEXT NOT NULL,
    after_sha256 TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts_ms);
CREATE TABLE IF NOT EXISTS audit_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What a write adds to the log; the log numbers and chains it into an `AuditRecord`."""

    ts_ms: int
    principal: str
    role: str
    method: str
    path: str
    status: int
    request_sha256: str
    before_sha256: str
    after_sha256: str


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One write: who, when, what, and digests of the request and of the state around it."""

    seq: int
    ts_ms: int
    principal: str
    role: str
    method: str
    path: str
    status: int
    request_sha256: str
    before_sha256: str
    after_sha256: str
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, object]:
        """Every member, as stored."""
        return asdict(self)


def record_hash(prev_hash: str, fields: dict[str, object]) -> str:
    """The chain hash of a record: SHA-256 over the previous hash and its canonical JSON."""
    body = orjson.dumps({k: fields[k] for k in sorted(fields)})
    return hashlib.sha256(prev_hash.encode() + b"\n" + body).hexdigest()


def _fields(record: AuditRecord) -> dict[str, object]:
    out = record.to_json()
    out.pop("hash")
    out.pop("prev_hash")
    return out


def verify_chain(records: Iterator[AuditRecord], anchor: tuple[int, str]) -> str | None:
    """None when every record follows the one before it from `anchor` (seq, hash) on, else
    what is wrong with the first that does not."""
    seq, prev = anchor
    for record in records:
        if record.seq != seq + 1:
            return f"record {seq + 1} is missing (next is {record.seq})"
        if record.prev_hash != prev:
            return f"record {record.seq} does not follow record {seq} (removed or edited)"
        if record_hash(prev, _fields(record)) != record.hash:
            return f"record {record.seq} was edited (its hash does not match its content)"
        seq, prev = record.seq, record.hash
    return None


class AuditLog:
    """The audit table of one SQLite file (thread-safe: one connection behind a lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._commits: GroupCommit[AuditEntry, AuditRecord] = GroupCommit(self.append_many)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def anchor(self) -> tuple[int, str]:
        """Sequence number and hash the first kept record follows (0 and zeros at first)."""
        row = self._db.execute("SELECT seq, hash FROM audit_anchor WHERE id = 1").fetchone()
        return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))

    def _head(self) -> tuple[int, str]:
        row = self._db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return self.anchor() if row is None else (int(row[0]), str(row[1]))

    def append(self, entry: AuditEntry) -> AuditRecord:
        """Add one record after the last, in one transaction."""
        return self.append_many([entry])[0]

    def append_many(self, entries: Sequence[AuditEntry]) -> list[AuditRecord]:
        """Add `entries` after the last record, in order, in one transaction."""
        added: list[AuditRecord] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                seq, prev = self._head()
                for entry in entries:
                    seq += 1
                    fields: dict[str, object] = {"seq": seq, **asdict(entry)}
                    record = AuditRecord(
                        **fields,  # type: ignore[arg-type]
                        prev_hash=prev,
                        hash=record_hash(prev, fields),
                    )
                    added.append(record)
                    prev = record.hash
                self._db.executemany(
                    "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [tuple(record.to_json().values()) for record in added],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return added

    @property
    def batches(self) -> int:
        """How many group-commit batches `append_async` has written (tests, benchmarks)."""
        return self._commits.batches

    async def append_async(self, entry: AuditEntry) -> AuditRecord:
        """`append` for a caller on an event loop, by group commit (module docstring); raises
        `BatchFailed` carrying the store's error if its batch could not be written."""
        return await self._commits.commit_async(entry)

    def records(self, *, after: int = 0, limit: int | None = None) -> list[AuditRecord]:
        """Records with a sequence number above `after`, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, -1 if limit is None else limit),
            ).fetchall()
        return [AuditRecord(*row) for row in rows]

    def prune(self, older_than_ms: int) -> int:
        """Drop records before `older_than_ms`, keeping the last dropped as the anchor."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT seq, hash FROM audit WHERE ts_ms < ? ORDER BY seq DESC LIMIT 1",
                    (older_than_ms,),
                ).fetchone()
                if row is None:
                    self._db.execute("COMMIT")
                    return 0
                dropped = self._db.execute("DELETE FROM audit WHERE seq <= ?", (row[0],)).rowcount
                self._db.execute(
                    "INSERT OR REPLACE INTO audit_anchor (id, seq, hash) VALUES (1, ?, ?)",
                    (row[0], row[1]),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return int(dropped)

    def verify(self) -> str | None:
        """None when the kept chain is whole, else what is wrong (see `verify_chain`)."""
        return verify_chain(iter(self.records()), self.anchor())


__all__ = ["GENESIS", "AuditEntry", "AuditLog", "AuditRecord", "record_hash", "verify_chain"]
