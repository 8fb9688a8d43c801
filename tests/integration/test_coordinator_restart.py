"""Killing the coordinator (SIGKILL) mid-stream loses nothing and stores nothing twice.

Acks go out only after commit, the broker keeps the persistent session's backlog and
redelivers what was unacknowledged, and the restored seq trackers drop what was already
stored before the kill.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from flexfleet.broker import Broker
from protocol import Birth, Telemetry, encode, topic_for

pytestmark = pytest.mark.integration

MESSAGES = 400
SAMPLES = 25


def _start(broker: Broker, db: Path, site: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flexfleet",
            "coordinator",
            "--broker",
            broker.url,
            "--db",
            str(db),
            "--http-port",
            "0",
            "--dev",
            "--coordinator-id",
            f"restart-{site}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _count(db: Path, table: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _wait_count(db: Path, table: str, at_least: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        n = _count(db, table)
        if n >= at_least:
            return n
        time.sleep(0.05)
    return _count(db, table)


def test_sigkill_mid_stream_loses_nothing_and_duplicates_nothing(
    broker: Broker, tmp_path: Path, unique_site: str
) -> None:
    """Every published sample is stored exactly once across a SIGKILL and restart."""
    db = tmp_path / "restart.db"
    coordinator = _start(broker, db, unique_site)
    assert coordinator.stdout is not None
    assert coordinator.stdout.readline().startswith("http://")
    time.sleep(1.0)  # subscribed

    now = int(time.time() * 1000)
    pub = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"agent-{unique_site}", protocol=mqtt.MQTTv5
    )
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    birth = Birth(site=unique_site, node="m1", bd_seq=0, seq=0, ts=now, node_kind="machine")
    pub.publish(topic_for(birth), encode(birth), qos=1).wait_for_publish(5)

    def stream() -> None:
        for seq in range(1, MESSAGES + 1):
            t = Telemetry(
                site=unique_site,
                node="m1",
                bd_seq=0,
                seq=seq,
                ts=now,
                samples=tuple((f"s{k}", now + seq * 10, float(seq)) for k in range(SAMPLES)),
            )
            pub.publish(topic_for(t), encode(t), qos=1)
            time.sleep(0.003)

    sender = threading.Thread(target=stream)
    sender.start()
    _wait_count(db, "messages", MESSAGES // 4, 30)
    coordinator.send_signal(signal.SIGKILL)
    coordinator.wait(10)
    coordinator.stdout.close()
    stored_at_kill = _count(db, "messages")
    assert 0 < stored_at_kill < MESSAGES + 1, "the kill must land mid-stream"

    sender.join(60)
    restarted = _start(broker, db, unique_site)
    try:
        assert restarted.stdout is not None
        restarted.stdout.readline()
        _wait_count(db, "messages", MESSAGES + 1, 60)
        time.sleep(1.0)  # anything stored twice would show up now
        assert _count(db, "messages") == MESSAGES + 1
        assert _count(db, "samples") == MESSAGES * SAMPLES
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            received, lost = conn.execute(
                "SELECT received, lost FROM nodes WHERE node = 'm1'"
            ).fetchone()
        assert (received, lost) == (MESSAGES + 1, 0)
    finally:
        restarted.send_signal(signal.SIGTERM)
        try:
            restarted.wait(15)
        except subprocess.TimeoutExpired:
            restarted.kill()
            restarted.wait(5)
        if restarted.stdout is not None:
            restarted.stdout.close()
        pub.disconnect()
        pub.loop_stop()
