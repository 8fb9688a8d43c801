"""Notification channels for alarm changes: MQTT alert topic, webhooks, server-sent events.

Each channel is a `Notifier` whose `notify(event)` only hands the event over; the I/O
happens elsewhere (paho's network loop, the webhook worker thread, the SSE response).
"""

from coordinator.notify.broadcast import AlarmBroadcaster, Subscription
from coordinator.notify.delivery import DeliveryLog, DeliveryRecord, InMemoryDeliveryLog
from coordinator.notify.errors import NotifyError, TooManySubscribers
from coordinator.notify.events import (
    EVENT_KINDS,
    URGENT_KINDS,
    AlarmEvent,
    Notifier,
    RecordingNotifier,
)
from coordinator.notify.mqtt_alerts import MqttAlertNotifier
from coordinator.notify.publisher import InMemoryPublisher, PublishedMessage, Publisher
from coordinator.notify.webhooks import WebhookNotifier, WebhookTarget

__all__ = [
    "EVENT_KINDS",
    "URGENT_KINDS",
    "AlarmBroadcaster",
    "AlarmEvent",
    "DeliveryLog",
    "DeliveryRecord",
    "InMemoryDeliveryLog",
    "InMemoryPublisher",
    "MqttAlertNotifier",
    "Notifier",
    "NotifyError",
    "PublishedMessage",
    "Publisher",
    "RecordingNotifier",
    "Subscription",
    "TooManySubscribers",
    "WebhookNotifier",
    "WebhookTarget",
]
