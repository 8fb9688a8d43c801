"""The alarm fast lane: agent events and deaths reach the alarm rules ahead of the backlog.

Under full ingest load the writer's queue (and the broker's queue behind it) holds seconds
of telemetry; an anomaly event waiting there is an alarm seconds late. The coordinator
therefore also subscribes to agent events and deaths on a second connection (`EVENT_FILTER`
and `DEATH_FILTER`, clean session, no manual acks) whose messages land here: decoded,
checked and handed to the alarm rules at once.

The fast lane only *dispatches*. Storage, deduplication and sequence accounting stay with
the ingest writer, which receives every event on the main subscription too, in order with
the node's telemetry: the seq tracker never sees an event ahead of the telemetry sent
before it, so no gap is opened (or reported) by the overtaking, and nothing is acked before
it is committed. The two lanes meet in `AlarmFeed`: an event is claimed by (site, node,
bd_seq, seq) under the twin lock, so it is offered to the rules once whichever lane comes
first, and an event the writer already sequenced is left to the writer.

A death only raises the node-offline alarm early; the twin still learns of it in the
ordered lane (it must not overtake the dead session's queued data, which would reopen the
session). It is offered only while the twin, under its lock, holds the death's session as
the node's current, online one, and the alarm is raised before that lock is released: the
writer cannot apply the death or a newer birth meanwhile, so an early "offline" never lands
after the "online" of the node's next session. Births stay in the ordered lane: a birth
settles the seqs below its `pending_from_seq` as lost, so overtaking telemetry still queued
would turn data in flight into "lost".
"""

from __future__ import annotations

import logging
import queue
import threading

from coordinator.fleet.twin import FleetTwin
from coordinator.ingest.alarm_feed import AlarmFeed
from coordinator.ingest.records import RawMessage
from protocol import DEFAULT_MAX_PAYLOAD_BYTES, Death, Event, decode

log = logging.getLogger(__name__)


class EventFastLane:
    """Queue of raw events and deaths from the fast-lane connection, drained by one thread."""

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
        self.deaths_dispatched = 0
        self.deaths_left_to_writer = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def enqueue(self, raw: RawMessage) -> None:
        """Queue one message (paho's thread of the fast-lane connection; blocks when full,
        so the broker holds the rest rather than the lane dropping and reordering)."""
        self.queue.put(raw)

    def offer(self, raw: RawMessage) -> bool:
        """Dispatch the event or death in `raw` to the alarm rules unless a lane already did
        or the writer has applied it; True if dispatched here. Anything that is not a valid
        event or death is ignored (the writer dead-letters it from its own copy)."""
        try:
            message = decode(raw.topic, raw.payload, max_payload_bytes=self._max_payload)
        except Exception:  # decode errors and decoder bugs alike: the writer reports them
            self.ignored += 1
            return False
        if isinstance(message, Death):
            return self._offer_death(message, raw.received_ms)
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

    def _offer_death(self, death: Death, received_ms: int) -> bool:
        with self._twin.lock:  # held until the alarm is raised (see the module doc)
            entry = self._twin.entries.get((death.site, death.node))
            current = entry is not None and entry.online and entry.bd_seq == death.bd_seq
            if current and self._feed.offer_death(death, ts_ms=received_ms):
                self.deaths_dispatched += 1
                return True
        self.deaths_left_to_writer += 1
        return False

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
