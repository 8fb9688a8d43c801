"""The coordinator on a real Mosquitto: publish → stored → visible in the API; bad input
from the real `mosquitto_pub` lands in dead letters; death marks a node offline; data from
an unknown node earns a rebirth command."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from flexfleet.broker import Broker
from protocol import (
    COORDINATOR_STATE_TOPIC,
    Birth,
    CoordinatorState,
    Message,
    SignalSpec,
    Stock,
    Telemetry,
    decode,
    encode,
    topic_for,
)
from tests.integration.coordinator_support import coordinator_api, coordinator_settings
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


def _publisher(broker: Broker, client_id: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


@pytest.fixture
def api(broker: Broker, tmp_path: Path, unique_site: str) -> Iterator[httpx.Client]:
    """A coordinator connected to the test broker, with its HTTP API."""
    settings = coordinator_settings(
        broker,
        tmp_path,
        unique_site,
        rebirth_min_interval_s=0.0,
    )
    with coordinator_api(settings) as client:
        yield client


def _node(api: httpx.Client, node: str, site: str | None = None) -> dict[str, Any] | None:
    response = api.get(f"/api/v1/nodes/{node}", params={"site": site} if site else None)
    return response.json() if response.status_code == 200 else None


def test_published_data_is_stored_and_visible(
    api: httpx.Client, broker: Broker, unique_site: str
) -> None:
    """Birth, telemetry and stock published at QoS 1 show up in the nodes, telemetry and stock APIs."""
    now = int(time.time() * 1000)
    pub = _publisher(broker, f"pub-{unique_site}")
    messages: list[Message] = [
        Birth(
            site=unique_site,
            node="m1",
            bd_seq=0,
            seq=0,
            ts=now,
            node_kind="machine",
            signals=(SignalSpec(name="temp", unit="C"),),
        ),
        *(
            Telemetry(
                site=unique_site,
                node="m1",
                bd_seq=0,
                seq=i,
                ts=now,
                samples=(("temp", now + i, float(i)),),
            )
            for i in range(1, 4)
        ),
        Stock(
            site=unique_site, node="m1", bd_seq=0, seq=4, ts=now, mode="snapshot", items={"sku": 9}
        ),
    ]
    for message in messages:
        pub.publish(topic_for(message), encode(message), qos=1).wait_for_publish(5)
    node = wait_until(lambda: (n := _node(api, "m1", unique_site)) and n["last_seq"] == 4 and n)
    assert (node["site"], node["kind"], node["online"], node["bd_seq"]) == (
        unique_site,
        "machine",
        True,
        0,
    )
    # the site named: another test's m1 on the shared broker would make the id ambiguous
    query = f"signal=temp&start={now}&end={now + 10}&site={unique_site}"
    points = api.get(f"/api/v1/nodes/m1/telemetry?{query}").json()["points"]
    assert [p["value"] for p in points] == [1.0, 2.0, 3.0]
    assert api.get(f"/api/v1/stock?site={unique_site}").json()[0]["qty"] == 9
    pub.disconnect()
    pub.loop_stop()


def test_bad_payloads_from_mosquitto_pub_are_dead_lettered(
    api: httpx.Client, broker: Broker, unique_site: str, tmp_path: Path
) -> None:
    """Garbage, wrong types, unknown kinds and mismatched ids sent by mosquitto_pub are dead
    letters; a good message after them is still ingested."""
    binary = tmp_path / "binary.bin"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    now = int(time.time() * 1000)
    bad = [
        ("telemetry", ["-m", "not json at all"]),
        ("telemetry", ["-f", str(binary)]),
        (
            "telemetry",
            [
                "-m",
                '{"v":1,"kind":"telemetry","site":"x","node":"m1","bd_seq":"0","seq":1,"ts":1,"samples":[]}',
            ],
        ),
        ("event", ["-m", '{"v":1,"kind":"teleport"}']),
        (
            "birth",
            [
                "-m",
                f'{{"v":1,"kind":"birth","site":"{unique_site}","node":"other","bd_seq":0,"seq":0,"ts":{now},"node_kind":"machine"}}',
            ],
        ),
    ]
    for kind, body in bad:
        subprocess.run(
            [
                "mosquitto_pub",
                "-h",
                broker.host,
                "-p",
                str(broker.port),
                "-q",
                "1",
                "-t",
                f"ff/v1/{unique_site}/m9/{kind}",
                *body,
            ],
            check=True,
            timeout=10,
        )
    good = Birth(site=unique_site, node="m9", bd_seq=0, seq=0, ts=now, node_kind="machine")
    subprocess.run(
        [
            "mosquitto_pub",
            "-h",
            broker.host,
            "-p",
            str(broker.port),
            "-q",
            "1",
            "-t",
            topic_for(good),
            "-m",
            encode(good).decode(),
        ],
        check=True,
        timeout=10,
    )
    # the items, not `total`: a page's count is read after its rows, so it may be newer
    page = wait_until(
        lambda: len((p := api.get("/api/v1/dead-letters").json())["items"]) >= 5 and p
    )
    errors = sorted(item["error"] for item in page["items"])
    assert errors == [
        "InvalidMessage",
        "MalformedPayload",
        "MalformedPayload",
        "TopicMismatch",
        "UnknownKind",
    ]
    assert wait_until(lambda: _node(api, "m9"))["online"] is True
    assert "flexfleet_dead_letters_total 5.0" in api.get("/metrics").text


_AGENT_WITH_WILL = """
import sys, time
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from protocol import Birth, Death, encode, topic_for
host, port, site = sys.argv[1], int(sys.argv[2]), sys.argv[3]
death = Death(site=site, node="d1", bd_seq=3)
c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="agent-" + site, protocol=mqtt.MQTTv5)
c.will_set(topic_for(death), encode(death), qos=1)
c.connect(host, port, keepalive=30)
c.loop_start()
b = Birth(site=site, node="d1", bd_seq=3, seq=0, ts=int(time.time() * 1000), node_kind="machine")
c.publish(topic_for(b), encode(b), qos=1).wait_for_publish(5)
print("born", flush=True)
time.sleep(60)
"""


def test_killed_agent_death_marks_node_offline(
    api: httpx.Client, broker: Broker, unique_site: str
) -> None:
    """An agent killed with SIGKILL leaves its last will (death); the node goes offline."""
    agent = subprocess.Popen(
        [sys.executable, "-c", _AGENT_WITH_WILL, broker.host, str(broker.port), unique_site],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert agent.stdout is not None
        assert agent.stdout.readline().strip() == "born"
        assert wait_until(lambda: _node(api, "d1"))["online"] is True
        agent.kill()
        agent.wait(5)
        node = wait_until(lambda: (n := _node(api, "d1")) and not n["online"] and n)
        assert node["offline_reason"] == "death"
    finally:
        agent.kill()
        agent.wait(5)
        if agent.stdout is not None:
            agent.stdout.close()


def test_unknown_node_gets_a_rebirth_command(
    api: httpx.Client, broker: Broker, unique_site: str
) -> None:
    """Telemetry from a node whose birth was never seen makes the coordinator send `rebirth`."""
    received: list[str] = []
    listener = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"cmd-{unique_site}", protocol=mqtt.MQTTv5
    )
    listener.on_message = lambda _c, _u, m: received.append(m.topic)
    listener.connect(broker.host, broker.port)
    listener.subscribe(f"ff/v1/{unique_site}/+/cmd/+", qos=1)
    listener.loop_start()
    time.sleep(0.3)
    now = int(time.time() * 1000)
    t = Telemetry(
        site=unique_site, node="ghost", bd_seq=0, seq=7, ts=now, samples=(("x", now, 1.0),)
    )
    pub = _publisher(broker, f"pub2-{unique_site}")
    pub.publish(topic_for(t), encode(t), qos=1).wait_for_publish(5)
    wait_until(lambda: received)
    assert received[0] == f"ff/v1/{unique_site}/ghost/cmd/rebirth"
    for client in (listener, pub):
        client.disconnect()
        client.loop_stop()


def test_retained_coordinator_state_says_online(
    api: httpx.Client, broker: Broker, unique_site: str
) -> None:
    """While running, the retained ff/v1/coordinator/state says online (agents flush on it)."""
    states: list[bytes] = []
    listener = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"state-{unique_site}", protocol=mqtt.MQTTv5
    )
    listener.on_message = lambda _c, _u, m: states.append(bytes(m.payload))
    listener.connect(broker.host, broker.port)
    listener.subscribe(COORDINATOR_STATE_TOPIC, qos=1)
    listener.loop_start()
    try:
        wait_until(lambda: states)
        state = decode(COORDINATOR_STATE_TOPIC, states[-1])
        assert isinstance(state, CoordinatorState)
        assert state.online
        assert state.coordinator == f"coord-{unique_site}"
    finally:
        listener.disconnect()
        listener.loop_stop()
