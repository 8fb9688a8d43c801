"""`LiveStreamBook`: the coordinator's announced live streams, taken by the rules of
`coordinator.stock.live_streams` and kept in the store.

Posting a stream decides and writes under one lock, so two posts of the same id never
both count as `created`. The SKUs a stream may feature are those the coordinator knows
(`known_skus`: the SKUs its micro-warehouses report stock of).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol

from coordinator.stock.live_streams import LiveStream, Outcome, decide
from coordinator.stock.stream_uplift import RealisedUplift
from fleet_runtime.clock import Clock, now_ms


class LiveStreamStore(Protocol):
    """Where the book keeps its streams (`coordinator.store.live_streams`)."""

    def put(self, stream: LiveStream, *, at_ms: int) -> None:
        """Insert or replace the stream."""

    def get(self, stream_id: str) -> tuple[LiveStream, int, int] | None:
        """The stream with its created and updated times."""

    def list(
        self, *, ending_after_ms: int = 0, limit: int = 1000
    ) -> list[tuple[LiveStream, int, int]]:
        """Streams that end after `ending_after_ms`, by start."""


@dataclass(frozen=True)
class StoredStream:
    """A stream as the book keeps it."""

    stream: LiveStream
    created_ms: int
    updated_ms: int


class LiveStreamBook:
    """Announced live streams: post (idempotent by id, editable until the start), read."""

    def __init__(
        self, store: LiveStreamStore, clock: Clock, known_skus: Callable[[], Collection[str]]
    ) -> None:
        self._store = store
        self._clock = clock
        self._known_skus = known_skus
        self._lock = threading.Lock()
        self.measured: Callable[[str], RealisedUplift | None] = lambda _id: None
        """A stream's realised uplift, once measured (`StreamUpliftMeter.get`)."""
        self.listeners: list[Callable[[LiveStream], None]] = []
        """Told of each stream created or changed (after it is kept), e.g. the forecast
        job, which then refreshes."""

    def now_ms(self) -> int:
        """The book's clock, in ms."""
        return now_ms(self._clock)

    def post(self, stream: LiveStream) -> tuple[StoredStream, Outcome]:
        """Take `stream`: `StreamInvalid` or `StreamConflict` when refused (nothing kept)."""
        with self._lock:
            at = self.now_ms()
            found = self._store.get(stream.id)
            stored = None if found is None else found[0]
            outcome = decide(stored, stream, now_ms=at, known_skus=self._known_skus())
            if outcome != "unchanged":
                self._store.put(stream, at_ms=at)
            kept = self._store.get(stream.id)
        assert kept is not None  # written above, or there before
        if outcome != "unchanged":
            for listener in self.listeners:
                listener(stream)
        return StoredStream(*kept), outcome

    def get(self, stream_id: str) -> StoredStream | None:
        """The stream with this id, or None."""
        found = self._store.get(stream_id)
        return None if found is None else StoredStream(*found)

    def list(
        self, *, include_ended: bool = False, limit: int = 1000, ended_after_ms: int | None = None
    ) -> list[StoredStream]:
        """Streams by start time: those not ended yet, all of them, or those that end after
        `ended_after_ms`."""
        after = 0 if include_ended else self.now_ms()
        if ended_after_ms is not None:
            after = ended_after_ms
        return [StoredStream(*row) for row in self._store.list(ending_after_ms=after, limit=limit)]


__all__ = ["LiveStreamBook", "LiveStreamStore", "StoredStream"]
