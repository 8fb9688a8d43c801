"""The webhook delivery log: one record per attempt, kept by the alarm store."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal, Protocol

Outcome = Literal["delivered", "retrying", "failed", "dropped"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryRecord:
    """One attempt to deliver one event to one webhook.

    `outcome` is `delivered` (2xx), `retrying` (failed, another attempt is scheduled),
    `failed` (gave up, or the receiver refused with a 4xx) or `dropped` (never sent: queue
    full or shutting down).
    """

    delivery_id: str
    alarm_id: str
    event: str
    url: str
    attempt: int
    outcome: Outcome
    status_code: int | None
    error: str
    ts_ms: int


class DeliveryLog(Protocol):
    """Where delivery attempts are recorded."""

    def record_delivery(self, record: DeliveryRecord) -> None:
        """Append one record."""
        ...


@dataclass
class InMemoryDeliveryLog:
    """A `DeliveryLog` in a list; thread-safe."""

    records: list[DeliveryRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record_delivery(self, record: DeliveryRecord) -> None:
        with self._lock:
            self.records.append(record)

    def snapshot(self) -> list[DeliveryRecord]:
        """A copy of the records so far."""
        with self._lock:
            return list(self.records)
