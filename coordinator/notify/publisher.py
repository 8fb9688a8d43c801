"""The MQTT publishing port the alert channel talks to.

The coordinator's paho module implements `Publisher`; `InMemoryPublisher` is the double.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol


class Publisher(Protocol):
    """Publishes one MQTT message; must not wait for the broker's acknowledgement."""

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        """Queue `payload` for `topic`."""
        ...


@dataclass(frozen=True, slots=True)
class PublishedMessage:
    """One message handed to a publisher."""

    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass
class InMemoryPublisher:
    """A `Publisher` that keeps every message, in order; thread-safe."""

    messages: list[PublishedMessage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        with self._lock:
            self.messages.append(PublishedMessage(topic, payload, qos, retain))

    def topics(self) -> list[str]:
        """The topics published so far."""
        with self._lock:
            return [m.topic for m in self.messages]
