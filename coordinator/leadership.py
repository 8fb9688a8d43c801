"""Leading or standing by: the loop around a leader lock (`coordinator.store.leader_lock`).

`LeaderWatch` stands by asking for the lock every `poll_s`; once this process holds it, it
checks every `poll_s` that the lock's session is still alive. `on_acquired` runs in the
watch's thread (the service takes over: ingest, alarms, planning). A leader whose lock is
lost must stop acting at once, since another coordinator may hold the lock a moment later:
`on_lost` is called, by default `fail_stop`, which ends the process like a crash (every
part of the coordinator is crash-safe; a supervisor starts it again and it stands by).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Final, Protocol

from coordinator.errors import StoreUnavailable

log = logging.getLogger(__name__)

EXIT_LEADER_LOST: Final = 75
"""The exit status of a leader that lost its lock (EX_TEMPFAIL: start it again)."""


class LeaderLockPort(Protocol):
    """A lock only one process holds at a time."""

    held: bool

    def try_acquire(self) -> bool:
        """Take the lock if free; True while this process holds it."""
        ...

    def still_held(self) -> bool:
        """Whether the lock is still this process's (false once it was lost)."""
        ...

    def close(self) -> None:
        """Release the lock."""
        ...


def fail_stop() -> None:
    """End the process at once, as a crash would (no clean shutdown: nothing more may be
    acked, committed or sent by a coordinator that no longer leads)."""
    logging.shutdown()
    os._exit(EXIT_LEADER_LOST)


class LeaderWatch:
    """Stands by until `lock` is held, then watches that it stays held."""

    def __init__(
        self,
        lock: LeaderLockPort,
        *,
        on_acquired: Callable[[], None],
        on_lost: Callable[[], None],
        poll_s: float = 0.5,
    ) -> None:
        if poll_s <= 0:
            raise ValueError("poll_s must be positive")
        self.lock = lock
        self.on_acquired = on_acquired
        self.on_lost = on_lost
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Run the watch in a thread of its own."""
        self._thread = threading.Thread(target=self._run, name="leader-watch", daemon=True)
        self._thread.start()

    def step(self) -> None:
        """One turn: ask for the lock while standing by, check it while leading."""
        if not self.lock.held:
            try:
                acquired = self.lock.try_acquire()
            except StoreUnavailable as exc:
                log.warning("standing by: %s", exc.reason)
                return
            if acquired:
                log.warning("leader lock acquired: this coordinator leads now")
                self.on_acquired()
        elif not self.lock.still_held():
            log.critical("leader lock lost (its PostgreSQL session ended): stopping")
            self._stop.set()
            self.on_lost()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.step()
            self._stop.wait(self.poll_s)

    def stop(self) -> None:
        """End the watch (the lock stays as it is)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10.0)
        self._thread = None


__all__ = ["EXIT_LEADER_LOST", "LeaderLockPort", "LeaderWatch", "fail_stop"]
