"""A bounded pool of connections for reading (thread-safe, pure of any database).

At most `size` connections are open; a reader takes an idle one (the last returned
first) or opens one, and gives it back when done, where it is closed instead if it is no
longer usable (its link lost, a query left half read). A reader finding all of them in use
waits for one, up to `wait_s`, then gets `PoolBusy`.

Why not one connection per thread: a coordinator's API answers on a thread pool of about
40, and each thread would hold a connection of its own for its whole life. Why not
`psycopg_pool`: while the server is down it keeps retrying in the background and a reader
waits out the whole pool timeout, where here the connect call itself fails at once (what
`/healthz` needs to answer 503 in time).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

__all__ = ["BoundedPool", "PoolBusy"]

C = TypeVar("C")


class PoolBusy(TimeoutError):
    """Every connection of the pool stayed in use for the whole wait."""


class BoundedPool(Generic[C]):
    """Up to `size` connections made by `connect`; `usable` says whether one given back
    may be reused, `close` closes one."""

    def __init__(
        self,
        connect: Callable[[], C],
        *,
        size: int,
        usable: Callable[[C], bool],
        close: Callable[[C], None],
        wait_s: float = 30.0,
    ) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size!r}")
        self._connect = connect
        self._usable = usable
        self._close = close
        self.size = size
        self.wait_s = wait_s
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[C] = []
        self._open = 0
        self._closed = False

    @property
    def open_count(self) -> int:
        """How many connections are open now (idle or in use)."""
        with self._lock:
            return self._open

    @contextmanager
    def connection(self) -> Iterator[C]:
        """A connection for the `with` block: an idle one, else a new one (`connect`'s
        error, if any, goes to the caller and takes no place in the pool)."""
        if not self._slots.acquire(timeout=self.wait_s):
            raise PoolBusy(f"all {self.size} connections stayed in use for {self.wait_s:g} s")
        try:
            conn = self._take()
            try:
                yield conn
            finally:
                self._give_back(conn)
        finally:
            self._slots.release()

    def close(self) -> None:
        """Close the idle connections now and those in use when they are given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
        for conn in idle:
            self._close(conn)

    def _take(self) -> C:
        """The last idle connection still usable (closing those that are not), else a
        new one."""
        while True:
            with self._lock:
                if not self._idle:
                    break
                conn = self._idle.pop()
                if self._usable(conn):
                    return conn
                self._open -= 1
            self._close(conn)
        conn = self._connect()
        with self._lock:
            self._open += 1
        return conn

    def _give_back(self, conn: C) -> None:
        with self._lock:
            if not self._closed and self._usable(conn):
                self._idle.append(conn)
                return
            self._open -= 1
        self._close(conn)
