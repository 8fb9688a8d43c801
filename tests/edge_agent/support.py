"""Helpers for tests against a real Mosquitto: a plain paho subscriber and agent processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from edge_agent.outbox import Outbox, OutboxStats
from protocol import COORDINATOR_STATE_TOPIC, CoordinatorState, Message, Telemetry, decode, encode

REPO = Path(__file__).resolve().parents[2]


class Subscriber:
    """A persistent-session QoS 1 subscriber recording every flexfleet message of one site."""

    def __init__(
        self, port: int, site: str, *, client_id: str, announce_coordinator: bool = False
    ) -> None:
        self._announce = announce_coordinator
        self.messages: list[Message] = []
        self.raw: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._topic = f"ff/v1/{site}/#"
        # A persistent session (clean_session=False) keeps what arrives while this client
        # reconnects. Across a broker restart it survives only if Mosquitto can write its
        # persistence file; tests that restart the broker use `announce_coordinator`, so
        # the agent sends nothing until this client has subscribed again.
        self.client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv311,
            clean_session=False,
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 1)
        self.client.connect("127.0.0.1", port, 30)
        self.client.loop_start()

    def _on_connect(self, client: paho.Client, *_: object) -> None:
        client.subscribe(self._topic, qos=1)
        if self._announce:  # play the coordinator: subscribed first, then "online" (retained)
            state = CoordinatorState(online=True, ts=1_700_000_000_000, coordinator="test")
            client.publish(COORDINATOR_STATE_TOPIC, encode(state), qos=1, retain=True)

    def _on_message(self, _c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        payload = bytes(msg.payload)
        message = decode(msg.topic, payload)
        with self._lock:
            self.messages.append(message)
            self.raw.append((msg.topic, payload))

    def snapshot(self) -> list[Message]:
        """Messages received so far."""
        with self._lock:
            return list(self.messages)

    def wait_for(
        self, predicate: Callable[[list[Message]], bool], timeout_s: float
    ) -> list[Message]:
        """Wait until `predicate(messages)` holds; fail the test on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            got = self.snapshot()
            if predicate(got):
                return got
            time.sleep(0.05)
        raise AssertionError(f"timed out; got {len(self.snapshot())} messages")

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish with QoS 1 and wait until it is sent."""
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def write_config(path: Path, *, site: str, node: str, port: int, **extra: str) -> Path:
    """An agent TOML file for a simulated machine talking to the test broker."""
    text = f"""
[node]
site = "{site}"
node = "{node}"
kind = "machine"
[mqtt]
broker = "mqtt://127.0.0.1:{port}"
wait_for_coordinator = {extra.get("wait", "false")}
keepalive_s = 5
reconnect_base_s = 0.1
reconnect_cap_s = 1.0
[outbox]
state_dir = "{path.parent / "state"}"
[sampling]
interval_ms = {extra.get("interval_ms", "50")}
[batching]
max_samples = 200
max_age_ms = 200
[replay]
max_messages_per_s = {extra.get("replay_rate", "200")}
[driver]
type = "sim"
seed = 5
machines = 2
[detectors]
enabled = false
"""
    path.write_text(text)
    return path


def start_agent(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """`flexfleet agent --config …` as a child process."""
    with log.open("ab") as err:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "flexfleet", "agent", "--config", str(config)],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def stop_agent(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    """SIGKILL, or SIGTERM and wait for the clean exit (an agent that has not exited
    after 20 s writes its threads' stacks to its log, SIGUSR1, and is killed)."""
    proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        code = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)
        time.sleep(1.0)
        proc.kill()
        proc.wait(timeout=10)
        raise AssertionError(
            "the agent did not stop within 20 s: its stacks are in its log"
        ) from None
    assert code in ((-9,) if kill else (0,))


def agent_stats(state_dir: Path) -> tuple[OutboxStats, dict[int, int]]:
    """The stopped agent's own counters, and seq -> samples of what its outbox still holds."""
    box = Outbox(state_dir / "outbox.sqlite3")
    try:
        return box.stats(), {row.seq: row.samples for row in box.pending(limit=10**7)}
    finally:
        box.close()


def check_exactly_once(
    messages: list[Message], stats: OutboxStats, held: dict[int, int]
) -> dict[int, Message]:
    """Every seq the agent produced arrived or is still held by it; nothing arrived twice
    with different content; the samples add up to the agent's own count.

    Returns the deduplicated messages by seq. Transport-level duplicates (a message whose
    PUBACK was lost) may arrive with the same content; the coordinator drops them by seq.
    """
    by_seq: dict[int, Message] = {}
    for message in messages:
        seq = getattr(message, "seq", None)
        if seq is None:
            continue
        if seq in by_seq:
            assert _content(by_seq[seq]) == _content(message), f"seq {seq} reused"
        else:
            by_seq[seq] = message
    assert stats.dropped_messages == 0
    missing = sorted(set(range(stats.next_seq)) - set(by_seq) - set(held))
    assert not missing, f"{len(missing)} seqs never arrived, e.g. {missing[:10]}"
    assert set(by_seq) <= set(range(stats.next_seq))
    received = sum(len(m.samples) for m in by_seq.values() if isinstance(m, Telemetry))
    still_held = sum(n for seq, n in held.items() if seq not in by_seq)
    assert received + still_held == stats.produced_samples
    return by_seq


def _content(message: Message) -> object:
    body = message.to_dict()
    body.pop("historical", None)
    return body
