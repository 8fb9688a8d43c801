"""Re-planning in the running coordinator, on a real Mosquitto: orders posted to the API are
scheduled on the machines that announced themselves; when a machine reports DOWN the
coordinator re-plans without it, serves the new schedule at the API, and sends the machines
concerned their `schedule` updates over MQTT."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from coordinator.api.app import create_app
from coordinator.settings import load_settings
from flexfleet.broker import Broker
from protocol import (
    Birth,
    Command,
    Message,
    ScheduleUpdate,
    SignalSpec,
    Telemetry,
    decode,
    encode,
    plan_update,
    topic_for,
)
from tests.coordinator.conftest import serve

pytestmark = pytest.mark.integration


def _wait(predicate: Callable[[], Any], timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


class Machines:
    """Two machine agents' MQTT side: they publish data and receive their commands."""

    def __init__(self, broker: Broker, site: str) -> None:
        self.site = site
        self.commands: list[Command] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"machines-{site}", protocol=mqtt.MQTTv5
        )
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_args: self._subscribed.set()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.client.subscribe(f"ff/v1/{site}/+/cmd/+", qos=1)
        assert self._subscribed.wait(10)
        self.seq = {"m1": 0, "m2": 0}

    def _on_message(self, _client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        decoded = decode(message.topic, bytes(message.payload))
        assert isinstance(decoded, Command)
        with self._lock:
            self.commands.append(decoded)

    def received(self, node: str) -> list[ScheduleUpdate]:
        with self._lock:
            commands = [c for c in self.commands if c.node == node and c.name == "schedule"]
        updates = [plan_update(c) for c in commands]
        return [u for u in updates if isinstance(u, ScheduleUpdate)]

    def send(self, message: Message) -> None:
        self.client.publish(topic_for(message), encode(message), qos=1).wait_for_publish(10)

    def birth(self, node: str) -> None:
        self.send(
            Birth(
                site=self.site,
                node=node,
                bd_seq=0,
                seq=self._next(node),
                ts=int(time.time() * 1000),
                node_kind="machine",
                signals=(SignalSpec(name="state", unit="code"),),
            )
        )

    def state(self, node: str, code: float) -> None:
        now = int(time.time() * 1000)
        self.send(
            Telemetry(
                site=self.site,
                node=node,
                bd_seq=0,
                seq=self._next(node),
                ts=now,
                samples=(("state", now, code),),
            )
        )

    def _next(self, node: str) -> int:
        self.seq[node] += 1
        return self.seq[node] - 1

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def api(broker: Broker, tmp_path: Path, unique_site: str) -> Iterator[httpx.Client]:
    """A coordinator with short planning windows, connected to the test broker."""
    settings = load_settings(
        dev_mode=True,
        db_path=tmp_path / "c.db",
        broker_url=broker.url,
        coordinator_id=f"coord-{unique_site}",
        share_group=f"g{unique_site}",
        plan_time_limit_s=0.5,
        plan_quiet_s=0.2,
        plan_urgent_quiet_s=0.05,
        plan_max_delay_s=1.0,
    )
    with serve(create_app(settings)) as url, httpx.Client(base_url=url, timeout=10) as client:
        _wait(lambda: client.get("/healthz").status_code == 200)
        yield client


@pytest.fixture
def machines(broker: Broker, unique_site: str) -> Iterator[Machines]:
    """Machine agents m1 and m2 of this test's site."""
    running = Machines(broker, unique_site)
    yield running
    running.close()


def _on(schedule: dict[str, Any], machine: str) -> list[str]:
    return [op["operation_id"] for op in schedule["machines"].get(machine, [])]


def test_machine_down_replans_without_it_and_sends_the_diffs(
    api: httpx.Client, machines: Machines
) -> None:
    """m1 reporting DOWN leads to a new schedule without m1 at the API, and m1 and m2
    receive their schedule updates (m1's work reassigned out, m2's in) over MQTT."""
    empty = api.get("/api/v1/plans/schedule").json()
    assert (empty["version"], empty["made_ms"], empty["machines"]) == (0, None, {})

    machines.birth("m1")
    machines.birth("m2")
    machines.state("m1", 2.0)  # RUN
    orders = {
        "jobs": [
            {"id": f"j{k}", "operations": [{"options": [
                {"machine": "m1", "duration_s": 600}, {"machine": "m2", "duration_s": 900},
            ]}]}
            for k in range(3)
        ]
    }  # fmt: skip
    posted = _wait(lambda: (r := api.post("/api/v1/orders", json=orders)).status_code == 202 and r)
    assert posted.json() == {"accepted": ["j0", "j1", "j2"], "rush": 0}

    first = _wait(lambda: (s := api.get("/api/v1/plans/schedule").json())["version"] and s)
    assert _on(first, "m1"), "the faster machine gets work"
    assert first["status"] in {"optimal", "feasible"}
    assert first["made_ms"] is not None

    machines.state("m1", 3.0)  # DOWN
    replanned = _wait(
        lambda: (
            (s := api.get("/api/v1/plans/schedule").json())["version"] > first["version"]
            and {"kind": "machine_down", "key": "m1"} in s["triggers"]
            and s
        )
    )
    assert _on(replanned, "m1") == []
    assert sorted(_on(replanned, "m2")) == ["j0:0", "j1:0", "j2:0"]
    moved = sorted(_on(first, "m1"))

    version = replanned["version"]
    to_m1 = _wait(lambda: [u for u in machines.received("m1") if u.version == version])
    to_m2 = _wait(lambda: [u for u in machines.received("m2") if u.version == version])
    assert to_m1[0].operations == ()
    assert sorted(to_m1[0].reassigned_out) == moved
    assert sorted(to_m2[0].reassigned_in) == moved
    assert sorted(op.operation_id for op in to_m2[0].operations) == ["j0:0", "j1:0", "j2:0"]
