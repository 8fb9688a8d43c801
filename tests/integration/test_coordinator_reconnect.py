"""The coordinator on a real Mosquitto that restarts: both of its connections come back on
their own (the shared backoff policy, paho's retry off), ingest resumes, and an agent event
and the node's death reach the alarm service through the fast lane and are applied once
through ingest."""

from __future__ import annotations

import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from coordinator.service import Coordinator
from flexfleet.broker import Broker
from protocol import Birth, Death, Event, Message, SignalSpec, Telemetry, encode, topic_for
from tests.integration.coordinator_support import coordinator_settings
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


def _publish(broker: Broker, messages: list[Message]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="agent-x", protocol=mqtt.MQTTv5)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        for message in messages:
            client.publish(topic_for(message), encode(message), qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def test_coordinator_reconnects_after_a_broker_restart(
    broker: Broker, tmp_path: Path, unique_site: str
) -> None:
    """Stop the broker, start it again: the coordinator's ingest and fast-lane connections
    reconnect by themselves, data published afterwards is stored once, and the anomaly event
    and the node's death raise their alarms once each (seen by both lanes, dispatched by
    one)."""
    settings = coordinator_settings(
        broker,
        tmp_path,
        unique_site,
        reconnect_base_s=0.1,
        reconnect_cap_s=0.5,
    )
    coordinator = Coordinator.open(settings)
    coordinator.start()
    try:
        events = coordinator.events_mqtt
        lane = coordinator.fast_lane
        assert events is not None
        assert lane is not None
        wait_until(lambda: coordinator.mqtt.connected and events.connected)
        broker.stop()
        wait_until(lambda: not coordinator.mqtt.connected and not events.connected)
        broker.start()
        wait_until(lambda: coordinator.mqtt.connected and events.connected)
        assert coordinator.mqtt.connections == 2
        assert events.connections == 2

        ts = int(time.time() * 1000)
        birth = Birth(
            site=unique_site,
            node="m1",
            bd_seq=0,
            seq=0,
            ts=ts,
            node_kind="machine",
            signals=(SignalSpec(name="temp"),),
        )
        telemetry = Telemetry(
            site=unique_site, node="m1", bd_seq=0, seq=1, ts=ts, samples=(("temp", ts, 20.5),)
        )
        event = Event(
            site=unique_site,
            node="m1",
            bd_seq=0,
            seq=2,
            ts=ts,
            name="anomaly",
            severity="MAJOR",
            state="raised",
            signal="temp",
        )
        _publish(broker, [birth, telemetry, event])
        wait_until(lambda: coordinator.store.count("events") == 1)
        wait_until(lambda: coordinator.store.count("samples") == 1)
        assert coordinator.alarms is not None
        alarms = coordinator.alarms.list_alarms()
        assert [(a.source, a.count) for a in alarms] == [("m1/temp", 1)]
        # The fast lane received it; whichever lane came first, it was dispatched once.
        assert lane.dispatched + lane.left_to_writer == 1
        (node,) = coordinator.store.load_nodes()
        assert (node.gaps_seen, node.duplicates, node.received) == (0, 0, 3)

        _publish(broker, [Death(site=unique_site, node="m1", bd_seq=0)])
        wait_until(lambda: not coordinator.store.load_nodes()[0].online)
        wait_until(lambda: lane.deaths_dispatched + lane.deaths_left_to_writer == 1)
        offline = [a for a in coordinator.alarms.list_alarms() if a.alarm_type == "node_offline"]
        assert [(a.source, a.count) for a in offline] == [("m1", 1)]
    finally:
        coordinator.stop()
