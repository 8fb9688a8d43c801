"""The MQTT alert channel: topics, payloads and kinds; then a real Mosquitto and paho subscriber."""

from __future__ import annotations

import queue
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from coordinator.alarms.escalation import EscalationPolicy
from coordinator.alarms.service import AlarmService
from coordinator.alarms.store import AlarmStore
from coordinator.notify.events import AlarmEvent
from coordinator.notify.mqtt_alerts import MqttAlertNotifier
from coordinator.notify.publisher import InMemoryPublisher
from fleet_runtime.clock import FakeClock, now_ms
from flexfleet.broker import Broker


def ev(kind: str, site: str = "s1", severity: str = "MAJOR") -> AlarmEvent:
    return AlarmEvent(
        event_id=1,
        kind=kind,
        alarm_id="abc123",
        site=site,
        severity=severity,
        escalation_level=0,
        actor="system",
        ts_ms=1,
    )


def test_topic_and_payload() -> None:
    """Alerts go to ff/v1/{site}/alerts/{severity}/{alarm_id} as the event's JSON, QoS 1."""
    pub = InMemoryPublisher()
    MqttAlertNotifier(pub).notify(ev("created"))
    [msg] = pub.messages
    assert msg.topic == "ff/v1/s1/alerts/MAJOR/abc123"
    assert (msg.qos, msg.retain) == (1, False)
    assert orjson.loads(msg.payload)["kind"] == "created"


def test_only_selected_kinds_are_published() -> None:
    """Repeat updates, comments and assignment changes stay off the alert topic."""
    pub = InMemoryPublisher()
    chan = MqttAlertNotifier(pub)
    for kind in ["updated", "commented", "assigned", "created", "escalated", "acknowledged"]:
        chan.notify(ev(kind))
    assert [orjson.loads(m.payload)["kind"] for m in pub.messages] == [
        "created",
        "escalated",
        "acknowledged",
    ]


def test_reserved_site_is_counted_not_raised() -> None:
    """A site the topic namespace refuses (reserved `coordinator`) is logged and counted."""
    pub = InMemoryPublisher()
    chan = MqttAlertNotifier(pub)
    chan.notify(ev("created", site="coordinator"))
    assert (pub.messages, chan.failed) == ([], 1)


class PahoPublisher:
    """A minimal `Publisher` over a plain paho client (the coordinator has its own)."""

    def __init__(self, client: mqtt.Client) -> None:
        self.client = client

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain)


def _client(broker: Broker, name: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


@pytest.mark.integration
def test_alerts_reach_a_paho_subscriber_through_mosquitto(
    broker: Broker, unique_site: str, tmp_path: Path
) -> None:
    """Trigger, escalation and clear arrive at a plain subscriber on the right alert topics."""
    got: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    subscribed: queue.Queue[bool] = queue.Queue()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sub", protocol=mqtt.MQTTv5)
    sub.on_message = lambda _c, _u, msg: got.put(msg)
    sub.on_subscribe = lambda *_a: subscribed.put(True)
    sub.connect(broker.host, broker.port)
    sub.loop_start()
    sub.subscribe(f"ff/v1/{unique_site}/alerts/#", qos=1)
    subscribed.get(timeout=10)
    pub_client = _client(broker, "alarms")
    clock = FakeClock()
    svc = AlarmService(
        store=AlarmStore.open(tmp_path / "c.db"),
        clock=clock,
        notifiers=[MqttAlertNotifier(PahoPublisher(pub_client))],
        escalation=EscalationPolicy(after_s=60, max_level=1),
    )
    try:
        alarm = svc.raise_alarm(
            site=unique_site,
            source="press-1",
            alarm_type="overheat",
            severity="MINOR",
            message="hot",
            ts_ms=now_ms(clock),
        )
        clock.advance(61)
        svc.check_escalations()
        svc.clear_source(
            site=unique_site, source="press-1", alarm_type="overheat", ts_ms=now_ms(clock)
        )
        msgs = [got.get(timeout=10) for _ in range(3)]
    finally:
        svc.close()
        for c in (sub, pub_client):
            c.loop_stop()
            c.disconnect()
    base = f"ff/v1/{unique_site}/alerts"
    assert [m.topic for m in msgs] == [
        f"{base}/MINOR/{alarm.alarm_id}",
        f"{base}/MAJOR/{alarm.alarm_id}",
        f"{base}/MINOR/{alarm.alarm_id}",
    ]
    kinds = [orjson.loads(m.payload)["kind"] for m in msgs]
    assert kinds == ["created", "escalated", "cleared"]
    assert orjson.loads(msgs[1].payload)["escalation_level"] == 1
