"""Two coordinator processes for one site on one PostgreSQL behind the leader lock: the
standby serves reads and ingests nothing; kill -9 of the leader under a stream of QoS 1
telemetry: the standby takes the lock and the leader's MQTT session (same client id, so the
broker hands it the backlog and the messages the dead leader never acked), and every
published sample is stored exactly once."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from flexfleet.broker import Broker
from protocol import Birth, SignalSpec, Telemetry, encode, topic_for
from tests.integration.coordinator_support import coordinator_process
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

MESSAGES = 600
SAMPLES = 50
RATE = 150  # messages/s offered: 7,500 samples/s for 4 s
T0 = 1_700_000_000_000


def _count(url: str, table: str) -> int:
    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(row[0]) if row else 0


def _health(base: str) -> dict[str, object]:
    try:
        body: dict[str, object] = httpx.get(f"{base}/healthz", timeout=5).json()
    except httpx.TransportError:
        return {}
    return body


def _publish(pub: mqtt.Client, site: str, killed: threading.Event, kill_at: int) -> None:
    """The birth, then MESSAGES telemetry messages at RATE; `killed` is awaited at
    `kill_at`, so part of the stream goes out while no coordinator leads."""
    birth = Birth(
        site=site, node="m1", bd_seq=0, seq=0, ts=T0, node_kind="machine",
        signals=(SignalSpec(name="temp", unit="C"),),
    )  # fmt: skip
    pub.publish(topic_for(birth), encode(birth), qos=1).wait_for_publish(5)
    start = time.monotonic()
    for seq in range(1, MESSAGES + 1):
        if seq == kill_at:
            killed.wait(30)
        samples = tuple(("temp", T0 + seq * 1000 + k, float(k)) for k in range(SAMPLES))
        message = Telemetry(site=site, node="m1", bd_seq=0, seq=seq, ts=T0, samples=samples)
        pub.publish(topic_for(message), encode(message), qos=1).wait_for_publish(5)
        time.sleep(max(0.0, start + seq / RATE - time.monotonic()))


def test_leader_killed_under_load_standby_takes_over_nothing_lost_or_twice(
    broker: Broker, postgres_url: str, tmp_path: Path, unique_site: str
) -> None:
    """kill -9 of the leader mid-stream: the standby turns leader, ingests the rest with the
    dead leader's unacked messages, and the database holds each message and sample once."""
    args = ("--leader-lock", "--site", unique_site)
    env = {"FLEXFLEET_DB_PATH": str(tmp_path / "c.db")}  # one data directory for both
    pub = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"pub-{unique_site}", protocol=mqtt.MQTTv5
    )
    coordinator_id = f"c-{unique_site}"
    with coordinator_process(
        broker,
        postgres_url,
        coordinator_id=coordinator_id,
        args=args,
        env=env,
    ) as (leader, leader_url):
        assert _health(leader_url)["role"] == "leader"
        with coordinator_process(
            broker,
            postgres_url,
            coordinator_id=coordinator_id,
            args=args,
            env=env,
        ) as (_standby, standby_url):
            body = _health(standby_url)
            assert (body["role"], body["ingest_running"]) == ("standby", False)
            assert httpx.get(f"{standby_url}/api/v1/plans/routes", timeout=5).status_code == 503
            pub.connect(broker.host, broker.port)
            pub.loop_start()
            killed = threading.Event()
            stream = threading.Thread(
                target=_publish, args=(pub, unique_site, killed, MESSAGES // 2), daemon=True
            )
            try:
                stream.start()
                wait_until(lambda: _count(postgres_url, "samples") >= MESSAGES // 4 * SAMPLES)
                leader.kill()  # SIGKILL: no offline state, no unlock, unacked messages
                leader.wait(10)
                killed.set()
                body = wait_until(
                    lambda: (
                        (b := _health(standby_url)).get("role") == "leader"
                        and b.get("broker_connected")
                        and b
                    ),
                    timeout_s=60,
                )
                assert body["ingest_running"] is True
                stream.join(60)
                wait_until(
                    lambda: _count(postgres_url, "samples") >= MESSAGES * SAMPLES, timeout_s=60
                )
                node = httpx.get(f"{standby_url}/api/v1/nodes/m1", timeout=5).json()
            finally:
                pub.loop_stop()
                pub.disconnect()
    assert _count(postgres_url, "messages") == MESSAGES + 1
    assert _count(postgres_url, "samples") == MESSAGES * SAMPLES
    assert (node["last_seq"], node["counters"]["lost"]) == (MESSAGES, 0)


PLAN_ENV = {
    "FLEXFLEET_PLAN_TIME_LIMIT_S": "0.5",
    "FLEXFLEET_PLAN_QUIET_S": "0.2",
    "FLEXFLEET_PLAN_URGENT_QUIET_S": "0.05",
    "FLEXFLEET_PLAN_MAX_DELAY_S": "1.0",
}
JOBS = [
    {"id": f"j{k}", "operations": [{"options": [{"machine": "m1", "duration_s": 300},
                                                {"machine": "m2", "duration_s": 420}]}] * 2}
    for k in range(4)
]  # fmt: skip


def _sent(payload: bytes | bytearray) -> tuple[str, tuple[str, str, int]]:
    """(cmd_id, (node, command, plan version)) of a published command."""
    body = json.loads(payload)
    return body["cmd_id"], (body["node"], body["name"], int(body["args"]["version"]))


def test_standby_takes_over_the_saved_plans_and_sends_no_command_twice(
    broker: Broker, postgres_url: str, tmp_path: Path, unique_site: str
) -> None:
    """Orders and plans made by the leader are the standby's after a kill -9 of the leader:
    the same orders held, plan versions going on from the saved ones, and no command id
    published twice to the machines."""
    args = ("--leader-lock", "--site", unique_site)
    env = {"FLEXFLEET_DB_PATH": str(tmp_path / "c.db"), **PLAN_ENV}
    commands: list[tuple[str, tuple[str, str, int]]] = []
    agent = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"agent-{unique_site}", protocol=mqtt.MQTTv5
    )
    agent.on_message = lambda _c, _u, msg: commands.append(_sent(msg.payload))
    agent.connect(broker.host, broker.port)
    agent.subscribe(f"ff/v1/{unique_site}/+/cmd/+", qos=1)
    agent.loop_start()
    coordinator_id = f"c-{unique_site}"
    try:
        with coordinator_process(
            broker, postgres_url, coordinator_id=coordinator_id, args=args, env=env
        ) as (leader, leader_url):
            now = int(time.time() * 1000)
            for node in ("m1", "m2"):
                birth = Birth(site=unique_site, node=node, bd_seq=0, seq=0, ts=now,
                              node_kind="machine")  # fmt: skip
                agent.publish(topic_for(birth), encode(birth), qos=1).wait_for_publish(5)
            with httpx.Client(base_url=leader_url, timeout=10) as http:
                wait_until(
                    lambda: http.post("/api/v1/orders", json={"jobs": JOBS}).status_code == 202
                )
                saved = wait_until(
                    lambda: (s := http.get("/api/v1/plans/schedule").json())["version"] and s
                )
            with coordinator_process(
                broker, postgres_url, coordinator_id=coordinator_id, args=args, env=env
            ) as (_standby, standby_url):
                sent_before = list(commands)
                leader.kill()
                leader.wait(10)
                with httpx.Client(base_url=standby_url, timeout=10) as http:
                    wait_until(lambda: _health(standby_url).get("role") == "leader", 60)
                    held = http.get("/api/v1/orders").json()
                    schedule = http.get("/api/v1/plans/schedule").json()
                    time.sleep(2.0)  # a re-plan after the takeover would send now
    finally:
        agent.loop_stop()
        agent.disconnect()
    assert sorted(j["id"] for j in held["jobs"]) == [f"j{k}" for k in range(len(JOBS))]
    assert schedule["version"] >= saved["version"]
    assert schedule["epoch_s"] == saved["epoch_s"]
    assert len(sent_before) == 2  # the first schedule, to m1 and m2
    assert len({cmd_id for cmd_id, _ in commands}) == len(commands)  # no id sent twice
    assert len({plan for _, plan in commands}) == len(commands)  # no plan version twice
