"""The scenario's nodes and its coordinator speaking through a real MQTT broker.

Each node of the world (a machine, a warehouse's shelf, a warehouse's vans) publishes
through the edge agent's own publishing path: its `edge_agent.outbox.Outbox` gives the
message its `seq` and stores it, its `edge_agent.link.Link` sends it, and
`edge_agent.mqtt.MqttTransport` (the agent's paho adapter, one MQTT session per node,
with a `Birth` first and a `Death` will) puts it on the wire. The coordinator's side is
`coordinator.mqtt_client.MqttClient` subscribed to the run's site, and what it receives
goes through the coordinator's ingest: `decode_all` (codec, validation, dead letters)
and `IngestPipeline.apply` (seq tracking, duplicates dropped, fleet twin), whose
`BatchOutcome` carries the facts (operation reports, receipts, agent events).

`send` is the barrier that keeps the simulation clock deterministic: it returns only once
the coordinator's ingest has accepted the message it published (matched by node and
seq), so the world never moves on before the coordinator has what happened, and facts
are applied one at a time, in the order they happened. Anything else arriving on the
run's site is ingested too (a duplicate dropped, garbage dead-lettered and counted) but
never handed on as a fact. Once accepted, the row leaves the
node's outbox (the barrier stands in for the coordinator's commit watermark command).
"""

from __future__ import annotations

import queue
import socket
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coordinator.fleet.twin import FleetTwin
from coordinator.ingest.pipeline import IngestPipeline, decode_all
from coordinator.ingest.records import BatchOutcome, DeadLetter, RawMessage
from coordinator.mqtt_client import MqttClient
from edge_agent.link import Link
from edge_agent.mqtt import MqttTransport
from edge_agent.outbox import Outbox
from edge_agent.transport import (
    Connected,
    ConnectFailed,
    Disconnected,
    Published,
    Received,
    Will,
)
from fleet_runtime.clock import SystemClock
from protocol import (
    Birth,
    Command,
    Death,
    Event,
    InvalidMessage,
    Message,
    ScheduleUpdate,
    Stock,
    command_filter,
    data_topic,
    encode,
    plan_update,
    site_filters,
    topic_for,
)
from protocol.messages import NodeKind

DEFAULT_PORT = 1883
CONNECT_TIMEOUT_S = 10.0
BIRTH_RETRY_S = 1.0  # a birth not seen this long (subscription not active yet) goes again
BIRTH_TRIES = 10


class WireError(RuntimeError):
    """The broker is unreachable, a session dropped, or a message did not arrive in time."""


def parse_broker_url(url: str) -> tuple[str, int]:
    """(host, port) of `mqtt://HOST[:PORT]` (plain MQTT; port 1883 by default)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "mqtt" or not parts.hostname:
        raise WireError(f"--broker: expected mqtt://HOST[:PORT] or 'auto', got {url!r}")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise WireError(f"--broker: bad port in {url!r}") from None
    if parts.path not in ("", "/") or parts.query or parts.username:
        raise WireError(f"--broker: only mqtt://HOST[:PORT] is understood, got {url!r}")
    return parts.hostname, port


@dataclass
class _Node:
    """One node's publishing path."""

    name: str
    kind: NodeKind
    outbox: Outbox
    link: Link
    transport: MqttTransport


Build = Callable[[int, int], Message]
"""Makes a node's message from its (seq, bd_seq)."""


@dataclass
class WireStats:
    """What crossed the broker."""

    messages: int = 0
    births: int = 0
    wait_s: float = 0.0
    dead_letters: int = 0
    commands: int = 0
    """Plan commands the coordinator sent and the machines received."""
    by_fact: dict[str, int] = field(default_factory=dict)
    """Messages accepted, by event name; `receipt` (a stock delta with a transfer),
    `stock:{reason}` (another stock report)."""


class BrokerLink:
    """Nodes publishing, the coordinator's ingest receiving, and the barrier between them."""

    def __init__(
        self, *, host: str, port: int, site: str, data_dir: Path, timeout_s: float = 30.0
    ) -> None:
        self.host, self.port, self.site = host, port, site
        self.data_dir = data_dir
        self.timeout_s = timeout_s
        self.stats = WireStats()
        self._nodes: dict[str, _Node] = {}
        self._schedules: dict[str, ScheduleUpdate] = {}  # each machine's latest
        self._received: set[str] = set()  # command ids the nodes received, not yet awaited
        self._queues: dict[str, tuple[int, list[str]]] = {}
        self._inbox: queue.SimpleQueue[RawMessage] = queue.SimpleQueue()
        self.twin = FleetTwin()
        self._clock = SystemClock()
        self.pipeline = IngestPipeline(self.twin, self._clock)
        self._coordinator = MqttClient(
            host=host,
            port=port,
            coordinator_id=f"{site}-coordinator",
            on_message=self._inbox.put,
            clock=self._clock,
            share_group="",
            topic_filters=site_filters((site,)),
            persistent=False,  # clean start, automatic acks, no Nagle delay
            sites=(site,),
        )

    # ---- sessions -----------------------------------------------------------------------
    def open(self, nodes: Mapping[str, NodeKind]) -> None:
        """Connect the coordinator, then each node with its birth (awaited)."""
        try:  # a refused connection says so at once, not after the connect timeout
            socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as exc:
            raise WireError(f"cannot connect to mqtt://{self.host}:{self.port}: {exc}") from None
        if not self._coordinator.start(connect_timeout_s=CONNECT_TIMEOUT_S):
            reason = self._coordinator.last_error or "no answer"
            raise WireError(f"cannot connect to mqtt://{self.host}:{self.port}: {reason}")
        for name in sorted(nodes):
            self._connect(name, nodes[name])

    def _connect(self, name: str, kind: NodeKind) -> None:
        outbox = Outbox(self.data_dir / f"{name}.db", durable=False)
        transport = MqttTransport()
        node = _Node(name, kind, outbox, Link(transport=transport, outbox=outbox), transport)
        self._nodes[name] = node
        bd_seq = outbox.begin_session()
        will = Will(
            data_topic(self.site, name, "death"),
            encode(Death(site=self.site, node=name, bd_seq=bd_seq)),
        )
        transport.connect(
            host=self.host, port=self.port, client_id=f"{self.site}-{name}", keepalive_s=60,
            will=will,
        )  # fmt: skip
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while True:
            event = transport.next_event(max(0.0, deadline - time.monotonic()))
            if isinstance(event, Connected):
                break
            if event is None or isinstance(event, ConnectFailed | Disconnected):
                why = getattr(event, "reason", "no answer")
                raise WireError(f"node {name}: cannot connect to the broker: {why}")
        if kind == "machine":  # a machine takes its schedule as `schedule` commands
            transport.subscribe([command_filter(self.site, name)])
        for attempt in range(BIRTH_TRIES):
            row = outbox.append(
                lambda seq: Birth(
                    site=self.site, node=name, bd_seq=bd_seq, seq=seq,
                    ts=int(self._clock.now() * 1000), node_kind=kind,
                    pending_from_seq=outbox.lowest_pending_seq(),
                ),
                created_ms=int(self._clock.now() * 1000),
            )  # fmt: skip
            assert row is not None  # a birth is never dropped
            if attempt == 0:
                node.link.start(row, time.monotonic())
            else:
                node.link.offer(row)
            node.link.pump(time.monotonic())
            if self._await(node, row.seq, BIRTH_RETRY_S) is not None:
                self.stats.births += 1
                return
        raise WireError(f"node {name}: its birth never reached the coordinator")

    def close(self) -> None:
        """End every session (the coordinator last) and close the outboxes."""
        for node in self._nodes.values():
            node.transport.disconnect()
            node.outbox.close()
        self._nodes.clear()
        self._coordinator.stop()

    # ---- the barrier ----------------------------------------------------------------------
    def send(self, node_name: str, build: Build, *, ts_ms: int) -> BatchOutcome:
        """Publish `node_name`'s message and return the ingest outcome that accepted it."""
        node = self._nodes.get(node_name)
        if node is None:
            raise WireError(f"unknown node {node_name!r}")
        bd_seq = node.outbox.bd_seq
        row = node.outbox.append(lambda seq: build(seq, bd_seq), created_ms=ts_ms)
        if row is None:
            raise WireError(f"node {node_name}: the outbox refused the message")
        node.link.offer(row)
        node.link.pump(time.monotonic())
        started = time.perf_counter()
        outcome = self._await(node, row.seq, self.timeout_s)
        self.stats.wait_s += time.perf_counter() - started
        if outcome is None:
            raise WireError(
                f"node {node_name}: seq {row.seq} not accepted by the coordinator "
                f"within {self.timeout_s:g} s"
            )
        self.stats.messages += 1
        fact = _fact_name(outcome)
        self.stats.by_fact[fact] = self.stats.by_fact.get(fact, 0) + 1
        node.link.on_watermark(row.seq)
        return outcome

    def _await(self, node: _Node, seq: int, timeout_s: float) -> BatchOutcome | None:
        """Ingest what arrives until `node`'s `seq` is accepted (its outcome) or time is up."""
        deadline = time.monotonic() + timeout_s
        while True:
            self._drain_acks(node)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                raw = self._inbox.get(timeout=min(left, 0.05))
            except queue.Empty:
                node.link.pump(time.monotonic())  # a window freed by a PUBACK
                continue
            decoded = decode_all([raw])
            outcome = self.pipeline.apply(decoded)
            # refused (garbage, a forged topic): dead-lettered by ingest, never a fact
            self.stats.dead_letters += sum(isinstance(d, DeadLetter) for d in decoded)
            if any(
                a.message.node == node.name and a.message.seq == seq for a in outcome.batch.accepted
            ):
                return outcome

    def _drain_acks(self, node: _Node, timeout_s: float = 0.0) -> None:
        """Handle what `node`'s session reported (waiting up to `timeout_s` for the first)."""
        while (event := node.transport.next_event(timeout_s)) is not None:
            timeout_s = 0.0
            if isinstance(event, Published):
                node.link.on_puback(event.mid, event.ok)
            elif isinstance(event, Received):
                self._take(node, event)
            elif isinstance(event, ConnectFailed | Disconnected):
                raise WireError(f"node {node.name}: the session ended: {event.reason}")
        node.link.flush_acks()

    # ---- the coordinator's commands ------------------------------------------------------------
    def command(self, node_name: str, name: str, args: Mapping[str, Any]) -> None:
        """Publish a command from the coordinator to `node_name` and return once the node's
        session received it (the machine's schedule is then the one it holds)."""
        node = self._nodes.get(node_name)
        if node is None:
            raise WireError(f"a command for unknown node {node_name!r}")
        self.stats.commands += 1
        command = Command(
            site=self.site,
            node=node_name,
            name=name,
            cmd_id=f"{name}-{self.stats.commands}",
            ts=int(self._clock.now() * 1000),
            args=dict(args),
        )
        self._coordinator.publish(topic_for(command), encode(command), 1, False)
        deadline = time.monotonic() + self.timeout_s
        while command.cmd_id not in self._received:
            if time.monotonic() > deadline:
                raise WireError(f"node {node_name}: command {command.cmd_id} never arrived")
            self._drain_acks(node, 0.05)
        self._received.discard(command.cmd_id)

    def _take(self, node: _Node, event: Received) -> None:
        """A command reached a node: a schedule replaces the machine's (never an older one)."""
        message = event.message
        if not isinstance(message, Command) or message.node != node.name:
            return  # refused on decode, or not this node's: an agent ignores it
        self._received.add(message.cmd_id)
        try:
            update = plan_update(message)
        except InvalidMessage:
            return
        if not isinstance(update, ScheduleUpdate) or update.machine_id != node.name:
            return
        held = self._schedules.get(node.name)
        if held is None or held.version <= update.version:
            self._schedules[node.name] = update

    def queue(self, machine: str) -> list[str]:
        """The jobs of `machine`'s received schedule, in start order."""
        held = self._schedules.get(machine)
        if held is None:
            return []
        cached = self._queues.get(machine)
        if cached is None or cached[0] != held.version:
            ops = sorted(held.operations, key=lambda o: (o.start, o.job_id))
            cached = (held.version, [op.job_id for op in ops])
            self._queues[machine] = cached
        return cached[1]


def _fact_name(outcome: BatchOutcome) -> str:
    """What the accepted message was: its event name, or `receipt` / its kind."""
    message = outcome.batch.accepted[-1].message
    if isinstance(message, Event):
        return message.name
    if isinstance(message, Stock):
        return "receipt" if message.transfer_id is not None else f"stock:{message.reason}"
    return message.kind


__all__ = ["BrokerLink", "WireError", "WireStats", "parse_broker_url"]
