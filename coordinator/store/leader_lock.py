"""Which of several coordinators for the same sites leads: a PostgreSQL session advisory lock.

Every coordinator started with `leader_lock` and the same `coordinator_id` competes for one
advisory lock (`lock_key(coordinator_id)`), taken on a connection of its own that does
nothing else. PostgreSQL holds a session lock until that session ends, and a session ends
when its client's connection does: a leader killed with SIGKILL (or whose host dies) has its
lock released as soon as the server sees the connection close (at once on a local socket;
after the libpq TCP keepalives below on a silent network), and the next `try_acquire` of a
standby succeeds.

`coordinator.leadership.LeaderWatch` runs the loop around it.
"""

from __future__ import annotations

import contextlib
import hashlib

import psycopg

from coordinator.errors import StoreUnavailable
from coordinator.store.postgres_store import describe_url


def lock_key(name: str) -> int:
    """The advisory lock key of the coordinators named `name`: a signed 64-bit number
    from a hash, prefixed so it cannot meet the store's own lock keys (small constants)."""
    digest = hashlib.blake2b(f"flexfleet-leader:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class LeaderLock:
    """The leader lock of one coordinator name on a dedicated connection."""

    def __init__(self, url: str, name: str, *, connect_timeout_s: float = 5.0) -> None:
        self.url = url
        self.key = lock_key(name)
        self._timeout = max(1, round(connect_timeout_s))
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self.held = False

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                conn.close()
            self._conn = None
            try:
                # libpq keepalives: a silent network (no FIN, no RST) is noticed on this
                # side in about 5 + 3 × 2 s; the server needs its own tcp_keepalives_*.
                conn = psycopg.connect(
                    self.url,
                    autocommit=True,
                    connect_timeout=self._timeout,
                    keepalives=1,
                    keepalives_idle=5,
                    keepalives_interval=2,
                    keepalives_count=3,
                )
            except psycopg.Error as exc:
                raise StoreUnavailable(
                    f"cannot connect to PostgreSQL at {describe_url(self.url)} for the "
                    f"leader lock: {str(exc).strip().splitlines()[0] if str(exc) else exc!r}",
                    operation="leader lock",
                ) from exc
            self._conn = conn
        return conn

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this process holds it now.
        `StoreUnavailable` when the server cannot be reached."""
        if self.held:
            return True
        try:
            row = (
                self._connection()
                .execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
                .fetchone()
            )
        except psycopg.Error as exc:
            raise StoreUnavailable(
                f"leader lock on PostgreSQL at {describe_url(self.url)} failed: {exc}",
                operation="leader lock",
            ) from exc
        self.held = bool(row and row[0])
        return self.held

    def still_held(self) -> bool:
        """Whether the lock's session is still alive (a round trip on its connection); a
        lost connection means the lock is gone (`held` turns false)."""
        if not self.held:
            return False
        conn = self._conn
        try:
            if conn is None:
                raise psycopg.OperationalError("no connection")
            conn.execute("SELECT 1").fetchone()
        except psycopg.Error:
            self.held = False
            if conn is not None:
                conn.close()
            self._conn = None
        return self.held

    def close(self) -> None:
        """Release the lock (unlocked first, so a standby can take it at once; ending the
        session releases it anyway)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            if self.held and not conn.broken:
                with contextlib.suppress(psycopg.Error):  # ending the session releases it too
                    conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            conn.close()
        self.held = False


__all__ = ["LeaderLock", "lock_key"]
