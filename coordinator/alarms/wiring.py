"""Build the alarm service with its channels from plain configuration values.

The coordinator's lifespan calls `build_alarm_service(...)`, then `service.start()`, stores
it at `app.state.alarms`, and calls `service.close()` at shutdown.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from coordinator.alarms.escalation import EscalationPolicy
from coordinator.alarms.service import AlarmService
from coordinator.alarms.store import AlarmStore
from coordinator.notify.events import Notifier
from coordinator.notify.mqtt_alerts import MqttAlertNotifier
from coordinator.notify.publisher import Publisher
from coordinator.notify.webhooks import WebhookNotifier, WebhookTarget
from fleet_runtime.clock import Clock


def build_alarm_service(
    *,
    db_path: str | Path,
    clock: Clock,
    publisher: Publisher | None = None,
    webhook_urls: Iterable[str] = (),
    webhook_secret: str | None = None,
    webhook_max_attempts: int = 5,
    webhook_base_delay_s: float = 1.0,
    webhook_max_delay_s: float = 60.0,
    webhook_timeout_s: float = 5.0,
    escalate_after_s: float = 900.0,
    escalation_max_level: int = 2,
    cleared_retention_s: float | None = None,
    purge_interval_s: float = 3600.0,
) -> AlarmService:
    """An `AlarmService` over the alarm tables in `db_path`, notifying on the MQTT alert
    topic (when a publisher is given), to each webhook URL, and to SSE subscribers.
    Cleared alarms older than `cleared_retention_s` are purged every `purge_interval_s`
    once the service is started (kept for ever when it is None).

    Raises `ValueError` for a webhook URL that is not http(s).
    """
    targets = [WebhookTarget(url, webhook_secret) for url in webhook_urls]
    store = AlarmStore.open(db_path)
    notifiers: list[Notifier] = []
    if publisher is not None:
        notifiers.append(MqttAlertNotifier(publisher))
    if targets:
        notifiers.append(
            WebhookNotifier(
                targets=targets,
                log=store,
                max_attempts=webhook_max_attempts,
                base_delay_s=webhook_base_delay_s,
                max_delay_s=webhook_max_delay_s,
                timeout_s=webhook_timeout_s,
            )
        )
    return AlarmService(
        store=store,
        clock=clock,
        notifiers=notifiers,
        escalation=EscalationPolicy(after_s=escalate_after_s, max_level=escalation_max_level),
        cleared_retention_s=cleared_retention_s,
        purge_interval_s=purge_interval_s,
    )
