"""Alarm notifications on the MQTT alert topic `ff/v1/{site}/alerts/{severity}/{alarm_id}`.

Subscribers pick the urgency they care about with the topic filter
(`ff/v1/+/alerts/CRITICAL/#`); escalated events are published under the raised severity,
so an alarm nobody acknowledges reaches the more urgent subscribers too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from coordinator.notify.events import URGENT_KINDS, AlarmEvent
from coordinator.notify.publisher import Publisher
from protocol.errors import TopicError
from protocol.topics import alert_topic

_log = logging.getLogger(__name__)

MQTT_ALERT_KINDS = URGENT_KINDS | {"acknowledged"}


class MqttAlertNotifier:
    """Publishes selected alarm events as JSON on the alert topic (QoS 1, not retained)."""

    def __init__(
        self,
        publisher: Publisher,
        *,
        kinds: Iterable[str] = MQTT_ALERT_KINDS,
        qos: int = 1,
    ) -> None:
        self._publisher = publisher
        self._kinds = frozenset(kinds)
        self._qos = qos
        self.published = 0
        self.failed = 0

    def notify(self, event: AlarmEvent) -> None:
        """Publish the event if its kind is selected; a refused topic is logged and counted."""
        if event.kind not in self._kinds:
            return
        try:
            topic = alert_topic(event.site, event.severity, event.alarm_id)
        except TopicError as exc:
            self.failed += 1
            _log.warning("alarm %s not published: %s", event.alarm_id, exc.reason)
            return
        self._publisher.publish(topic, event.to_json(), self._qos, False)
        self.published += 1
