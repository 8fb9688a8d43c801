"""The values that flow through ingest: raw messages in, a write batch and side effects out."""

from __future__ import annotations

from dataclasses import dataclass

from coordinator.fleet.node import NodeRecord
from coordinator.jobs.facts import FleetFact, OperationReport, Receipt
from protocol import Birth, CommandAck, Event, Stock, Telemetry

AcceptedMessage = Birth | Telemetry | Stock | Event


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One MQTT message as received: `token` is the adapter's ack handle, opaque here."""

    topic: str
    payload: bytes
    received_ms: int
    token: object = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that failed decoding: why, when, and the start of its bytes."""

    topic: str
    reason: str
    error: str
    received_ms: int
    payload_size: int
    payload_prefix: bytes


@dataclass(frozen=True, slots=True)
class Accepted:
    """A data message seen for the first time, with when it arrived."""

    message: AcceptedMessage
    received_ms: int


@dataclass(frozen=True, slots=True)
class StockLevels:
    """The full current stock of one micro-warehouse after this batch."""

    site: str
    node: str
    levels: dict[str, int]


@dataclass(frozen=True, slots=True)
class WriteBatch:
    """Everything one store transaction writes."""

    accepted: tuple[Accepted, ...] = ()
    dead_letters: tuple[DeadLetter, ...] = ()
    nodes: tuple[NodeRecord, ...] = ()
    stock: tuple[StockLevels, ...] = ()
    latest: tuple[tuple[str, str, dict[str, tuple[int, float]]], ...] = ()
    """(site, node, {signal: (ts_ms, value)}) for nodes whose telemetry this batch carried."""
    rollups: tuple[
        tuple[str, str, dict[tuple[str, int], tuple[float, float, float, int]]], ...
    ] = ()
    """(site, node, {(signal, minute_ms): (min, max, sum, count)}) of this batch's samples."""
    progress: tuple[OperationReport, ...] = ()
    """What machines reported of the operations they run, from this batch's messages."""
    receipts: tuple[Receipt, ...] = ()
    """Goods warehouses received against a transfer id, from this batch's messages."""
    fleet_facts: tuple[FleetFact, ...] = ()
    """Stop events and receipts to act on once committed (kept in the inbox till then)."""

    @property
    def empty(self) -> bool:
        """True when there is nothing to write."""
        return not (self.accepted or self.dead_letters or self.nodes or self.stock or self.progress)


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """A command the coordinator wants sent to a node (e.g. `rebirth`)."""

    site: str
    node: str
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class NodeWentOffline:
    """A node died (`reason` "death", with the dead session's `bd_seq`) or fell silent
    past its timeout ("inactive")."""

    site: str
    node: str
    reason: str
    ts_ms: int
    bd_seq: int | None = None


@dataclass(frozen=True, slots=True)
class NodeCameOnline:
    """A node that was offline (or never seen) is sending again."""

    site: str
    node: str
    ts_ms: int


@dataclass(frozen=True, slots=True)
class StockChanged:
    """The quantity of one SKU at one micro-warehouse after a stock message."""

    site: str
    node: str
    sku: str
    qty: int
    ts_ms: int


@dataclass(frozen=True, slots=True)
class AgentEvent:
    """An event message from an agent (anomaly raised or cleared, state change, fault)."""

    event: Event


@dataclass(frozen=True, slots=True)
class DeadLettered:
    """A message was dead-lettered; `site` is the topic's site when it names one."""

    site: str
    reason: str
    ts_ms: int


Happening = NodeWentOffline | NodeCameOnline | StockChanged | AgentEvent | DeadLettered
"""What ingest saw that alarm rules may care about, handed over after the commit."""


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What processing one batch produced: rows to commit, commands, alarms, acks seen."""

    batch: WriteBatch
    commands: tuple[CommandRequest, ...] = ()
    happenings: tuple[Happening, ...] = ()
    acks: tuple[CommandAck, ...] = ()
    duplicates: int = 0
    samples: int = 0


__all__ = [
    "Accepted",
    "AcceptedMessage",
    "AgentEvent",
    "BatchOutcome",
    "CommandRequest",
    "DeadLetter",
    "DeadLettered",
    "Happening",
    "NodeCameOnline",
    "NodeRecord",
    "NodeWentOffline",
    "RawMessage",
    "StockChanged",
    "StockLevels",
    "WriteBatch",
]
