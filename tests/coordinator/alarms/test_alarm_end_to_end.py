"""End to end through a real Mosquitto: an agent's anomaly event becomes an alarm and an alert.

agent (plain paho) → Mosquitto → coordinator ingest → alarm rules → AlarmSink → alarm service
→ SQLite and the MQTT alert topic → a plain paho subscriber.
"""

from __future__ import annotations

import queue
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from coordinator.service import Coordinator
from coordinator.settings import CoordinatorSettings
from flexfleet.broker import Broker
from protocol import Birth, Event, SignalSpec, encode, topic_for

T0_MS = 1_700_000_000_000


def _client(broker: Broker, name: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


@pytest.mark.integration
def test_anomaly_event_raises_and_clears_an_alarm_with_alerts(
    broker: Broker, unique_site: str, tmp_path: Path
) -> None:
    """A raised event opens an alarm (alert `created`), its cleared event clears it (`cleared`)."""
    alerts: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    subscribed: queue.Queue[bool] = queue.Queue()
    watcher = _client(broker, "watcher")
    watcher.on_message = lambda _c, _u, msg: alerts.put(msg)
    watcher.on_subscribe = lambda *_a: subscribed.put(True)
    watcher.subscribe(f"ff/v1/{unique_site}/alerts/#", qos=1)
    subscribed.get(timeout=10)

    settings = CoordinatorSettings(
        dev_mode=True,
        broker_url=f"mqtt://127.0.0.1:{broker.port}",
        db_path=tmp_path / "coordinator.db",
        coordinator_id=f"c-{unique_site}",
    )
    coordinator = Coordinator.open(settings)
    coordinator.start()
    agent = _client(broker, f"agent-{unique_site}")
    try:
        birth = Birth(
            site=unique_site,
            node="press-1",
            bd_seq=0,
            seq=0,
            ts=T0_MS,
            node_kind="machine",
            signals=(SignalSpec(name="temp"),),
        )
        raised = Event(
            site=unique_site,
            node="press-1",
            bd_seq=0,
            seq=1,
            ts=T0_MS + 1000,
            name="anomaly",
            severity="MAJOR",
            state="raised",
            signal="temp",
            detector="zscore",
            score=5.0,
            reason="temp far above baseline",
        )
        cleared = Event(
            site=unique_site,
            node="press-1",
            bd_seq=0,
            seq=2,
            ts=T0_MS + 9000,
            name="anomaly",
            severity="MAJOR",
            state="cleared",
            signal="temp",
            detector="zscore",
        )
        for message in (birth, raised, cleared):
            agent.publish(topic_for(message), encode(message), qos=1).wait_for_publish(10)
        first, second = alerts.get(timeout=15), alerts.get(timeout=15)
    finally:
        agent.loop_stop()
        agent.disconnect()
        watcher.loop_stop()
        watcher.disconnect()
        assert coordinator.alarms is not None
        alarms = coordinator.alarms.list_alarms()
        coordinator.stop()

    created, done = orjson.loads(first.payload), orjson.loads(second.payload)
    assert (created["kind"], done["kind"]) == ("created", "cleared")
    assert first.topic == f"ff/v1/{unique_site}/alerts/MAJOR/{created['alarm_id']}"
    assert created["alarm"]["source"] == "press-1/temp"
    assert created["alarm"]["alarm_type"] == "anomaly.zscore"
    [alarm] = alarms
    assert (alarm.alarm_id, alarm.status, alarm.clear_ms) == (
        created["alarm_id"],
        "CLEARED_UNACK",
        T0_MS + 9000,
    )
