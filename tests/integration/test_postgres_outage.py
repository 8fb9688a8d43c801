"""A coordinator process on PostgreSQL, the database killed (SIGKILL) mid-stream: ingest
pauses without acking while `/healthz` says why, the broker keeps the backlog, and once the
server is back every published sample is stored exactly once."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from flexfleet.broker import Broker
from flexfleet.postgres import PostgresServer, start_postgres
from protocol import Birth, SignalSpec, Telemetry, encode, topic_for
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

MESSAGES = 300
SAMPLES = 20
T0 = 1_700_000_000_000


@pytest.fixture
def database() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own (fsync on), so it can be killed."""
    base = Path(tempfile.mkdtemp(prefix="ff-pg-outage-"))
    server = start_postgres(base, fsync=True, shared_buffers="16MB")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def _count(url: str, table: str) -> int:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            return int(row[0]) if row else 0
    except psycopg.OperationalError:
        return -1


def _status(api: httpx.Client) -> int:
    """`/healthz`'s status code (0 while the server is not listening yet)."""
    try:
        return api.get("/healthz").status_code
    except httpx.TransportError:
        return 0


def test_database_killed_mid_stream_pauses_ingest_and_loses_nothing(
    broker: Broker, database: PostgresServer, tmp_path: Path, unique_site: str
) -> None:
    """SIGKILL of PostgreSQL under a stream: 503 with the database's reason, then every
    message and sample stored once after the restart."""
    coordinator = subprocess.Popen(
        [
            sys.executable, "-m", "flexfleet", "coordinator", "--broker", broker.url,
            "--db", database.url, "--http-port", "0", "--dev",
            "--coordinator-id", f"pg-{unique_site}", "--site", unique_site,
        ],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert coordinator.stdout is not None
    base = coordinator.stdout.readline().strip().removesuffix("/api/v1")
    pub = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"pub-{unique_site}", protocol=mqtt.MQTTv5
    )
    try:
        with httpx.Client(base_url=base, timeout=10) as api:
            wait_until(lambda: _status(api) == 200, timeout_s=30)
            pub.connect(broker.host, broker.port)
            pub.loop_start()
            birth = Birth(
                site=unique_site, node="m1", bd_seq=0, seq=0, ts=T0, node_kind="machine",
                signals=(SignalSpec(name="temp", unit="C"),),
            )  # fmt: skip
            pub.publish(topic_for(birth), encode(birth), qos=1).wait_for_publish(5)
            for seq in range(1, MESSAGES + 1):
                samples = tuple(("temp", T0 + seq * 1000 + k, float(k)) for k in range(SAMPLES))
                message = Telemetry(
                    site=unique_site, node="m1", bd_seq=0, seq=seq, ts=T0, samples=samples
                )
                pub.publish(topic_for(message), encode(message), qos=1).wait_for_publish(5)
                if seq == MESSAGES // 3:
                    database.kill()
                    wait_until(lambda: _status(api) == 503, timeout_s=30)
                    body = api.get("/healthz").json()
                    assert body["database_connected"] is False
                    assert "PostgreSQL" in body["database_error"]
                    assert body["ingest_running"] is True
            database.start()
            wait_until(lambda: _count(database.url, "samples") >= MESSAGES * SAMPLES, timeout_s=90)
            wait_until(lambda: _status(api) == 200, timeout_s=30)
    finally:
        pub.loop_stop()
        coordinator.terminate()
        coordinator.wait(30)
        coordinator.stdout.close()
    assert _count(database.url, "messages") == MESSAGES + 1
    assert _count(database.url, "samples") == MESSAGES * SAMPLES
