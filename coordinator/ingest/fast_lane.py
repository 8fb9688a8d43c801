"""The alarm fast lane: agent events reach the alarm rules ahead of the telemetry backlog.

Under full ingest load the writer's queue (and the broker's queue behind it) holds seconds
of telemetry; an anomaly event waiting there is an alarm seconds late. The coordinator
therefore also subscribes to agent events on a second connection (`EVENT_FILTER`, clean
session, no manual acks) whose messages land here: decoded, checked and handed to the
alarm rules at once.

The fast lane only *dispatches*. Storage, deduplication and sequence accounting stay with
the ingest writer, which receives every event on the main subscription too, in order with
the node's telemetry: the seq tracker never sees an event ahead of the telemetry sent
before it, so no gap is opened (or reported) by the overtaking, and nothing is acked before
it is committed. The two lanes meet in `AlarmFeed`: an event is claimed by (site, node,
bd_seq, seq) under the twin lock, so it is offered to the rules once whichever lane comes
first, and an event the writer already sequenced is left to the writer.

Births and deaths stay in the ordered lane: a birth settles the seqs below its
`pending_from_seq` as lost, so overtaking telemetry still queued would turn data in flight
into "lost"; a death overtaking its own session's birth would be ignored as an older
session's will.
"""

from __future__ import annotations

import logging
import queue
import threading

from coordinator.fleet.twin import FleetTwin
from coordinator.ingest.alarm_feed import AlarmFeed
from coordinator.ingest.records import RawMessage
from protocol import DEFAULT_MAX_PAYLOAD_BYTES, Event, decode

log = logging.getLogger(__name__)


class EventFastLane:
    """Queue of raw events from the fast-lane connection, drained by one thread."""

    def __init__(
        self,
        *,
        twin: FleetTwin,
        feed: AlarmFeed,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        queue_max_messages: int = 10_000,
    ) -> None:
        self._twin = twin
        self._feed = feed
        self._max_payload = max_payload_bytes
        self.queue: queue.Queue[RawMessage] = queue.Queue(maxsize=queue_max_messages)
        self.dispatched = 0
        self.left_to_writer = 0
        self.ignored = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def enqueue(self, raw: RawMessage) -> None:
        """Queue one message (paho's thread of the fast-lane connection; blocks when full,
        so the broker holds the rest rather than the lane dropping and reordering)."""
        self.queue.put(raw)

    def offer(self, raw: RawMessage) -> bool:
        """Dispatch the event in `raw` to the alarm rules unless a lane already did or the
        writer has sequenced it; True if dispatched here. Anything that is not a valid
        event is ignored (the writer dead-letters it from its own copy)."""
        try:
            message = decode(raw.topic, raw.payload, max_payload_bytes=self._max_payload)
        except Exception:  # decode errors and decoder bugs alike: the writer reports them
            self.ignored += 1
            return False
        if not isinstance(message, Event):
            self.ignored += 1
            return False
        with self._twin.lock:
            entry = self._twin.entries.get((message.site, message.node))
            sequenced = entry is not None and entry.tracker.seen(message.seq)
            claimed = not sequenced and self._feed.claim(message)
        if not claimed:
            self.left_to_writer += 1
            return False
        self._feed.dispatch_early(message)
        self.dispatched += 1
        return True

    def start(self) -> None:
        """Start the draining thread (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="alarm-fast-lane", daemon=True)
        self._thread.start()

    def stop(self, *, timeout_s: float = 5.0) -> None:
        """Stop the thread; events still queued are left to the writer's copies."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                raw = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self.offer(raw)
            except Exception:  # the lane must outlive one bad message
                log.exception("alarm fast lane failed on a message from %r", raw.topic[:200])


__all__ = ["EventFastLane"]
