"""Store-and-forward end to end: agent → Mosquitto → coordinator, across the three failures
of issue 3 — a 30 s broker outage, `kill -9` of the agent, and `kill -9` of the coordinator.

In each case every sample the agent produced (its own persisted count) is stored by the
coordinator exactly once: the node's `samples` counter and the rows of the `samples` table
both equal the agent's `produced_samples`, and nothing is counted lost or missing.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from flexfleet.broker import Broker, free_port
from protocol import COORDINATOR_STATE_TOPIC, CoordinatorState, decode
from tests.edge_agent.support import (
    REPO,
    agent_stats,
    start_agent,
    stop_agent,
    write_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class CoordinatorProcess:
    """`flexfleet coordinator` as a child process with a fixed id, port and database."""

    def __init__(
        self,
        broker: Broker,
        work: Path,
        *,
        coordinator_id: str = "coord-test",
        sites: tuple[str, ...] = (),
    ) -> None:
        self.broker, self.work = broker, work
        self.coordinator_id, self.sites = coordinator_id, sites
        self.port = free_port()
        self.db = work / "coordinator.db"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.work / "coordinator.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "flexfleet", "coordinator", "--broker", self.broker.url,
                 "--db", str(self.db), "--http-port", str(self.port), "--dev",
                 "--coordinator-id", self.coordinator_id,
                 *(arg for site in self.sites for arg in ("--site", site))],
                cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.work / "coordinator.log").read_text()[-2000:]
            try:
                self.get("/healthz")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise AssertionError("coordinator did not come up")

    def stop(self, *, kill: bool = False) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.proc = None

    def get(self, path: str) -> Any:
        url = f"http://127.0.0.1:{self.port}{path}"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)

    def node(self, site: str, node: str) -> dict[str, Any] | None:
        entries: list[dict[str, Any]] = self.get(f"/api/v1/nodes?site={site}")
        for entry in entries:
            if entry["node"] == node:
                return entry
        return None

    def stored_samples(self, site: str, node: str) -> int:
        with sqlite3.connect(self.db) as db:
            row = db.execute(
                "SELECT COUNT(*) FROM samples JOIN series ON samples.series_id = series.id "
                "JOIN nodes ON series.node_id = nodes.id WHERE nodes.site = ? AND nodes.node = ?",
                (site, node),
            ).fetchone()
        return int(row[0])


@pytest.fixture
def coordinator(broker: Broker, tmp_path: Path) -> Iterator[CoordinatorProcess]:
    """A coordinator on the test broker, stopped after the test."""
    running = CoordinatorProcess(broker, tmp_path)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def wait_node(
    coordinator: CoordinatorProcess, site: str, node: str, check: Any, timeout_s: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    entry: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        try:
            entry = coordinator.node(site, node)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            entry = None
        if entry is not None and check(entry):
            return entry
        time.sleep(0.2)
    raise AssertionError(f"node state never reached: {entry}")


def assert_stored_exactly_once(
    coordinator: CoordinatorProcess, site: str, tmp_path: Path, *, node: str = "m1"
) -> dict[str, Any]:
    stats, held = agent_stats(tmp_path / "state")
    assert not held, "the agent stopped cleanly with everything committed"
    assert stats.dropped_messages == 0
    entry = wait_node(
        coordinator, site, node, lambda e: e["counters"]["samples"] >= stats.produced_samples, 30
    )
    counters: dict[str, Any] = entry["counters"]
    assert counters["samples"] == stats.produced_samples
    assert coordinator.stored_samples(site, node) == stats.produced_samples
    assert counters["lost"] == 0
    assert counters["missing"] == 0
    assert counters["received"] == stats.produced_messages  # each seq counted once
    return counters


def test_broker_outage_30s_stores_every_sample_once(
    broker: Broker, coordinator: CoordinatorProcess, unique_site: str, tmp_path: Path
) -> None:
    """Broker down 30 s while the agent samples: afterwards the coordinator has every sample once."""
    config = write_config(
        tmp_path / "agent.toml", site=unique_site, node="m1", port=broker.port, wait="true"
    )
    agent = start_agent(config, tmp_path / "agent.log")
    try:
        wait_node(coordinator, unique_site, "m1", lambda e: e["counters"]["samples"] > 0, 30)
        broker.stop()
        time.sleep(30)
        broker.start()
        wait_node(coordinator, unique_site, "m1", lambda e: e["online"] and e["bd_seq"] > 1, 30)
        time.sleep(3)
    finally:
        stop_agent(agent)
    assert_stored_exactly_once(coordinator, unique_site, tmp_path)


def test_agent_kill_9_and_restart_stores_every_sample_once(
    broker: Broker, coordinator: CoordinatorProcess, unique_site: str, tmp_path: Path
) -> None:
    """kill -9 of the agent mid-stream and a restart on the same state: no loss, no duplicate."""
    config = write_config(
        tmp_path / "agent.toml", site=unique_site, node="m1", port=broker.port, wait="true"
    )
    first = start_agent(config, tmp_path / "agent.log")
    try:
        wait_node(coordinator, unique_site, "m1", lambda e: e["counters"]["samples"] > 200, 30)
    finally:
        stop_agent(first, kill=True)
    wait_node(coordinator, unique_site, "m1", lambda e: not e["online"], 15)
    second = start_agent(config, tmp_path / "agent.log")
    try:
        wait_node(coordinator, unique_site, "m1", lambda e: e["online"], 30)
        time.sleep(2)
    finally:
        stop_agent(second)
    assert_stored_exactly_once(coordinator, unique_site, tmp_path)


def test_coordinator_kill_9_and_restart_stores_every_sample_once(
    broker: Broker, coordinator: CoordinatorProcess, unique_site: str, tmp_path: Path
) -> None:
    """kill -9 of the coordinator mid-stream: its will turns the retained state offline, agents
    buffer, then flush when it is back; every sample stored once."""
    config = write_config(
        tmp_path / "agent.toml", site=unique_site, node="m1", port=broker.port, wait="true"
    )
    agent = start_agent(config, tmp_path / "agent.log")
    try:
        wait_node(coordinator, unique_site, "m1", lambda e: e["counters"]["samples"] > 200, 30)
        coordinator.stop(kill=True)
        wait_offline(broker, unique_site)  # the will: agents learn it is gone and buffer
        coordinator.start()
        before = coordinator.node(unique_site, "m1")
        assert before is not None
        wait_node(
            coordinator,
            unique_site,
            "m1",
            lambda e: e["counters"]["samples"] > before["counters"]["samples"] + 100,
            30,
        )
    finally:
        stop_agent(agent)
    assert_stored_exactly_once(coordinator, unique_site, tmp_path)


def retained_state(broker: Broker, client_id: str) -> CoordinatorState:
    """The retained coordinator state a newly subscribing agent would receive."""
    got: list[bytes] = []
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    client.on_message = lambda _c, _u, msg: got.append(bytes(msg.payload))
    client.connect(broker.host, broker.port)
    client.subscribe(COORDINATOR_STATE_TOPIC, qos=1)
    client.loop_start()
    try:
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        client.disconnect()
        client.loop_stop()
    assert got, "no retained coordinator state"
    state = decode(COORDINATOR_STATE_TOPIC, got[0])
    assert isinstance(state, CoordinatorState)
    return state


def wait_offline(broker: Broker, unique_site: str) -> None:
    """Wait until the retained coordinator state says offline (published by its will)."""
    deadline = time.monotonic() + 15
    for attempt in range(1000):
        state = retained_state(broker, f"{unique_site}-state-{attempt}")
        if not state.online:
            assert state.coordinator == "coord-test"
            return
        assert time.monotonic() < deadline, "the will never replaced the online state"
        time.sleep(0.2)


def test_two_coordinators_each_own_their_site(
    broker: Broker, unique_site: str, tmp_path: Path
) -> None:
    """Two coordinators on one broker, in the same share group, each owning one site: each
    stores only its own site's node; kill -9 of one makes only its own site's agent buffer
    while the other site carries on; after its restart every sample is stored once."""
    east_site, west_site = f"{unique_site}-e", f"{unique_site}-w"
    for name in ("ce", "cw", "east", "west"):
        (tmp_path / name).mkdir()
    east = CoordinatorProcess(broker, tmp_path / "ce", coordinator_id="c-e", sites=(east_site,))
    west = CoordinatorProcess(broker, tmp_path / "cw", coordinator_id="c-w", sites=(west_site,))
    agents: list[subprocess.Popen[bytes]] = []
    try:
        east.start()
        west.start()
        for site, name in ((east_site, "east"), (west_site, "west")):
            config = write_config(
                tmp_path / name / "agent.toml", site=site, node="m1", port=broker.port, wait="true"
            )
            agents.append(start_agent(config, tmp_path / name / "agent.log"))
        for coordinator, site in ((east, east_site), (west, west_site)):
            wait_node(coordinator, site, "m1", lambda e: e["counters"]["samples"] > 100, 30)
            assert [n["site"] for n in coordinator.get("/api/v1/nodes")] == [site]
        west.stop(kill=True)
        samples = east.get(f"/api/v1/nodes/m1?site={east_site}")["counters"]["samples"]
        wait_node(east, east_site, "m1", lambda e: e["counters"]["samples"] > samples + 300, 30)
        log = (tmp_path / "west" / "agent.log").read_text()
        assert "coordinator offline: buffering" in log  # its own coordinator's will
        west.start()
        samples = west.get(f"/api/v1/nodes/m1?site={west_site}")["counters"]["samples"]
        wait_node(west, west_site, "m1", lambda e: e["counters"]["samples"] > samples + 100, 30)
        for agent in agents:
            stop_agent(agent)
        agents.clear()
        assert "coordinator offline" not in (tmp_path / "east" / "agent.log").read_text()
        assert_stored_exactly_once(east, east_site, tmp_path / "east")
        assert_stored_exactly_once(west, west_site, tmp_path / "west")
    finally:
        for agent in agents:
            stop_agent(agent, kill=True)
        east.stop()
        west.stop()
