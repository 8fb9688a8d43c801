"""The batch writer: decodes, sequences, commits and only then acks.

paho's thread only puts `RawMessage`s into a bounded queue (`enqueue`). The prepare thread
takes up to `batch_max_messages` or `batch_max_bytes` of payload (waiting at most
`batch_max_wait_s` for a batch to fill; the byte cap keeps one commit, and so the
ingest-to-queryable latency, short), decodes, validates and sequences them into the twin.
The commit thread writes each prepared batch in one transaction, in order, and only then
acks its messages to the broker, sends rebirth requests and feeds the alarm rules. The
command acks a batch carries are recorded (`CommandLog.on_acks`) after its commit and
before its MQTT acks, so a crash in between redelivers them; the periodic tick expires
unanswered commands. A store failure stops ingest without acking (the broker keeps the
messages) and is reported by `/healthz`; a database that cannot be reached
(`StoreUnavailable`: a lost PostgreSQL connection, a full disk) only pauses it: the batch in
hand is retried every `store_retry_s`, nothing is acked meanwhile (the queue fills, then the
broker holds the backlog), `store_lost` says why, and ingest resumes on its own. `run_once`/`process` do the same work on the calling thread (tests).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Final

from coordinator.commands.log import CommandLog
from coordinator.errors import StoreError, StoreUnavailable
from coordinator.ingest.alarm_feed import AlarmFeed
from coordinator.ingest.pipeline import IngestPipeline, decode_all
from coordinator.ingest.records import BatchOutcome, RawMessage
from coordinator.ingest.stats import IngestStats
from coordinator.store.port import CommitResult, Store
from fleet_runtime.clock import Clock, now_ms
from protocol import DEFAULT_MAX_PAYLOAD_BYTES

log = logging.getLogger(__name__)

DAY_MS: Final = 86_400_000
CommitListener = Callable[[BatchOutcome, CommitResult], None]
_Prepared = tuple[str, list[RawMessage], BatchOutcome | None]


class IngestWriter:
    """Bounded queue in, committed batches out."""

    def __init__(
        self,
        *,
        pipeline: IngestPipeline,
        store: Store,
        clock: Clock,
        ack: Callable[[list[object]], object] = lambda _tokens: None,
        commands: CommandLog | None = None,
        feed: AlarmFeed | None = None,
        stats: IngestStats | None = None,
        queue_max_messages: int = 1000,
        batch_max_messages: int = 500,
        batch_max_bytes: int = 2 * 1024 * 1024,
        batch_max_wait_s: float = 0.05,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        dead_letter_prefix_bytes: int = 256,
        tick_interval_s: float = 1.0,
        retention_interval_s: float = 600.0,
        raw_retention_days: float = 7.0,
        rollup_retention_days: float = 365.0,
        store_retry_s: float = 1.0,
    ) -> None:
        self.pipeline = pipeline
        self.store = store
        self.clock = clock
        self.queue: queue.Queue[RawMessage] = queue.Queue(maxsize=queue_max_messages)
        self.stats = stats or IngestStats()
        self.listeners: list[CommitListener] = []
        self.failed = False
        self.store_lost = ""
        """Why the database cannot be reached while ingest is paused for it; else empty."""
        self._store_retry_s = store_retry_s
        self._ack = ack
        self._commands = commands
        self._feed = feed
        self._batch_max = batch_max_messages
        self._batch_max_bytes = batch_max_bytes
        self._batch_wait_s = batch_max_wait_s
        self._max_payload = max_payload_bytes
        self._prefix = dead_letter_prefix_bytes
        self._tick_s = tick_interval_s
        self._retention_s = retention_interval_s
        self._raw_days = raw_retention_days
        self._rollup_days = rollup_retention_days
        self._next_tick = clock.monotonic() + tick_interval_s
        self._next_retention = clock.monotonic() + min(retention_interval_s, 60.0)
        self._stop = threading.Event()
        self._prepared_all = threading.Event()
        self._handoff: queue.Queue[_Prepared] = queue.Queue(maxsize=2)
        self._threads: list[threading.Thread] = []

    # -- paho side ------------------------------------------------------------------------

    def enqueue(self, raw: RawMessage) -> None:
        """Queue one message; blocks (and counts a backpressure wait) when the queue is full."""
        try:
            self.queue.put_nowait(raw)
        except queue.Full:
            self.stats.backpressure_waits += 1
            self.queue.put(raw)

    # -- writer side ----------------------------------------------------------------------

    def start(self) -> None:
        """Run the two writer threads: one prepares batches, one commits them in order.

        Preparing (decode, validate, sequence: Python, holding the GIL) overlaps with
        committing (mostly inside SQLite, which releases the GIL), so the two cores share
        the work; the hand-off holds at most two prepared batches.
        """
        self._stop.clear()
        self._prepared_all.clear()
        self._threads = [
            threading.Thread(target=self._run_prepare, name="ingest-prepare", daemon=True),
            threading.Thread(target=self._run_commit, name="ingest-commit", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """Stop taking messages, commit what was prepared, then stop both threads."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads = []

    def _run_prepare(self) -> None:
        while not self._stop.is_set() and not self.failed:
            try:
                raws = self._drain(0.2)
                if raws:
                    self._put(("batch", raws, self.prepare(raws)))
                mono = self.clock.monotonic()
                if mono >= self._next_tick:
                    self._next_tick = mono + self._tick_s
                    self._put(("tick", [], self.pipeline.tick()))
                if mono >= self._next_retention:
                    self._next_retention = mono + self._retention_s
                    self._put(("retention", [], None))
            except Exception as exc:
                self._fail(exc)
        self._prepared_all.set()

    def _put(self, item: _Prepared) -> None:
        while not self.failed:
            try:
                self._handoff.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _run_commit(self) -> None:
        while not self.failed:
            try:
                kind, raws, outcome = self._handoff.get(timeout=0.2)
            except queue.Empty:
                if self._prepared_all.is_set():
                    return
                continue
            try:
                self._handle(kind, raws, outcome)
            except Exception as exc:
                self._fail(exc)

    def _handle(self, kind: str, raws: list[RawMessage], outcome: BatchOutcome | None) -> None:
        """Run one prepared item; while the database is unreachable, retry it every
        `store_retry_s` until it commits or the writer stops (acking nothing meanwhile)."""
        while True:
            try:
                if kind == "batch" and outcome is not None:
                    self.finish(raws, outcome)
                elif kind == "tick" and outcome is not None:
                    self.finish_tick(outcome)
                else:
                    self.retention()
            except StoreUnavailable as exc:
                if not self.store_lost:
                    log.warning("ingest paused, database unreachable: %s", exc.reason)
                self.store_lost = self.stats.last_error = exc.reason
                if self._stop.wait(self._store_retry_s):
                    return  # stopping: the batch stays unacked and the broker redelivers it
                continue
            if self.store_lost:
                log.warning("ingest resumed, database reachable again")
                self.store_lost = ""
            return

    def _fail(self, exc: Exception) -> None:
        self.failed = True
        if isinstance(exc, StoreError):
            self.stats.last_error = exc.reason
            log.error("ingest stopped, store failed: %s", exc.reason)
        else:
            self.stats.last_error = repr(exc)
            log.error("ingest stopped by an unexpected error", exc_info=exc)

    def run_once(self, *, wait_s: float = 0.0) -> int:
        """Process one batch on the calling thread (waiting up to `wait_s` for the first
        message) and run the periodic work when due; returns how many messages it took."""
        raws = self._drain(wait_s)
        if raws:
            self.process(raws)
        mono = self.clock.monotonic()
        if mono >= self._next_tick:
            self._next_tick = mono + self._tick_s
            self.tick()
        if mono >= self._next_retention:
            self._next_retention = mono + self._retention_s
            self.retention()
        return len(raws)

    def process(self, raws: list[RawMessage]) -> BatchOutcome:
        """Decode, sequence, commit, then ack, send commands and feed alarm rules."""
        outcome = self.prepare(raws)
        self.finish(raws, outcome)
        return outcome

    def prepare(self, raws: list[RawMessage]) -> BatchOutcome:
        """Decode and validate, then sequence into the twin: what to commit for `raws`."""
        started = time.perf_counter()
        decoded = decode_all(raws, max_payload_bytes=self._max_payload, prefix_bytes=self._prefix)
        decoded_at = time.perf_counter()
        outcome = self.pipeline.apply(decoded)
        self.stats.decode_seconds += decoded_at - started
        self.stats.apply_seconds += time.perf_counter() - decoded_at
        return outcome

    def finish(self, raws: list[RawMessage], outcome: BatchOutcome) -> CommitResult:
        """Commit a prepared batch, then ack its messages and run the after-commit work."""
        result = self._commit(outcome)
        if self._commands is not None and outcome.acks:
            self._commands.on_acks(outcome.acks)
        self._ack([raw.token for raw in raws])
        s = self.stats
        s.messages += len(raws)
        s.samples += result.samples_written
        s.duplicates += outcome.duplicates
        s.dead_letters += result.dead_letters
        s.already_stored += result.messages_already_stored
        s.record_samples(now_s=self.clock.monotonic(), samples=result.samples_written)
        self._after_commit(outcome, result)
        return result

    def tick(self) -> None:
        """Expire inactive nodes (committing their new state) and let alarm rules see time pass."""
        self.finish_tick(self.pipeline.tick())

    def finish_tick(self, outcome: BatchOutcome) -> None:
        """Commit the outcome of a pipeline tick, expire unanswered commands and let the
        alarm rules see time pass."""
        result = self._commit(outcome) if not outcome.batch.empty else CommitResult(0, 0, 0, 0)
        self._after_commit(outcome, result)
        if self._commands is not None:
            self._commands.expire_due()
        if self._feed is not None:
            self._feed.tick(now_ms=now_ms(self.clock))

    def retention(self) -> None:
        """Delete raw samples, rollups, dead letters and tracked commands past their
        retention (commands keep the raw samples' retention)."""
        now = now_ms(self.clock)
        raw_before = now - int(self._raw_days * DAY_MS)
        result = self.store.apply_retention(
            raw_before_ms=raw_before,
            rollup_before_ms=now - int(self._rollup_days * DAY_MS),
            dead_letters_before_ms=raw_before,
        )
        if result.samples_deleted or result.rollups_deleted:
            log.info("retention removed %s", result)
        if self._commands is not None:
            self._commands.purge(before_ms=raw_before)

    def _commit(self, outcome: BatchOutcome) -> CommitResult:
        started = time.perf_counter()
        result = self.store.commit(outcome.batch)
        self.stats.commit_seconds += time.perf_counter() - started
        self.stats.batches += 1
        return result

    def _after_commit(self, outcome: BatchOutcome, result: CommitResult) -> None:
        for request in outcome.commands:
            self._send_command(request.site, request.node, request.name, request.reason)
        if self._feed is not None and outcome.happenings:
            self._feed.dispatch(outcome.happenings)
        for listener in self.listeners:
            try:
                listener(outcome, result)
            except Exception:
                log.exception("commit listener failed")

    def _send_command(self, site: str, node: str, name: str, reason: str) -> None:
        if self._commands is None:
            return
        try:
            self._commands.send(site=site, node=node, name=name, args={"reason": reason})
            self.stats.rebirth_requests += name == "rebirth"
        except Exception:
            log.exception("could not send %s to %s/%s", name, site, node)

    def _drain(self, wait_s: float) -> list[RawMessage]:
        try:
            first = self.queue.get(timeout=wait_s) if wait_s > 0 else self.queue.get_nowait()
        except queue.Empty:
            return []
        raws = [first]
        size = len(first.payload)
        deadline = time.monotonic() + self._batch_wait_s  # real time: batching is I/O pacing
        while len(raws) < self._batch_max and size < self._batch_max_bytes:
            try:
                raw = self.queue.get_nowait()
                raws.append(raw)
                size += len(raw.payload)
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                raw = self.queue.get(timeout=min(remaining, 0.01))
            except queue.Empty:
                continue
            raws.append(raw)
            size += len(raw.payload)
        return raws


__all__ = ["CommitListener", "IngestWriter"]
