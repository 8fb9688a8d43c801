"""Commit watermarks: after each commit, tell each node how far its data is stored.

An agent that announces the `watermark` capability keeps its outbox rows until a
watermark covers them (`protocol.watermark`), so the coordinator's commit, not the
broker's PUBACK, is the point of no return. `WatermarkBook` is the pure part: fed the
node records of every committed batch, it says which notices are due — at most one per
node per `min_interval_s`, when the node's committed run grew, once more after each live
birth (the agent starts a new link period then and waits for its first notice; it may have
missed the last one while it was away), and again every `refresh_s` while the node keeps
sending (a notice lost with a broker that crashed is not lost for good: a node replaying
what is already stored otherwise never hears that it is). `WatermarkSender` wires it to the
ingest writer as a commit listener (it also runs on the writer's periodic tick, so a
notice held back by the rate limit goes out without waiting for more data).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from coordinator.fleet.node import NodeKey, NodeRecord
from coordinator.ingest.records import BatchOutcome
from coordinator.publisher import Publisher
from coordinator.store.port import CommitResult
from fleet_runtime.clock import Clock, now_ms
from protocol import (
    WATERMARK_CAPABILITY,
    Birth,
    committed_through,
    encode,
    topic_for,
    watermark_command,
)

log = logging.getLogger(__name__)

Notice = tuple[str, str, int]
"""(site, node, seq): every seq <= seq of that node is committed."""


@dataclass
class WatermarkBook:
    """Which watermark notices are due (pure: the caller passes the time)."""

    min_interval_s: float = 1.0
    refresh_s: float = 10.0
    _sent: dict[NodeKey, int] = field(default_factory=dict)
    _sent_at: dict[NodeKey, float] = field(default_factory=dict)
    _pending: dict[NodeKey, int] = field(default_factory=dict)

    def committed(
        self, records: Iterable[NodeRecord], births: Iterable[NodeKey], now_s: float
    ) -> list[Notice]:
        """Note the committed state of `records` (`births`: nodes whose live birth was in
        the batch); returns the notices due now."""
        born = set(births)
        for record in records:
            if WATERMARK_CAPABILITY not in record.capabilities:
                continue
            key = (record.site, record.node)
            mark = committed_through(record.last_seq, record.gaps)
            if mark < 0:
                continue
            stale = now_s - self._sent_at.get(key, float("-inf")) >= self.refresh_s
            if key in born or mark > self._sent.get(key, -1) or stale:
                self._pending[key] = mark
        return self.due(now_s)

    def due(self, now_s: float) -> list[Notice]:
        """The pending notices whose node was last told at least `min_interval_s` ago."""
        ready = [
            key
            for key in self._pending
            if now_s - self._sent_at.get(key, float("-inf")) >= self.min_interval_s
        ]
        notices = []
        for key in ready:
            mark = self._pending.pop(key)
            self._sent[key] = mark
            self._sent_at[key] = now_s
            notices.append((key[0], key[1], mark))
        return notices


class WatermarkSender:
    """A commit listener publishing the book's notices on each node's command topic."""

    def __init__(self, *, publisher: Publisher, clock: Clock, min_interval_s: float = 1.0):
        self.book = WatermarkBook(min_interval_s=min_interval_s)
        self.publisher = publisher
        self.clock = clock
        self.sent = 0

    def on_commit(self, outcome: BatchOutcome, _result: CommitResult) -> None:
        """After a commit (or a writer tick): send what is due."""
        births = [
            (a.message.site, a.message.node)
            for a in outcome.batch.accepted
            if isinstance(a.message, Birth) and not a.message.historical
        ]
        notices = self.book.committed(outcome.batch.nodes, births, self.clock.monotonic())
        ts = now_ms(self.clock)
        for site, node, seq in notices:
            notice = watermark_command(site=site, node=node, seq=seq, ts=ts)
            try:
                self.publisher.publish(topic_for(notice), encode(notice), 1, False)
            except Exception:  # the next notice carries the same information
                log.exception("could not send the watermark to %s/%s", site, node)
                continue
            self.sent += 1


__all__ = ["Notice", "WatermarkBook", "WatermarkSender"]
