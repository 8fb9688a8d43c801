"""A command sent by a coordinator that is then killed (SIGKILL) is answered after the
restart and still matched: the command is in SQLite before it is published."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from flexfleet.broker import Broker
from protocol import Birth, Command, CommandAck, decode, encode, topic_for
from tests.integration.coordinator_support import coordinator_process
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


def _coordinator(
    broker: Broker, db: Path, site: str
) -> AbstractContextManager[tuple[subprocess.Popen[str], str]]:
    return coordinator_process(broker, db, coordinator_id=f"cmd-{site}")


class _Agent:
    """A paho client playing an agent that takes config: it records commands and answers
    only when told to."""

    def __init__(self, broker: Broker, site: str) -> None:
        self.site = site
        self.commands: list[Command] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"agent-{site}", protocol=mqtt.MQTTv5
        )
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.subscribe(f"ff/v1/{site}/m1/cmd/+", qos=1)
        self.client.loop_start()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        message = decode(msg.topic, bytes(msg.payload))
        if isinstance(message, Command):
            with self._lock:
                self.commands.append(message)

    def received(self, cmd_id: str) -> bool:
        with self._lock:
            return any(c.cmd_id == cmd_id for c in self.commands)

    def publish(self, message: Birth | CommandAck) -> None:
        self.client.publish(topic_for(message), encode(message), qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_a_command_sent_before_a_kill_is_matched_after_the_restart(
    broker: Broker, tmp_path: Path, unique_site: str
) -> None:
    """Config sent (202), coordinator SIGKILLed, restarted on the same file: the node's nack
    is matched to the command; the same ack redelivered changes nothing."""
    db = tmp_path / "c.db"
    agent = _Agent(broker, unique_site)
    try:
        with _coordinator(broker, db, unique_site) as (first, base):
            now = int(time.time() * 1000)
            agent.publish(
                Birth(
                    site=unique_site, node="m1", bd_seq=0, seq=0, ts=now, node_kind="machine",
                    capabilities=("config",),
                )
            )  # fmt: skip
            node_url = f"{base}/api/v1/nodes/m1"
            wait_until(lambda: httpx.get(node_url).status_code == 200)
            response = httpx.post(
                f"{node_url}/config",
                params={"site": unique_site, "wait_s": 0},
                json={"sampling_interval_ms": 250},
            )
            assert response.status_code == 202, response.text
            cmd_id = response.json()["cmd_id"]
            wait_until(lambda: agent.received(cmd_id))
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        with _coordinator(broker, db, unique_site) as (_second, base):
            url = f"{base}/api/v1/commands/{cmd_id}"
            assert httpx.get(url).json()["state"] == "sent"
            nack = CommandAck(
                site=unique_site, node="m1", name="config", cmd_id=cmd_id,
                ts=int(time.time() * 1000), ok=False, reason="sampling is fixed on this node",
            )  # fmt: skip
            agent.publish(nack)
            answered = wait_until(lambda: (c := httpx.get(url).json())["state"] != "sent" and c)
            assert (answered["state"], answered["reason"], answered["args"]) == (
                "rejected",
                "sampling is fixed on this node",
                {"sampling_interval_ms": 250},
            )
            again = CommandAck(
                site=unique_site, node="m1", name="config", cmd_id=cmd_id, ts=nack.ts, ok=True
            )
            agent.publish(again)  # a second, different answer: counted, changes nothing
            metrics = wait_until(
                lambda: 'outcome="duplicate_ack"' in (t := httpx.get(f"{base}/metrics").text) and t
            )
            assert 'flexfleet_commands_total{name="config",outcome="duplicate_ack"} 1.0' in metrics
            assert httpx.get(url).json() == answered
    finally:
        agent.close()
