"""Nothing lost when the broker crashes (issue 18 §1): kill -9 of Mosquitto under load, and of
Mosquitto and the coordinator together, each restarted with the same command line.

Real processes throughout: Mosquitto (the fixture's), `flexfleet coordinator` and two
`flexfleet agent`s sampling 20 signals every 10 ms each in small batches. Before each kill the
coordinator is paused for two seconds (SIGSTOP/SIGCONT, as a coordinator busy at full load
is), so the broker holds messages it has acknowledged to the agents but not handed on:
exactly what a broker crash destroys. The agents keep those rows until the coordinator's
commit watermark covers them and replay them after reconnecting; afterwards every sample
each agent produced (its own persisted count) is stored exactly once, nothing counted lost.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flexfleet.broker import Broker
from tests.edge_agent.support import start_agent, stop_agent, write_config
from tests.integration.test_agent_coordinator import (
    CoordinatorProcess,
    assert_stored_exactly_once,
    wait_node,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NODES = ("m1", "m2")


@pytest.fixture
def coordinator(broker: Broker, tmp_path: Path) -> Iterator[CoordinatorProcess]:
    """`flexfleet coordinator` on the test broker, stopped after the test."""
    running = CoordinatorProcess(broker, tmp_path)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def kill_broker(broker: Broker) -> None:
    """kill -9 of Mosquitto: no persistence file written, no wills sent."""
    assert broker.process is not None
    broker.process.send_signal(signal.SIGKILL)
    broker.process.wait(timeout=10)
    broker.process = None


def start_agents(broker: Broker, site: str, tmp_path: Path) -> list[subprocess.Popen[bytes]]:
    """Two agents, each 4 simulated machines (20 signals) read every 10 ms, 20 samples a
    message: ~100 messages/s each, every one fsynced into its outbox."""
    agents = []
    for node in NODES:
        work = tmp_path / node
        work.mkdir()
        config = write_config(
            work / "agent.toml", site=site, node=node, port=broker.port, wait="true",
            interval_ms="10",
        )  # fmt: skip
        text = config.read_text().replace("machines = 2", "machines = 4")
        config.write_text(text.replace("max_samples = 200", "max_samples = 20"))
        agents.append(start_agent(config, work / "agent.log"))
    return agents


def pause(coordinator: CoordinatorProcess, seconds: float) -> None:
    """Stop the coordinator's process for `seconds` (shorter than its keepalive)."""
    assert coordinator.proc is not None
    coordinator.proc.send_signal(signal.SIGSTOP)
    time.sleep(seconds)


def resume(coordinator: CoordinatorProcess) -> None:
    assert coordinator.proc is not None
    coordinator.proc.send_signal(signal.SIGCONT)


def finish(
    agents: list[subprocess.Popen[bytes]],
    coordinator: CoordinatorProcess,
    site: str,
    tmp_path: Path,
) -> None:
    """Stop the agents cleanly, then check every node's samples are stored exactly once."""
    for agent in agents:
        stop_agent(agent)
    for node in NODES:
        assert_stored_exactly_once(coordinator, site, tmp_path / node, node=node)


def test_broker_kill_9_under_load_loses_nothing_and_stores_nothing_twice(
    broker: Broker, coordinator: CoordinatorProcess, unique_site: str, tmp_path: Path
) -> None:
    """kill -9 of Mosquitto while two agents stream and the coordinator lags behind, restart
    with the same command line: every sample stored once, none lost."""
    agents = start_agents(broker, unique_site, tmp_path)
    try:
        for node in NODES:
            wait_node(coordinator, unique_site, node, lambda e: e["counters"]["samples"] > 2000, 60)
        pause(coordinator, 2.0)
        kill_broker(broker)
        resume(coordinator)
        time.sleep(3)
        broker.start()
        for node in NODES:
            wait_node(coordinator, unique_site, node, lambda e: e["online"] and e["bd_seq"] > 1, 60)
        time.sleep(5)
    except BaseException:
        for agent in agents:
            stop_agent(agent, kill=True)
        raise
    finish(agents, coordinator, unique_site, tmp_path)


def test_broker_and_coordinator_kill_9_together_lose_nothing(
    broker: Broker, coordinator: CoordinatorProcess, unique_site: str, tmp_path: Path
) -> None:
    """kill -9 of Mosquitto and the coordinator at once (no will is ever published), both
    restarted with the same command lines: every sample stored once, none lost."""
    agents = start_agents(broker, unique_site, tmp_path)
    try:
        for node in NODES:
            wait_node(coordinator, unique_site, node, lambda e: e["counters"]["samples"] > 2000, 60)
        pause(coordinator, 2.0)
        kill_broker(broker)
        coordinator.stop(kill=True)
        time.sleep(3)
        broker.start()
        coordinator.start()
        for node in NODES:
            wait_node(coordinator, unique_site, node, lambda e: e["online"] and e["bd_seq"] > 1, 60)
        time.sleep(5)
    except BaseException:
        for agent in agents:
            stop_agent(agent, kill=True)
        raise
    finish(agents, coordinator, unique_site, tmp_path)
