"""The ingest pipeline: raw MQTT messages in, one write batch plus side effects out.

Pure logic on a clock, no I/O: `decode_all` turns raw bytes into messages or dead letters
(safe to run without the twin lock); `IngestPipeline.apply` runs the seq rules of
`protocol.sequence` per node, updates the fleet twin and returns what to commit, which
commands to send (rebirth requests) and what happened (node offline/online, stock
levels, agent events, dead letters) for the alarm rules to look at once committed.

Seq rules (protocol): one `seq` counter per node across birth, telemetry, stock and
event; a seq seen before is a duplicate and is dropped; a birth settles every gap below
its `pending_from_seq` (or below its own seq when the outbox is empty) as lost, because
those messages can no longer arrive. Data from a node whose birth was never seen, or
whose tracker is out of sync, earns a rate-limited rebirth request (Sparkplug 3.0 §6.4.20).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from coordinator.fleet.node import NodeEntry, NodeKey, apply_stock
from coordinator.fleet.twin import FleetTwin, record_of
from coordinator.ingest.fold import fold_samples
from coordinator.ingest.progress import fleet_facts, operation_report, receipts
from coordinator.ingest.records import (
    Accepted,
    AgentEvent,
    BatchOutcome,
    CommandRequest,
    DeadLetter,
    DeadLettered,
    Happening,
    NodeCameOnline,
    NodeWentOffline,
    RawMessage,
    StockChanged,
    StockLevels,
    WriteBatch,
)
from fleet_runtime.clock import Clock, now_ms
from protocol import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    Birth,
    CommandAck,
    Death,
    DecodeError,
    Event,
    Message,
    Stock,
    Telemetry,
    TopicError,
    Verdict,
    decode,
)

log = logging.getLogger(__name__)

UNATTRIBUTED_SITE = "unknown"

Decoded = tuple[Message, int] | DeadLetter


def decode_all(
    raws: Sequence[RawMessage],
    *,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    prefix_bytes: int = 256,
) -> list[Decoded]:
    """Decode each raw message into (message, received_ms), or a `DeadLetter` saying why not."""
    out: list[Decoded] = []
    for raw in raws:
        try:
            out.append(
                (
                    decode(raw.topic, raw.payload, max_payload_bytes=max_payload_bytes),
                    raw.received_ms,
                )
            )
        except (DecodeError, TopicError) as exc:
            out.append(_dead_letter(raw, exc.reason, type(exc).__name__, prefix_bytes))
        except Exception as exc:  # a decoder bug must not stop ingest: keep the bytes
            log.exception("unexpected error decoding a message on %r", raw.topic[:200])
            out.append(
                _dead_letter(raw, f"internal error: {exc!r}"[:500], "InternalError", prefix_bytes)
            )
    return out


def _dead_letter(raw: RawMessage, reason: str, error: str, prefix_bytes: int) -> DeadLetter:
    return DeadLetter(
        topic=raw.topic[:1024],
        reason=reason[:1000],
        error=error,
        received_ms=raw.received_ms,
        payload_size=len(raw.payload),
        payload_prefix=bytes(raw.payload[:prefix_bytes]),
    )


@dataclass
class _Batch:
    """Mutable accumulator for one batch."""

    accepted: list[Accepted] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    touched: dict[NodeKey, NodeEntry] = field(default_factory=dict)
    stock_touched: set[NodeKey] = field(default_factory=set)
    latest_touched: set[NodeKey] = field(default_factory=set)
    rollups: dict[NodeKey, dict[tuple[str, int], list[float]]] = field(default_factory=dict)
    commands: list[CommandRequest] = field(default_factory=list)
    happenings: list[Happening] = field(default_factory=list)
    acks: list[CommandAck] = field(default_factory=list)
    duplicates: int = 0
    samples: int = 0


class IngestPipeline:
    """Seq tracking, twin updates and side effects for decoded messages (single writer)."""

    def __init__(
        self,
        twin: FleetTwin,
        clock: Clock,
        *,
        rebirth_min_interval_s: float = 30.0,
        inactivity_timeout_for: Callable[[str], float] = lambda _node: 60.0,
    ) -> None:
        self.twin = twin
        self.clock = clock
        self.rebirth_min_interval_s = rebirth_min_interval_s
        self.inactivity_timeout_for = inactivity_timeout_for

    def apply(self, decoded: Iterable[Decoded]) -> BatchOutcome:
        """Sequence, dedupe and fold decoded messages into the twin; return the batch."""
        batch = _Batch()
        with self.twin.lock:
            for item in decoded:
                if isinstance(item, DeadLetter):
                    batch.dead.append(item)
                    batch.happenings.append(
                        DeadLettered(_site_of(item.topic), item.reason, item.received_ms)
                    )
                    continue
                message, received_ms = item
                if isinstance(message, CommandAck):
                    batch.acks.append(message)
                elif isinstance(message, Death):
                    self._death(message, batch)
                elif isinstance(message, Birth | Telemetry | Stock | Event):
                    self._data(message, received_ms, batch)
                # Commands never match the fleet filter; another coordinator's own state
                # topic (ff/v1/coordinator/{id}/state) does: ignored.
        return self._outcome(batch)

    def tick(self) -> BatchOutcome:
        """Periodic work: mark nodes silent past their inactivity timeout offline."""
        batch = _Batch()
        wall = now_ms(self.clock)
        for entry in self.twin.expire_inactive(
            now_mono_s=self.clock.monotonic(), timeout_for=self.inactivity_timeout_for
        ):
            batch.touched[entry.key] = entry
            batch.happenings.append(NodeWentOffline(entry.site, entry.node, "inactive", wall))
        return self._outcome(batch)

    # -- per kind -----------------------------------------------------------------------

    def _death(self, message: Death, batch: _Batch) -> None:
        entry = self.twin.entry(message.site, message.node)
        if entry.bd_seq is not None and message.bd_seq != entry.bd_seq:
            return  # the will of an older session (Sparkplug 3.0 §5.9): ignore
        entry.bd_seq = message.bd_seq
        entry.last_seen_ms = now_ms(self.clock)
        batch.touched[entry.key] = entry
        if entry.online or entry.offline_reason != "death":
            entry.online = False
            entry.offline_reason = "death"
            batch.happenings.append(
                NodeWentOffline(entry.site, entry.node, "death", now_ms(self.clock), message.bd_seq)
            )

    def _data(
        self, message: Birth | Telemetry | Stock | Event, received_ms: int, batch: _Batch
    ) -> None:
        entry = self.twin.entry(message.site, message.node)
        observation = entry.tracker.observe(message.seq)
        batch.touched[entry.key] = entry
        if observation.verdict is Verdict.DUPLICATE:
            batch.duplicates += 1
            return
        batch.accepted.append(Accepted(message, received_ms))
        came_back = not entry.online
        entry.last_seen_ms = now_ms(self.clock)
        entry.last_seen_mono_s = self.clock.monotonic()
        if isinstance(message, Birth):
            self._birth(entry, message, batch)
        else:
            same_dead_session = entry.offline_reason == "death" and message.bd_seq == entry.bd_seq
            if not same_dead_session:
                entry.online = True
                entry.offline_reason = ""
            if not entry.birth_seen:
                self._request_rebirth(entry, "data from a node whose birth was not seen", batch)
            elif not message.historical and message.bd_seq != entry.bd_seq:
                self._request_rebirth(entry, "data from a session without a birth", batch)
            if isinstance(message, Telemetry):
                self._telemetry(entry, message, batch)
            elif isinstance(message, Stock):
                self._stock(entry, message, batch)
            else:
                self._event(entry, message, batch)
        if entry.tracker.out_of_sync:
            self._request_rebirth(entry, "too many open seq gaps", batch)
        if came_back and entry.online:
            batch.happenings.append(NodeCameOnline(entry.site, entry.node, now_ms(self.clock)))

    def _birth(self, entry: NodeEntry, message: Birth, batch: _Batch) -> None:
        if message.historical:
            return  # a replayed birth says nothing about the node's current session
        entry.birth_seen = True
        entry.online = True
        entry.offline_reason = ""
        entry.bd_seq = message.bd_seq
        entry.kind = message.node_kind
        entry.firmware = message.firmware
        entry.units = {spec.name: spec.unit for spec in message.signals}
        entry.capabilities = tuple(message.capabilities)
        settle_below = (
            message.pending_from_seq if message.pending_from_seq is not None else message.seq
        )
        entry.tracker.settle(min(settle_below, message.seq))
        entry.tracker.resync()

    def _telemetry(self, entry: NodeEntry, message: Telemetry, batch: _Batch) -> None:
        # Latest values and 1-minute rollups in one pass, on the prepare thread rather
        # than in the commit (see coordinator.ingest.fold).
        fold_samples(message.samples, entry.latest, batch.rollups.setdefault(entry.key, {}))
        entry.samples += len(message.samples)
        batch.samples += len(message.samples)
        batch.latest_touched.add(entry.key)

    def _stock(self, entry: NodeEntry, message: Stock, batch: _Batch) -> None:
        before = dict(entry.stock) if message.parts is not None else {}
        if not apply_stock(entry, message):
            return
        batch.stock_touched.add(entry.key)
        skus: Iterable[str]
        if message.parts is not None:  # a part: its SKUs, and those the last part moved
            moved = before.keys() | entry.stock.keys()
            skus = message.items.keys() | {s for s in moved if before.get(s) != entry.stock.get(s)}
        elif message.mode == "snapshot":
            skus = entry.stock.keys()
        else:
            skus = message.items.keys()
        batch.happenings.extend(
            StockChanged(entry.site, entry.node, sku, entry.stock.get(sku, 0), message.ts)
            for sku in sorted(skus)
        )

    def _event(self, entry: NodeEntry, message: Event, batch: _Batch) -> None:
        batch.happenings.append(AgentEvent(message))

    # -- helpers ------------------------------------------------------------------------

    def _request_rebirth(self, entry: NodeEntry, reason: str, batch: _Batch) -> None:
        mono = self.clock.monotonic()
        last = entry.last_rebirth_request_s
        if last is not None and mono - last < self.rebirth_min_interval_s:
            return
        entry.last_rebirth_request_s = mono
        batch.commands.append(CommandRequest(entry.site, entry.node, "rebirth", reason))

    def _outcome(self, batch: _Batch) -> BatchOutcome:
        with self.twin.lock:
            nodes = tuple(record_of(e) for e in batch.touched.values())
            stock = tuple(
                StockLevels(site, node, dict(self.twin.entries[(site, node)].stock))
                for site, node in sorted(batch.stock_touched)
            )
            latest = tuple(
                (site, node, dict(self.twin.entries[(site, node)].latest))
                for site, node in sorted(batch.latest_touched)
            )
        reports = (operation_report(a.message) for a in batch.accepted)
        return BatchOutcome(
            batch=WriteBatch(
                accepted=tuple(batch.accepted),
                progress=tuple(r for r in reports if r is not None),
                receipts=tuple(r for a in batch.accepted for r in receipts(a.message)),
                fleet_facts=tuple(f for a in batch.accepted for f in fleet_facts(a.message)),
                dead_letters=tuple(batch.dead),
                nodes=nodes,
                stock=stock,
                latest=latest,
                rollups=tuple(
                    (site, node, {k: (a[0], a[1], a[2], int(a[3])) for k, a in minutes.items()})
                    for (site, node), minutes in batch.rollups.items()
                ),
            ),
            commands=tuple(batch.commands),
            happenings=tuple(batch.happenings),
            acks=tuple(batch.acks),
            duplicates=batch.duplicates,
            samples=batch.samples,
        )


def _site_of(topic: str) -> str:
    """The site a topic names, if its third level is a plain id; else `UNATTRIBUTED_SITE`."""
    parts = topic.split("/")
    candidate = parts[2] if len(parts) > 2 else ""
    plain = 0 < len(candidate) <= 64 and candidate.isascii() and candidate[0].isalnum()
    if plain and all(c.isalnum() or c in "_.-" for c in candidate) and candidate != "coordinator":
        return candidate
    return UNATTRIBUTED_SITE


__all__ = ["UNATTRIBUTED_SITE", "Decoded", "IngestPipeline", "decode_all"]
