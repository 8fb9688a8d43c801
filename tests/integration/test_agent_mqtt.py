"""The edge agent against a real Mosquitto: birth, telemetry, death, rebirth, outages, kill -9."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_agent.mqtt import MqttTransport
from edge_agent.runner import AgentThread, demo_config
from edge_agent.transport import Connected, Disconnected, TransportEvent, Will
from flexfleet.broker import Broker
from protocol import (
    COORDINATOR_STATE_TOPIC,
    Birth,
    Command,
    CommandAck,
    CoordinatorState,
    Death,
    Message,
    Telemetry,
    command_topic,
    encode,
)
from tests.edge_agent.support import (
    Subscriber,
    agent_stats,
    check_exactly_once,
    start_agent,
    stop_agent,
    write_config,
)

pytestmark = pytest.mark.integration


def has(kind: type, count: int = 1) -> Callable[[list[Message]], bool]:
    """A predicate: at least `count` messages of `kind` arrived."""
    return lambda got: sum(isinstance(m, kind) for m in got) >= count


def test_birth_then_telemetry_then_rebirth_on_command(
    broker: Broker, unique_site: str, tmp_path: Path
) -> None:
    """Once the coordinator is online: birth, telemetry batches; `rebirth` → ack and a new birth."""
    sub = Subscriber(broker.port, unique_site, client_id=f"{unique_site}-sub")
    agent = AgentThread(
        demo_config(site=unique_site, node="m1", broker=broker.url, state_dir=tmp_path / "a")
    ).start()
    try:
        time.sleep(1.0)
        assert sub.snapshot() == []  # waits for the coordinator
        state = CoordinatorState(online=True, ts=1_700_000_000_000, coordinator="c1")
        sub.publish(COORDINATOR_STATE_TOPIC, encode(state), retain=True)
        got = sub.wait_for(has(Telemetry, 2), timeout_s=10)
        birth = got[0]
        assert isinstance(birth, Birth)
        assert birth.node == "m1"
        assert not birth.historical
        assert {s.name for s in birth.signals} >= {"spindle_temp_c", "part_count"}
        assert "rebirth" in birth.capabilities
        command = Command(
            site=unique_site, node="m1", name="rebirth", cmd_id="r1", ts=1_700_000_000_000
        )
        sub.publish(command_topic(unique_site, "m1", "rebirth"), encode(command))
        got = sub.wait_for(lambda ms: has(Birth, 2)(ms) and has(CommandAck)(ms), timeout_s=10)
        births = [m for m in got if isinstance(m, Birth)]
        assert births[1].bd_seq == births[0].bd_seq
        assert births[1].seq > births[0].seq
        ack = next(m for m in got if isinstance(m, CommandAck))
        assert ack.ok
        assert ack.cmd_id == "r1"
    finally:
        agent.stop()
        sub.publish(COORDINATOR_STATE_TOPIC, b"", retain=True)  # clear the retained state
        sub.close()
    assert agent.error is None


def test_kill_9_sends_death_with_the_session_bd_seq(
    broker: Broker, unique_site: str, tmp_path: Path
) -> None:
    """SIGKILL → the broker publishes the agent's will: a death with its birth's bd_seq."""
    sub = Subscriber(broker.port, unique_site, client_id=f"{unique_site}-sub")
    config = write_config(tmp_path / "agent.toml", site=unique_site, node="m1", port=broker.port)
    proc = start_agent(config, tmp_path / "agent.log")
    try:
        got = sub.wait_for(has(Telemetry), timeout_s=15)
        birth = got[0]
        assert isinstance(birth, Birth)
    finally:
        stop_agent(proc, kill=True)
    got = sub.wait_for(has(Death), timeout_s=15)
    death = next(m for m in got if isinstance(m, Death))
    assert death.bd_seq == birth.bd_seq
    sub.close()


@pytest.mark.slow
def test_sigusr1_writes_the_agents_stacks_and_it_goes_on(
    broker: Broker, unique_site: str, tmp_path: Path
) -> None:
    """SIGUSR1 → every thread's stack in the agent's log (the main loop's among them), and
    the agent keeps publishing; SIGTERM still stops it cleanly."""
    sub = Subscriber(broker.port, unique_site, client_id=f"{unique_site}-sub")
    config = write_config(tmp_path / "agent.toml", site=unique_site, node="m1", port=broker.port)
    log = tmp_path / "agent.log"
    proc = start_agent(config, log)
    try:
        sub.wait_for(has(Telemetry), timeout_s=15)
        proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while "run_core" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        text = log.read_text()
        assert "run_core" in text  # the main loop's frame
        assert text.count("hread 0x") >= 2  # "Current thread", "Thread": the network one too
        before = sum(isinstance(m, Telemetry) for m in sub.snapshot())
        sub.wait_for(has(Telemetry, before + 2), timeout_s=15)
        assert proc.poll() is None
    finally:
        stop_agent(proc)
        sub.close()


def test_broker_outage_every_sample_arrives_once(
    broker: Broker, unique_site: str, tmp_path: Path
) -> None:
    """Broker stopped 5 s while the agent samples, then restarted: every seq and sample arrives.

    (The 30 s outage of issue 3 runs against the coordinator in test_agent_coordinator.py.)
    """
    sub = Subscriber(
        broker.port, unique_site, client_id=f"{unique_site}-sub", announce_coordinator=True
    )
    config = write_config(
        tmp_path / "agent.toml", site=unique_site, node="m1", port=broker.port, wait="true"
    )
    proc = start_agent(config, tmp_path / "agent.log")
    try:
        sub.wait_for(has(Telemetry, 3), timeout_s=15)
        broker.stop()
        time.sleep(5)
        broker.start()
        sub.wait_for(lambda ms: sum(isinstance(m, Birth) for m in ms) >= 2, timeout_s=30)
        time.sleep(2)
    finally:
        stop_agent(proc)
    time.sleep(1)
    stats, held = agent_stats(tmp_path / "state")
    by_seq = check_exactly_once(sub.snapshot(), stats, held)
    sub.close()
    historical = [m for m in by_seq.values() if isinstance(m, Telemetry) and m.historical]
    assert len(historical) >= 10  # 5 s of 5 batches/s were buffered and replayed
    assert stats.bd_seq >= 2


@pytest.mark.slow
def test_kill_9_and_restart_loses_and_duplicates_nothing(
    broker: Broker, unique_site: str, tmp_path: Path
) -> None:
    """kill -9 mid-stream, restart on the same state: every produced seq and sample arrives."""
    sub = Subscriber(broker.port, unique_site, client_id=f"{unique_site}-sub")
    config = write_config(tmp_path / "agent.toml", site=unique_site, node="m1", port=broker.port)
    first = start_agent(config, tmp_path / "agent.log")
    try:
        sub.wait_for(has(Telemetry, 5), timeout_s=15)
    finally:
        stop_agent(first, kill=True)
    second = start_agent(config, tmp_path / "agent.log")
    try:
        sub.wait_for(lambda ms: sum(isinstance(m, Birth) for m in ms) >= 2, timeout_s=15)
        time.sleep(2)
    finally:
        stop_agent(second)
    time.sleep(1)
    stats, held = agent_stats(tmp_path / "state")
    by_seq = check_exactly_once(sub.snapshot(), stats, held)
    births = sorted((m.seq, m.bd_seq) for m in by_seq.values() if isinstance(m, Birth))
    assert births[1][1] > births[0][1]  # the restarted agent opened a new session
    sub.close()


def next_of(transport: MqttTransport, kind: type, timeout_s: float) -> TransportEvent:
    """The next event of `kind` (others are skipped)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        event = transport.next_event(0.1)
        if event is not None and isinstance(event, kind):
            return event
    raise AssertionError(f"no {kind.__name__} event")


def test_a_lost_session_is_never_reconnected_by_paho(broker: Broker, unique_site: str) -> None:
    """paho's own retry is off: after the broker went away and came back, nothing connects
    until the agent asks (on its own backoff), so it always starts a fresh session."""
    transport = MqttTransport()
    will = Will(f"ff/v1/{unique_site}/m1/death", b"{}")
    transport.connect(
        host=broker.host, port=broker.port, client_id=f"{unique_site}-t", keepalive_s=5, will=will
    )
    try:
        next_of(transport, Connected, 10)
        broker.stop()
        next_of(transport, Disconnected, 10)
        broker.start()
        time.sleep(2.5)  # paho's own reconnect would have connected by now (1 s minimum delay)
        assert transport.next_event(0.5) is None
        transport.connect(
            host=broker.host,
            port=broker.port,
            client_id=f"{unique_site}-t",
            keepalive_s=5,
            will=will,
        )
        next_of(transport, Connected, 10)
    finally:
        transport.disconnect()
