"""The agent's northbound port: an MQTT 5 session as a small `Protocol`, plus an in-memory double.

The real adapter (`edge_agent.mqtt`, the one module importing paho) and `MemoryTransport`
both turn the network into a queue of `TransportEvent`s that the agent's single thread
drains; nothing the agent decides happens on a network thread. Inbound payloads are
decoded at this boundary: `Received.message` is a protocol message, or `error` says why not.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass, field
from typing import Protocol

from protocol import DecodeError, Message, TopicError, decode


@dataclass(frozen=True, slots=True)
class Connected:
    """The broker accepted the session (CONNACK success)."""


@dataclass(frozen=True, slots=True)
class ConnectFailed:
    """The connection attempt failed; `reason` says how."""

    reason: str


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The session ended (network error, broker gone, or our own disconnect)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Published:
    """The broker acknowledged (PUBACK) message `mid`; `ok` is False for a failure code."""

    mid: int
    ok: bool = True


@dataclass(frozen=True, slots=True)
class Received:
    """A message arrived on `topic`: decoded, or refused with `error`."""

    topic: str
    message: Message | None = None
    error: str | None = None


TransportEvent = Connected | ConnectFailed | Disconnected | Published | Received


def convert(topic: str, payload: bytes) -> Received:
    """Decode an inbound payload into a `Received` event (never raises)."""
    try:
        return Received(topic=topic, message=decode(topic, payload))
    except (DecodeError, TopicError) as exc:
        return Received(topic=topic, error=exc.reason)


class TransportError(Exception):
    """A publish or subscribe was attempted without a session."""


@dataclass(frozen=True, slots=True)
class Will:
    """The last will registered with the session."""

    topic: str
    payload: bytes


class Transport(Protocol):
    """An MQTT 5 client session as the agent sees it."""

    def connect(
        self, *, host: str, port: int, client_id: str, keepalive_s: int, will: Will
    ) -> None:
        """Start connecting a fresh session; the outcome arrives as an event."""
        ...

    def subscribe(self, topic_filters: list[str]) -> None:
        """Subscribe with QoS 1."""
        ...

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        """Publish with QoS 1; returns the message id that a `Published` event will name."""
        ...

    def disconnect(self) -> None:
        """End the session without the will (a clean stop)."""
        ...

    def next_event(self, timeout_s: float) -> TransportEvent | None:
        """The next event, waiting up to `timeout_s` (None if none came)."""
        ...


@dataclass
class MemoryTransport:
    """In-memory double: records publishes; the test plays the broker through `feed`."""

    published: list[tuple[str, bytes]] = field(default_factory=list)
    subscriptions: list[str] = field(default_factory=list)
    connects: list[Will] = field(default_factory=list)
    connected: bool = False
    auto_ack: bool = True
    _events: queue.SimpleQueue[TransportEvent] = field(default_factory=queue.SimpleQueue)
    _mid: int = 0
    unacked: list[int] = field(default_factory=list)

    def connect(
        self, *, host: str, port: int, client_id: str, keepalive_s: int, will: Will
    ) -> None:
        self.connects.append(will)

    def accept(self) -> None:
        """Play the broker accepting the last connect."""
        self.connected = True
        self._events.put(Connected())

    def refuse(self, reason: str = "connection refused") -> None:
        """Play the broker refusing the last connect."""
        self._events.put(ConnectFailed(reason))

    def drop(self, reason: str = "network down") -> None:
        """Play a lost connection; unacknowledged messages are forgotten."""
        self.connected = False
        self.unacked.clear()
        self._events.put(Disconnected(reason))

    def feed(self, topic: str, payload: bytes) -> None:
        """Play an inbound message."""
        self._events.put(convert(topic, payload))

    def ack(self, mid: int | None = None, *, ok: bool = True) -> None:
        """Acknowledge one (or, with None, every) unacknowledged publish."""
        mids = list(self.unacked) if mid is None else [mid]
        for m in mids:
            self.unacked.remove(m)
            self._events.put(Published(m, ok))

    def subscribe(self, topic_filters: list[str]) -> None:
        if not self.connected:
            raise TransportError("not connected")
        self.subscriptions.extend(topic_filters)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        if not self.connected:
            raise TransportError("not connected")
        self._mid += 1
        self.published.append((topic, payload))
        if self.auto_ack:
            self._events.put(Published(self._mid))
        else:
            self.unacked.append(self._mid)
        return self._mid

    def disconnect(self) -> None:
        if self.connected:
            self.connected = False
            self._events.put(Disconnected("client disconnect"))

    def next_event(self, timeout_s: float) -> TransportEvent | None:
        try:
            return self._events.get_nowait()
        except queue.Empty:
            return None
