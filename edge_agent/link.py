"""What goes on the wire, in which order, and when a message may leave the outbox.

A *link period* starts when the session is up and the coordinator online (or not awaited):
the birth goes first, then every message created during the period is sent at once
("live"), while the backlog — everything stored with a seq below the birth's — is
replayed oldest first, flagged `historical`, at most `replay_rate_per_s` messages a
second and within half the in-flight window, so live data is never starved by history.

When a message may leave the outbox (`release`, per link period):
- `WAITING` (each period starts so): PUBACKed rows are kept, waiting for the
  coordinator's first commit watermark of the period;
- `WATERMARK`: a watermark arrived, so this coordinator speaks them: rows leave only when
  a watermark covers them (`on_watermark`), whatever the broker acknowledged. A broker
  that dies before handing messages on loses nothing: they are still stored, and the next
  period replays them;
- `PUBACK`: no watermark came within `watermark_wait_s` of the period's start (a
  coordinator from before watermarks): the rows held so far and every later PUBACKed one
  leave at once (`flush_acks`, one transaction per batch), as they always did.
Anything not released when the session drops stays stored and is replayed in the next
period: at least once on the wire, and the coordinator drops the duplicates by seq.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from enum import Enum

from edge_agent.outbox import Outbox, OutboxRow
from edge_agent.transport import Transport, TransportError
from protocol import Birth, Event, Stock, Telemetry, decode, encode

log = logging.getLogger("edge_agent")

# PUBACKed seqs held in memory while waiting for the first watermark; past this many the
# period falls back to releasing on PUBACK (memory stays bounded whatever the coordinator).
MAX_HELD_ACKS = 100_000


class Release(Enum):
    """When a delivered message may leave the outbox in the current link period."""

    WAITING = "waiting"  # held; the first watermark decides
    WATERMARK = "watermark"  # when the coordinator's commit watermark covers it
    PUBACK = "puback"  # on the broker's acknowledgement (an older coordinator)


def as_historical(row: OutboxRow) -> bytes:
    """The row's payload with `historical: true` (re-encoded only if it was live)."""
    if row.historical:
        return row.payload
    message = decode(row.topic, row.payload)
    if not isinstance(message, Birth | Telemetry | Stock | Event):
        return row.payload  # only data messages are stored
    return encode(dataclasses.replace(message, historical=True))


class Link:
    """Publishing policy over one transport and one outbox."""

    def __init__(
        self,
        *,
        transport: Transport,
        outbox: Outbox,
        max_inflight: int = 20,
        replay_rate_per_s: float = 50.0,
        max_live_queue: int = 1000,
        watermark_wait_s: float = 30.0,
    ) -> None:
        self.transport = transport
        self.outbox = outbox
        self.max_inflight = max_inflight
        self.max_replay_inflight = max(1, max_inflight // 2)
        self.replay_rate_per_s = replay_rate_per_s
        self.max_live_queue = max_live_queue
        self._spilled = False
        self.linked = False
        self._inflight: dict[int, tuple[int, bool]] = {}  # mid -> (seq, is replay)
        self._replay_inflight = 0
        self._live: deque[OutboxRow] = deque()
        self._replay_until = 0
        self._replay_cursor = -1
        self._replay_done = True
        self._tokens = 0.0
        self._refilled_at = 0.0
        self._acked: list[int] = []
        self.watermark_wait_s = watermark_wait_s
        self.release = Release.WAITING
        self._wait_until = 0.0
        self._held: list[int] = []  # PUBACKed while WAITING
        self.watermark = -1  # the highest committed seq the coordinator announced
        self.watermark_moved_at = 0.0  # when it last grew (or the period began)
        self.acked_high = -1  # the highest seq the broker acknowledged in this period
        self.sent_live = 0
        self.sent_replay = 0
        self.nacked = 0

    @property
    def inflight(self) -> int:
        """Messages published and not yet acknowledged."""
        return len(self._inflight)

    @property
    def replaying(self) -> bool:
        """Whether backlog remains to be replayed in this period."""
        return self.linked and not self._replay_done

    def start(self, birth: OutboxRow, now_s: float) -> None:
        """Begin a link period with `birth` (already stored) as its first message."""
        self.linked = True
        self._live.clear()
        self._live.append(birth)
        self._replay_until = birth.seq
        self._replay_cursor = -1
        self._replay_done = False
        self._spilled = False
        self._tokens = 1.0
        self._refilled_at = now_s
        self.release = Release.WAITING
        self._wait_until = now_s + self.watermark_wait_s
        self._held.clear()
        self.watermark_moved_at = now_s
        self.acked_high = -1

    def stop(self) -> None:
        """End the link period (coordinator offline): keep buffering, send nothing new.
        Rows held for a watermark stay stored: the next period replays them."""
        self.linked = False
        self._live.clear()
        self._held.clear()

    def session_lost(self) -> None:
        """The session dropped: forget what was in flight (it stays stored)."""
        self.stop()
        self._inflight.clear()
        self._replay_inflight = 0

    def offer(self, row: OutboxRow) -> None:
        """A message was stored while linked: send it as live data.

        If the broker stops acknowledging while the session stays up, live messages pile
        up; past `max_live_queue` they are left in the outbox only (memory stays bounded)
        and go out through the replay path, oldest first, once acknowledgements resume.
        """
        if not self.linked:
            return
        if self._spilled or len(self._live) >= self.max_live_queue:
            self._spilled = True
            self._live.clear()
            self._replay_until = row.seq + 1
            self._replay_done = False
            return
        self._live.append(row)

    def pump(self, now_s: float) -> float | None:
        """Publish what the window and rate allow; returns when replay can continue (or
        when the wait for a first watermark ends)."""
        if not self.linked:
            return None
        if self.release is Release.WAITING:
            if now_s >= self._wait_until:
                self._release_on_puback("no commit watermark arrived in time")
            else:
                wake = self._pump(now_s)
                return self._wait_until if wake is None else min(wake, self._wait_until)
        return self._pump(now_s)

    def _pump(self, now_s: float) -> float | None:
        try:
            while self._live and len(self._inflight) < self.max_inflight:
                row = self._live[0]
                self._publish(row.seq, row.topic, row.payload, replay=False)
                self._live.popleft()
                self.sent_live += 1
            return self._pump_replay(now_s)
        except TransportError:
            return None  # the Disconnected event follows

    def _pump_replay(self, now_s: float) -> float | None:
        rate = self.replay_rate_per_s
        self._tokens = min(max(1.0, rate), self._tokens + (now_s - self._refilled_at) * rate)
        self._refilled_at = now_s
        while not self._replay_done:
            if self._replay_inflight >= self.max_replay_inflight:
                return None  # a PUBACK will wake us
            if len(self._inflight) >= self.max_inflight:
                return None
            if self._tokens < 1.0:
                return now_s + (1.0 - self._tokens) / rate
            batch = self.outbox.pending(after_seq=self._replay_cursor, limit=1)
            if not batch or batch[0].seq >= self._replay_until:
                self._replay_done = True
                self._spilled = False  # caught up: new messages go live again
                break
            row = batch[0]
            self._publish(row.seq, row.topic, as_historical(row), replay=True)
            self._replay_cursor = row.seq
            self._tokens -= 1.0
            self.sent_replay += 1
        return None

    def _publish(self, seq: int, topic: str, payload: bytes, *, replay: bool) -> None:
        mid = self.transport.publish(topic, payload)
        self._inflight[mid] = (seq, replay)
        if replay:
            self._replay_inflight += 1

    def on_puback(self, mid: int, ok: bool) -> None:
        """The broker acknowledged `mid`; a failure code means it must be sent again."""
        found = self._inflight.pop(mid, None)
        if found is None:
            return
        seq, replay = found
        if replay:
            self._replay_inflight -= 1
        if ok:
            self._acked.append(seq)
            self.acked_high = max(self.acked_high, seq)
            return
        self.nacked += 1
        if self.linked:  # resend it from the outbox in this period
            if replay or seq < self._replay_until:
                self._replay_cursor = min(self._replay_cursor, seq - 1)
                self._replay_done = False
            else:
                self._live.extendleft(self.outbox.pending(after_seq=seq - 1, limit=1))

    def flush_acks(self) -> int:
        """Release what the broker acknowledged as the period's `release` says: delete it
        (PUBACK, one transaction), hold it (WAITING) or leave it to the watermark."""
        if not self._acked:
            return 0
        acked, self._acked = self._acked, []
        if self.release is Release.PUBACK:
            return self.outbox.remove(acked)
        if self.release is Release.WAITING and self.linked:
            self._held.extend(acked)
            if len(self._held) > MAX_HELD_ACKS:
                self._release_on_puback(f"more than {MAX_HELD_ACKS} messages await a watermark")
        return 0

    def stalled(self, now_s: float, stall_s: float) -> bool:
        """Whether the watermark has not grown for `stall_s` although the broker
        acknowledged rows above it in this period: the coordinator will not get them
        (a broker that restarted without the coordinator's session dropped them)."""
        return (
            self.linked
            and self.release is Release.WATERMARK
            and not self.replaying
            and self.acked_high > self.watermark
            and now_s - self.watermark_moved_at >= stall_s
        )

    def on_watermark(self, seq: int, now_s: float = 0.0) -> int:
        """The coordinator committed every seq <= `seq`: delete those rows (one
        transaction); from now on this period releases rows only so. Returns how many
        rows left."""
        if self.linked and self.release is not Release.WATERMARK:
            self.release = Release.WATERMARK
            self._held.clear()
        if seq <= self.watermark:
            return 0
        self.watermark = seq
        self.watermark_moved_at = now_s
        return self.outbox.remove_through(seq)

    def _release_on_puback(self, why: str) -> None:
        log.warning("%s: messages leave the outbox on PUBACK in this link period", why)
        self.release = Release.PUBACK
        held, self._held = self._held, []
        self.outbox.remove(held)
