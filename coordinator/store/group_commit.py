"""Group commit: the writes of several callers made durable together, each caller answered
only once its own write is (pure threading, no I/O of its own).

A caller hands its item to `GroupCommit.commit` and blocks. If no batch is being written,
it becomes the writer: it takes the items waiting (its own among them, at most `max_batch`),
calls `write` once with all of them and wakes their callers with their results; the callers
that arrived in the meantime wait for the next batch, which one of them writes. There is no
thread of its own: alone, a caller writes its own item at once; under a burst, the cost of
one durable commit (an fsync) is shared by every item that arrived while the previous batch
was being written.

A caller on an event loop uses `commit_async` instead: the loop is never blocked, and no
worker thread is taken per call. Its item joins the same queue; when no batch is being
written and no writer thread is running, one is started for as long as items keep arriving
(`_drain`; it waits `idle_s` for more before it ends, so a steady stream of callers is
served by one thread, not a new one per batch), and each caller resumes, through its loop, once its own item is durable. A
caller cancelled while it waits does not take its item back: it is written all the same.

`write(items)` returns one result per item, in order. If it raises, every caller of that
batch gets the exception (a `BatchFailed` carrying it), and nothing of the batch may have
been kept: `write` is one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

__all__ = ["BatchFailed", "GroupCommit"]

T = TypeVar("T")
R = TypeVar("R")


class BatchFailed(Exception):
    """The batch an item was written in failed; `cause` is what `write` raised."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


@dataclass(eq=False, slots=True)
class _Ticket(Generic[T, R]):
    item: T
    done: bool = False
    result: R | None = None
    error: BaseException | None = None
    wake: Callable[[], object] | None = None
    """Called (from the writing thread) once the ticket is done: an async caller's resume."""


def _resolve(settled: asyncio.Future[None]) -> None:
    if not settled.done():  # its caller may have been cancelled meanwhile
        settled.set_result(None)


class GroupCommit(Generic[T, R]):
    """Batches concurrent `commit` calls into single `write` calls; thread-safe."""

    def __init__(
        self,
        write: Callable[[Sequence[T]], Sequence[R]],
        *,
        max_batch: int = 256,
        idle_s: float = 1.0,
    ):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if idle_s < 0:
            raise ValueError("idle_s must not be negative")
        self._write = write
        self._max_batch = max_batch
        self._idle_s = idle_s
        self._cond = threading.Condition()
        self._waiting: list[_Ticket[T, R]] = []
        self._writing = False
        self._draining = False
        self.batches = 0
        """How many batches were written (for tests and benchmarks)."""
        self.writers = 0
        """How many writer threads async callers started (for tests and benchmarks)."""

    @property
    def waiting(self) -> int:
        """How many items wait for the next batch."""
        with self._cond:
            return len(self._waiting)

    def commit(self, item: T) -> R:
        """Write `item` (with whatever else is waiting) and return its result once durable;
        raises `BatchFailed` if its batch could not be written."""
        ticket: _Ticket[T, R] = _Ticket(item)
        with self._cond:
            self._waiting.append(ticket)
        while True:
            with self._cond:
                while self._writing and not ticket.done:
                    self._cond.wait()
                if ticket.done:
                    break
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                self._writing = True
            self._write_batch(batch)
        return _outcome(ticket)

    async def commit_async(self, item: T) -> R:
        """`commit` for a caller on an event loop (module docstring): resumes once `item` is
        durable; raises `BatchFailed` if its batch could not be written."""
        loop = asyncio.get_running_loop()
        settled: asyncio.Future[None] = loop.create_future()
        ticket: _Ticket[T, R] = _Ticket(
            item, wake=lambda: loop.call_soon_threadsafe(_resolve, settled)
        )
        with self._cond:
            self._waiting.append(ticket)
            start = not self._draining
            self._draining = True
            self.writers += start
            self._cond.notify_all()  # an idle writer thread takes it
        if start:
            threading.Thread(target=self._drain, name="group-commit", daemon=True).start()
        await settled
        return _outcome(ticket)

    def _drain(self) -> None:
        """The writer thread of async callers: batch after batch while items wait."""
        while True:
            with self._cond:
                while self._writing:
                    self._cond.wait()
                if not self._waiting:
                    self._cond.wait(self._idle_s)
                while self._writing:
                    self._cond.wait()
                if not self._waiting:
                    self._draining = False
                    return
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                self._writing = True
            self._write_batch(batch)

    def _write_batch(self, batch: list[_Ticket[T, R]]) -> None:
        results: Sequence[R] = ()
        error: BaseException | None = None
        try:
            results = self._write([t.item for t in batch])
            if len(results) != len(batch):
                error = RuntimeError(f"write gave {len(results)} results for {len(batch)} items")
        except BaseException as exc:  # handed to every caller of the batch
            error = exc
        with self._cond:
            for i, ticket in enumerate(batch):
                ticket.done = True
                if error is None:
                    ticket.result = results[i]
                else:
                    ticket.error = error
            self.batches += 1
            self._writing = False
            self._cond.notify_all()
        for ticket in batch:
            if ticket.wake is not None:
                with contextlib.suppress(RuntimeError):  # its loop closed: nobody waits
                    ticket.wake()


def _outcome(ticket: _Ticket[T, R]) -> R:
    if ticket.error is not None:
        raise BatchFailed(ticket.error)
    return cast(R, ticket.result)
