"""The publishing port the coordinator's parts use to send MQTT messages.

It is the same shape as `coordinator.notify.publisher.Publisher` (the alert channel's
port), so the one paho adapter in `coordinator.mqtt_client` serves both; the in-memory
double is `coordinator.notify.publisher.InMemoryPublisher`.
"""

from __future__ import annotations

from coordinator.notify.publisher import InMemoryPublisher, PublishedMessage, Publisher

__all__ = ["InMemoryPublisher", "PublishedMessage", "Publisher"]
