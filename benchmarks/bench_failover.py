"""Failover time of a standby coordinator: kill -9 of the leader under load to the first
sample committed by the new leader.

One run: a Mosquitto and a throwaway PostgreSQL (Debian's binaries, fsync on) started here,
two `flexfleet coordinator --leader-lock` processes with the same coordinator id (one leads,
one stands by) and a publisher process offering `--rate` messages/s of
`--samples-per-message` samples (QoS 1, one node) for `--seconds`. `--kill-after` seconds in,
the leader gets SIGKILL. Then, every 10 ms:

- `/healthz` of the standby until it says `role: leader` (lock taken, parts started);
- PostgreSQL until a message row appears whose `received_ms` is after the kill: only the new
  leader can have received it, so its commit is the first of the new leader.

Repeated `--runs` times (fresh processes, broker and database each time); prints each run and
the median. At the end of each run it checks the database holds every published message and
sample exactly once.

    .venv/bin/python benchmarks/bench_failover.py
    .venv/bin/python benchmarks/bench_failover.py --runs 3 --rate 200 --samples-per-message 100
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

T0 = 1_700_000_000_000


def _publish(
    host: str, port: int, site: str, rate: int, seconds: float, samples: int, ready: Any
) -> None:
    """Birth, then `rate` telemetry messages a second for `seconds` (QoS 1)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from protocol import Birth, SignalSpec, Telemetry, encode, topic_for

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{site}", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.connect(host, port)
    client.loop_start()
    birth = Birth(site=site, node="m1", bd_seq=0, seq=0, ts=T0, node_kind="machine",
                  signals=(SignalSpec(name="temp", unit="C"),))  # fmt: skip
    client.publish(topic_for(birth), encode(birth), qos=1).wait_for_publish(10)
    total = int(rate * seconds)
    payloads = [
        encode(Telemetry(site=site, node="m1", bd_seq=0, seq=seq, ts=T0,
                         samples=tuple(("temp", T0 + seq * 1000 + k, float(k))
                                       for k in range(samples))))
        for seq in range(1, total + 1)
    ]  # fmt: skip
    topic = topic_for(
        Telemetry(site=site, node="m1", bd_seq=0, seq=1, ts=T0, samples=(("temp", T0, 0.0),))
    )
    ready.set()
    start = time.monotonic()
    infos = []
    for index, payload in enumerate(payloads):
        infos.append(client.publish(topic, payload, qos=1))
        time.sleep(max(0.0, start + (index + 1) / rate - time.monotonic()))
    for info in infos:
        info.wait_for_publish(60)
    client.loop_stop()
    client.disconnect()


def _coordinator(broker_url: str, db_url: str, data: Path, site: str) -> tuple[Any, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "flexfleet", "coordinator", "--broker", broker_url,
         "--db", db_url, "--http-port", "0", "--dev", "--coordinator-id", f"c-{site}",
         "--site", site, "--leader-lock"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "FLEXFLEET_DB_PATH": str(data / "c.db")},
    )  # fmt: skip
    assert process.stdout is not None
    base = process.stdout.readline().strip().removesuffix("/api/v1")
    return process, base


def _role(base: str) -> str:
    import httpx

    try:
        return str(httpx.get(f"{base}/healthz", timeout=2).json().get("role", ""))
    except (httpx.TransportError, ValueError):
        return ""


def _wait(predicate: Any, timeout_s: float, interval_s: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise TimeoutError(f"not within {timeout_s} s")


def _stop_all(processes: list[Any]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        if process.stdout is not None:
            process.stdout.close()


def one_run(args: argparse.Namespace, run: int) -> dict[str, float]:
    """Start everything, kill the leader, measure; returns the figures of the run."""
    import psycopg

    from flexfleet.broker import start_broker
    from flexfleet.postgres import start_postgres

    tmp = Path(tempfile.mkdtemp(prefix="ff-failover-"))
    site = f"f{run}"
    broker = start_broker(tmp / "mosquitto")
    pg_base = Path(tempfile.mkdtemp(prefix="ff-failover-pg-"))  # not under a 0700 directory
    server = start_postgres(pg_base, fsync=True, shared_buffers="64MB")
    processes: list[Any] = []
    try:
        url = server.url

        def scalar(sql: str, params: tuple[Any, ...] = ()) -> int:
            with psycopg.connect(url) as conn:
                row = conn.execute(sql, params).fetchone()
                return int(row[0]) if row and row[0] is not None else 0

        leader, leader_url = _coordinator(broker.url, url, tmp, site)
        processes.append(leader)
        _wait(lambda: _role(leader_url) == "leader", 60, 0.1)
        standby, standby_url = _coordinator(broker.url, url, tmp, site)
        processes.append(standby)
        _wait(lambda: _role(standby_url) == "standby", 60, 0.1)
        ready = mp.Event()
        publisher = mp.Process(
            target=_publish,
            args=(broker.host, broker.port, site, args.rate, args.seconds,
                  args.samples_per_message, ready),
        )  # fmt: skip
        publisher.start()
        ready.wait(60)
        time.sleep(args.kill_after)
        before = scalar("SELECT count(*) FROM messages")
        kill_ms = int(time.time() * 1000)
        killed = time.monotonic()
        leader.send_signal(signal.SIGKILL)
        leader.wait(10)
        _wait(lambda: _role(standby_url) == "leader", 60)
        leading_s = time.monotonic() - killed
        _wait(
            lambda: scalar("SELECT count(*) FROM messages WHERE received_ms > %s", (kill_ms,)),
            60,
        )
        first_commit_s = time.monotonic() - killed
        publisher.join(args.seconds + 120)
        expected = int(args.rate * args.seconds)
        _wait(lambda: scalar("SELECT count(*) FROM messages") >= expected + 1, 120, 0.2)
        messages = scalar("SELECT count(*) FROM messages")
        samples = scalar("SELECT count(*) FROM samples")
        return {
            "leading_s": leading_s,
            "first_commit_s": first_commit_s,
            "stored_before_kill": before,
            "messages": messages,
            "messages_expected": expected + 1,
            "samples": samples,
            "samples_expected": expected * args.samples_per_message,
        }
    finally:
        _stop_all(processes)
        broker.stop()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(pg_base, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=int, default=200, help="messages/s offered")
    parser.add_argument("--samples-per-message", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the load lasts")
    parser.add_argument("--kill-after", type=float, default=8.0, help="s into the load")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    print(f"offered: {args.rate} messages/s × {args.samples_per_message} samples = "
          f"{args.rate * args.samples_per_message} samples/s for {args.seconds} s")  # fmt: skip
    runs = []
    for run in range(args.runs):
        figures = one_run(args, run)
        runs.append(figures)
        exact = (figures["messages"], figures["samples"]) == (
            figures["messages_expected"], figures["samples_expected"])  # fmt: skip
        print(
            f"run {run + 1}: standby leads after {figures['leading_s']:.2f} s, first sample "
            f"committed by it {figures['first_commit_s']:.2f} s after the kill; stored "
            f"{figures['messages']}/{figures['messages_expected']} messages, "
            f"{figures['samples']}/{figures['samples_expected']} samples "
            f"({'exact' if exact else 'NOT EXACT'})",
            flush=True,
        )
    print(
        f"median: leads after {statistics.median(r['leading_s'] for r in runs):.2f} s, "
        f"first commit {statistics.median(r['first_commit_s'] for r in runs):.2f} s "
        f"(goal ≤ 10 s); load average at end: {os.getloadavg()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
