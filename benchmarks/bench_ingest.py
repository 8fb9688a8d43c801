"""Coordinator ingest throughput and ingest-to-queryable latency, against a bare paho subscriber.

One run, one Mosquitto (started here on a free port, the project's config):
  A. bare:        publisher processes → Mosquitto (QoS 1) → a plain paho subscriber that only
                  counts messages (auto-ack).                               → messages/s
  B. coordinator: the same publishers, same volume → Mosquitto (QoS 1) → the coordinator's
                  ingest (shared subscription, manual ack after commit, decode + strict
                  validation, seq dedupe, SQLite commit with rollups)      → samples/s
Prints both rates, their ratio, and the latency from publish (the message's `ts`, set at
publish time) to committed-and-queryable (commit listener), p50 / p99. Afterwards it checks
the database holds exactly the expected messages and samples (nothing lost, nothing twice).

Publishers pre-encode their messages before the clock starts (agents run on other machines
in production; here they share the 2 cores) and stamp `ts` at publish time.

With `--crash`, a third phase (C) offers the paced load again and kills Mosquitto with
SIGKILL halfway through, restarting it `--down-s` later with the same command line. Its
publishers follow the agent's delivery rule (issue 18): each announces the `watermark`
capability, keeps every message until the coordinator's commit watermark covers it, keeps
what it makes while the broker is down, and after reconnecting re-sends everything not
covered as `historical`. Prints lost and twice-stored messages and samples, the committed
rate over the phase, the time from the restart to the first commit, and how many messages
the publishers held at most (the agent's outbox rows in this rule).

    .venv/bin/python benchmarks/bench_ingest.py                       # defaults below
    .venv/bin/python benchmarks/bench_ingest.py --publishers 2 --nodes-per-publisher 4 \
        --messages-per-node 500 --samples-per-message 500
    .venv/bin/python benchmarks/bench_ingest.py --crash --paced-seconds 30 --down-s 5

With `--db postgresql://...` (or `--start-postgres`: a throwaway server from Debian's
binaries in the temporary directory, fsync on) the flood and paced phases run a second time
with the core tables on PostgreSQL (`PostgresStore`: COPY into day partitions, synchronous
commit), right after the SQLite ones on the same broker, and the script prints both rates
and their ratio; the integrity check covers both backends.

    .venv/bin/python benchmarks/bench_ingest.py --start-postgres
    .venv/bin/python benchmarks/bench_ingest.py --db postgresql://flexfleet@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PLACEHOLDER_TS = 1_999_999_999_999
SIGNALS_PER_NODE = 50


def _payloads(
    site: str,
    node: str,
    messages: int,
    samples_per_message: int,
    base_ms: int,
    capabilities: tuple[str, ...] = (),
) -> list[bytes]:
    from protocol import Birth, SignalSpec, Telemetry, encode

    signals = [f"sig{i:02d}" for i in range(SIGNALS_PER_NODE)]
    out = [
        encode(
            Birth(
                site=site,
                node=node,
                bd_seq=0,
                seq=0,
                ts=PLACEHOLDER_TS,
                node_kind="machine",
                signals=tuple(SignalSpec(name=s, unit="u") for s in signals),
                capabilities=capabilities,
            )
        )
    ]
    per_signal = max(1, samples_per_message // SIGNALS_PER_NODE)
    for seq in range(1, messages + 1):
        t0 = base_ms + seq * per_signal * 10
        samples = tuple(
            (signals[i % SIGNALS_PER_NODE], t0 + (i // SIGNALS_PER_NODE) * 10, float(i % 97) * 0.5)
            for i in range(samples_per_message)
        )
        out.append(
            encode(
                Telemetry(
                    site=site, node=node, bd_seq=0, seq=seq, ts=PLACEHOLDER_TS, samples=samples
                )
            )
        )
    return out


def _publisher(
    port: int,
    site: str,
    nodes: list[str],
    messages: int,
    samples: int,
    interval_s: float,
    ready: Any,
    go: Any,
) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    base_ms = int(time.time() * 1000)
    work = []
    for node in nodes:
        kinds = ["birth"] + ["telemetry"] * messages
        work.append(
            [
                (f"ff/v1/{site}/{node}/{k}", p)
                for k, p in zip(
                    kinds, _payloads(site, node, messages, samples, base_ms), strict=True
                )
            ]
        )
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-{site}-{nodes[0]}", protocol=mqtt.MQTTv5
    )
    client.max_inflight_messages_set(100)
    client.connect("127.0.0.1", port, keepalive=60)
    client.loop_start()
    ready.wait()
    go.wait()
    placeholder = b'"ts":%d' % PLACEHOLDER_TS
    last = None
    start = time.perf_counter()
    for i in range(messages + 1):
        if interval_s > 0:  # paced: one message per node every interval
            delay = start + i * interval_s - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        for per_node in work:
            topic, payload = per_node[i]
            stamped = payload.replace(placeholder, b'"ts":%d' % int(time.time() * 1000), 1)
            last = client.publish(topic, stamped, qos=1)
            while len(client._out_messages) > 2000:
                time.sleep(0.001)
    if last is not None:
        last.wait_for_publish(timeout=600)
    client.disconnect()
    client.loop_stop()


def _start_publishers(
    args: argparse.Namespace, port: int, site: str, *, messages: int, interval_s: float = 0.0
) -> tuple[list[Any], Any]:
    ctx = mp.get_context("spawn")
    ready = ctx.Barrier(args.publishers + 1)
    go = ctx.Event()
    procs = []
    for p in range(args.publishers):
        nodes = [f"p{p}n{n}" for n in range(args.nodes_per_publisher)]
        proc = ctx.Process(
            target=_publisher,
            args=(port, site, nodes, messages, args.samples_per_message, interval_s, ready, go),
            daemon=True,
        )
        proc.start()
        procs.append(proc)
    ready.wait()  # every publisher has its payloads encoded and is connected
    return procs, go


def run_bare(args: argparse.Namespace, port: int) -> float:
    """Messages per second received by a plain paho subscriber (QoS 1, auto ack)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    expected = args.publishers * args.nodes_per_publisher * (args.messages_per_node + 1)
    times: list[float] = []
    done = threading.Event()

    def on_message(_c: object, _u: object, _m: object) -> None:
        times.append(time.perf_counter())
        if len(times) >= expected:
            done.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare", protocol=mqtt.MQTTv5)
    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe("ff/v1/bare/+/+", qos=1)
    sub.loop_start()
    time.sleep(0.5)
    procs, go = _start_publishers(args, port, "bare", messages=args.messages_per_node)
    go.set()
    done.wait(timeout=900)
    for proc in procs:
        proc.join(60)
    sub.disconnect()
    sub.loop_stop()
    return (len(times) - 1) / (times[-1] - times[0])


def run_coordinator(
    args: argparse.Namespace,
    port: int,
    db_dir: Path,
    *,
    site: str,
    messages: int,
    interval_s: float = 0.0,
    db_url: str | None = None,
) -> dict[str, float]:
    """Samples per second committed by the coordinator, and publish→queryable latency
    (the core on PostgreSQL at `db_url` when given)."""
    from coordinator.service import Coordinator
    from coordinator.settings import load_settings
    from protocol import Telemetry

    settings = load_settings(
        dev_mode=True,
        db_path=db_dir / f"{site}.db",
        db_url=db_url,
        broker_url=f"mqtt://127.0.0.1:{port}",
        coordinator_id=f"bench-coordinator-{site}",
        share_group=f"bench-{site}",  # a finished phase's persistent session must not share the stream
        batch_max_messages=args.batch_max_messages,
        batch_max_bytes=args.batch_max_bytes,
        queue_max_messages=args.queue_max_messages,
        sqlite_synchronous=args.synchronous,
    )
    coordinator = Coordinator.open(settings, with_alarms=False)
    # A PostgreSQL database may hold earlier phases' rows: count this phase's.
    messages_before = coordinator.store.count("messages")
    samples_before = coordinator.store.count("samples")
    latencies: list[float] = []
    commits: list[tuple[float, int]] = []
    expected_msgs = args.publishers * args.nodes_per_publisher * (messages + 1)
    expected_samples = (
        args.publishers * args.nodes_per_publisher * messages * args.samples_per_message
    )
    done = threading.Event()
    seen = [0]

    def on_commit(outcome: object, result: object) -> None:
        now = time.time() * 1000
        commits.append((time.perf_counter(), result.samples_written))  # type: ignore[attr-defined]
        for accepted in outcome.batch.accepted:  # type: ignore[attr-defined]
            if isinstance(accepted.message, Telemetry):
                latencies.append(now - accepted.message.ts)
        seen[0] += len(outcome.batch.accepted)  # type: ignore[attr-defined]
        if seen[0] >= expected_msgs:
            done.set()

    coordinator.writer.listeners.append(on_commit)
    cpu_start = time.process_time()
    coordinator.start()
    procs, go = _start_publishers(args, port, site, messages=messages, interval_s=interval_s)
    go.set()
    done.wait(timeout=900)
    for proc in procs:
        proc.join(60)
    cpu_s = time.process_time() - cpu_start
    stats = coordinator.writer.stats
    messages = coordinator.store.count("messages") - messages_before
    samples = coordinator.store.count("samples") - samples_before
    coordinator.stop()
    first, last = commits[0][0], commits[-1][0]
    committed_after_first = sum(n for _, n in commits[1:])
    latencies.sort()
    return {
        "samples_per_s": committed_after_first / (last - first),
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))],
        "stored_messages": messages,
        "stored_samples": samples,
        "expected_messages": expected_msgs,
        "expected_samples": expected_samples,
        "batches": stats.batches,
        "commit_s": stats.commit_seconds,
        "decode_s": stats.decode_seconds,
        "apply_s": stats.apply_seconds,
        "elapsed_s": last - first,
        "backpressure_waits": stats.backpressure_waits,
        "cpu_s": cpu_s,
    }


class _HoldingPublisher:
    """The agent's delivery rule over paho: hold until a watermark covers it; like the
    agent, a fresh client per session (paho never retransmits on its own) and, after a
    reconnect, everything not covered re-sent as historical."""

    def __init__(self, port: int, site: str, nodes: list[str], kinds: list[str]) -> None:
        import collections

        self.port, self.site, self.nodes, self.kinds = port, site, nodes, kinds
        self.held: dict[str, collections.OrderedDict[int, bytes]] = {
            n: collections.OrderedDict() for n in nodes
        }
        self.lock = threading.Lock()
        self.stats = {
            "sessions": 0,
            "watermarks": 0,
            "max_held": 0,
            "replayed": 0,
            "stall_replays": 0,
        }
        self.moved_at = time.monotonic()
        self.client: Any = None
        self.connected = threading.Event()
        self.lost = threading.Event()
        self.next_try = 0.0
        self.ensure_session()
        self.connected.wait(10)

    def ensure_session(self) -> None:
        """Start a new session when the last one is gone (at most one attempt a second);
        once it is up, re-send what no watermark covered."""
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        if self.client is not None and not self.lost.is_set():
            return
        if time.monotonic() < self.next_try:
            return
        self.next_try = time.monotonic() + 1.0
        if self.client is not None:
            self.client.loop_stop()
        self.lost.clear()
        self.connected.clear()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"bench-{self.site}-{self.nodes[0]}",
            protocol=mqtt.MQTTv5,
        )
        self.token = getattr(self, "token", 0) + 1
        token = self.token  # a late callback of an old client must not touch this session
        client.on_connect = lambda *a: self.on_connect(*a) if token == self.token else None
        client.on_disconnect = lambda *_a: self.lost.set() if token == self.token else None
        client.on_message = self.on_message
        client.max_inflight_messages_set(100)
        self.client = client
        try:
            client.connect("127.0.0.1", self.port, keepalive=10)
        except OSError:
            self.lost.set()
            return
        client.loop_start()

    def on_connect(self, client: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            self.lost.set()
            return
        client.subscribe([(f"ff/v1/{self.site}/{n}/cmd/watermark", 1) for n in self.nodes])
        self.stats["sessions"] += 1
        self.connected.set()  # first: a message kept from now on is published live
        if self.stats["sessions"] > 1:
            self.replay(client)

    def on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        import orjson

        body = orjson.loads(msg.payload)
        node, seq = body["node"], body["args"]["seq"]
        with self.lock:
            box = self.held[node]
            while box and next(iter(box)) <= seq:
                box.popitem(last=False)
                self.moved_at = time.monotonic()
        self.stats["watermarks"] += 1

    def replay_if_stalled(self) -> None:
        """As the agent: no watermark progress for 15 s while holding messages means the
        broker dropped them (no coordinator session after its restart): send them again."""
        if not self.left() or time.monotonic() - self.moved_at < 15.0:
            return
        if self.connected.is_set() and not self.lost.is_set():
            self.moved_at = time.monotonic()
            self.stats["stall_replays"] += 1
            self.replay(self.client)

    def send(self, node: str, seq: int, payload: bytes) -> None:
        """Keep the message, then publish it if a session is up."""
        with self.lock:
            self.held[node][seq] = payload
            held = sum(len(b) for b in self.held.values())
            self.stats["max_held"] = max(self.stats["max_held"], held)
        if self.connected.is_set() and not self.lost.is_set():
            self.client.publish(f"ff/v1/{self.site}/{node}/{self.kinds[seq]}", payload, qos=1)

    def replay(self, client: Any) -> None:
        """Re-send every message not covered, flagged historical."""
        with self.lock:
            backlog = [(n, seq, p) for n in self.nodes for seq, p in self.held[n].items()]
        for node, seq, payload in backlog:
            historical = payload.replace(b'"historical":false', b'"historical":true')
            client.publish(f"ff/v1/{self.site}/{node}/{self.kinds[seq]}", historical, qos=1)
            self.stats["replayed"] += 1

    def left(self) -> int:
        with self.lock:
            return sum(len(b) for b in self.held.values())

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _crash_publisher(
    port: int,
    site: str,
    nodes: list[str],
    messages: int,
    samples: int,
    interval_s: float,
    ready: Any,
    go: Any,
    report: Any,
) -> None:
    """A paced publisher holding each message until a commit watermark covers it and
    re-sending what is not covered, flagged historical, after every reconnect."""
    base_ms = int(time.time() * 1000)
    payloads = {
        node: _payloads(site, node, messages, samples, base_ms, ("watermark",)) for node in nodes
    }
    publisher = _HoldingPublisher(port, site, nodes, ["birth"] + ["telemetry"] * messages)
    ready.wait()
    go.wait()
    placeholder = b'"ts":%d' % PLACEHOLDER_TS
    start = time.perf_counter()
    for i in range(messages + 1):
        delay = start + i * interval_s - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        publisher.ensure_session()
        publisher.replay_if_stalled()
        for node in nodes:
            stamp = b'"ts":%d' % int(time.time() * 1000)
            publisher.send(node, i, payloads[node][i].replace(placeholder, stamp, 1))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and publisher.left():  # until everything is committed
        publisher.ensure_session()
        publisher.replay_if_stalled()
        time.sleep(0.1)
    report.put(publisher.stats | {"left": publisher.left()})
    publisher.close()


def run_crash(
    args: argparse.Namespace, broker: Any, db_dir: Path, *, messages: int, interval_s: float
) -> dict[str, Any]:
    """Phase C: the paced load, Mosquitto killed (SIGKILL) halfway and restarted."""
    from coordinator.service import Coordinator
    from coordinator.settings import load_settings

    site = "crash"
    settings = load_settings(
        dev_mode=True,
        db_path=db_dir / f"{site}.db",
        broker_url=f"mqtt://127.0.0.1:{broker.port}",
        coordinator_id=f"bench-coordinator-{site}",
        share_group=f"bench-{site}",
        batch_max_messages=args.batch_max_messages,
        batch_max_bytes=args.batch_max_bytes,
        queue_max_messages=args.queue_max_messages,
        sqlite_synchronous=args.synchronous,
    )
    coordinator = Coordinator.open(settings, with_alarms=False)
    commits: list[tuple[float, int]] = []
    coordinator.writer.listeners.append(
        lambda _o, result: commits.append((time.perf_counter(), result.samples_written))
    )
    coordinator.start()
    ctx = mp.get_context("spawn")
    ready = ctx.Barrier(args.publishers + 1)
    go = ctx.Event()
    report = ctx.Queue()
    procs = []
    for p in range(args.publishers):
        nodes = [f"p{p}n{n}" for n in range(args.nodes_per_publisher)]
        proc = ctx.Process(
            target=_crash_publisher,
            args=(broker.port, site, nodes, messages, args.samples_per_message, interval_s,
                  ready, go, report),
            daemon=True,
        )  # fmt: skip
        proc.start()
        procs.append(proc)
    ready.wait()
    started = time.perf_counter()
    go.set()
    time.sleep(messages * interval_s / 2)
    assert broker.process is not None
    broker.process.kill()  # SIGKILL: no persistence file written, no wills
    broker.process.wait()
    broker.process = None
    killed = time.perf_counter()
    time.sleep(args.down_s)
    broker.start()
    restarted = time.perf_counter()
    reports = [report.get(timeout=900) for _ in procs]
    print(f"  publisher reports: {reports}", file=sys.stderr)
    print(
        f"  coordinator: connections {coordinator.mqtt.connections}, connected "
        f"{coordinator.mqtt.connected}, writer messages {coordinator.writer.stats.messages}, "
        f"queue {coordinator.writer.queue.qsize()}, failed {coordinator.writer.failed}",
        file=sys.stderr,
    )
    for proc in procs:
        proc.join(60)
    time.sleep(1.0)
    ended = commits[-1][0]
    stored_messages = coordinator.store.count("messages")
    stored_samples = coordinator.store.count("samples")
    views = coordinator.twin.nodes()
    coordinator.stop()
    after = [t for t, _ in commits if t > restarted]
    expected_messages = args.publishers * args.nodes_per_publisher * (messages + 1)
    return {
        "offered_s": messages * interval_s,
        "down_s": restarted - killed,
        "committed_per_s": sum(n for _, n in commits) / (ended - started),
        "first_commit_after_restart_s": (after[0] - restarted) if after else float("nan"),
        "caught_up_s": ended - restarted,
        "expected_messages": expected_messages,
        "expected_samples": args.publishers
        * args.nodes_per_publisher
        * messages
        * args.samples_per_message,
        "stored_messages": stored_messages,
        "stored_samples": stored_samples,
        "lost": sum(v.counters.lost for v in views),
        "duplicates_dropped": sum(v.counters.duplicates for v in views),
        "watermarks": sum(r["watermarks"] for r in reports),
        "replayed": sum(r["replayed"] for r in reports),
        "max_held": max(r["max_held"] for r in reports),
        "left": sum(r["left"] for r in reports),
    }


def run_phases(
    args: argparse.Namespace, broker: Any, tmp: Path, db_url: str | None
) -> tuple[
    float,
    dict[str, float],
    dict[str, float],
    dict[str, float] | None,
    dict[str, float] | None,
    dict[str, Any] | None,
]:
    """Phases A and B (flood, paced) on SQLite, then on PostgreSQL when `db_url` is given,
    then phase C when asked."""
    bare_msgs = run_bare(args, broker.port)
    result = run_coordinator(args, broker.port, tmp, site="flood", messages=args.messages_per_node)
    nodes = args.publishers * args.nodes_per_publisher
    per_node_msgs_per_s = args.paced_samples_per_s / args.samples_per_message / nodes
    paced_messages = max(1, int(per_node_msgs_per_s * args.paced_seconds))
    paced = run_coordinator(
        args,
        broker.port,
        tmp,
        site="paced",
        messages=paced_messages,
        interval_s=1.0 / per_node_msgs_per_s,
    )
    pg = pg_paced = None
    if db_url is not None:
        pg = run_coordinator(
            args,
            broker.port,
            tmp,
            site="pgflood",
            messages=args.messages_per_node,
            db_url=db_url,
        )
        pg_paced = run_coordinator(
            args,
            broker.port,
            tmp,
            site="pgpaced",
            messages=paced_messages,
            interval_s=1.0 / per_node_msgs_per_s,
            db_url=db_url,
        )
    crash = (
        run_crash(
            args,
            broker,
            tmp,
            messages=max(2, int(per_node_msgs_per_s * args.paced_seconds)),
            interval_s=1.0 / per_node_msgs_per_s,
        )
        if args.crash
        else None
    )
    return bare_msgs, result, paced, pg, pg_paced, crash


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publishers", type=int, default=2, help="publisher processes")
    parser.add_argument("--nodes-per-publisher", type=int, default=4)
    parser.add_argument("--messages-per-node", type=int, default=500)
    parser.add_argument("--samples-per-message", type=int, default=500)
    parser.add_argument("--batch-max-messages", type=int, default=500)
    parser.add_argument("--batch-max-bytes", type=int, default=2 * 1024 * 1024)
    parser.add_argument("--queue-max-messages", type=int, default=1000)
    parser.add_argument("--synchronous", default="FULL", help="SQLite synchronous mode")
    parser.add_argument(
        "--paced-samples-per-s",
        type=float,
        default=100_000,
        help="offered load of the latency phase",
    )
    parser.add_argument(
        "--paced-seconds", type=float, default=20.0, help="length of the latency phase"
    )
    parser.add_argument(
        "--crash", action="store_true", help="add phase C: kill -9 of the broker under load"
    )
    parser.add_argument("--down-s", type=float, default=5.0, help="phase C: broker down time")
    parser.add_argument(
        "--db", help="postgresql://... : run the flood and paced phases on PostgreSQL too"
    )
    parser.add_argument(
        "--start-postgres",
        action="store_true",
        help="start a throwaway PostgreSQL (fsync on) for --db in the temporary directory",
    )
    parser.add_argument(
        "--crash-only", action="store_true", help="run phase C alone (skip phases A and B)"
    )
    args = parser.parse_args(argv)
    if args.crash_only:
        return crash_main(args)

    from flexfleet.broker import start_broker

    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ff-bench-ingest-") as tmp:
        broker = start_broker(Path(tmp) / "mosquitto")
        server = _start_postgres(Path(tmp)) if args.start_postgres else None
        db_url = server.url if server is not None else args.db
        try:
            bare_msgs, result, paced, pg, pg_paced, crash = run_phases(
                args, broker, Path(tmp), db_url
            )
        finally:
            broker.stop()
            if server is not None:
                server.stop()
                shutil.rmtree(server.base_dir, ignore_errors=True)
    bare_samples = bare_msgs * args.samples_per_message
    print(f"command: {' '.join(sys.argv)}")
    print(
        f"machine: {os.cpu_count()} cores, load average at start {load_start[0]:.1f}, "
        f"at end {os.getloadavg()[0]:.1f}"
    )
    print(
        f"volume: {args.publishers} publisher processes x {args.nodes_per_publisher} nodes x "
        f"{args.messages_per_node} messages x {args.samples_per_message} samples, QoS 1"
    )
    print(f"bare paho subscriber: {bare_msgs:,.0f} messages/s (= {bare_samples:,.0f} samples/s)")
    print(
        f"coordinator ingest:   {result['samples_per_s']:,.0f} samples/s committed ({result['samples_per_s'] / args.samples_per_message:,.0f} messages/s)"
    )
    print(f"ratio coordinator / bare subscriber: {result['samples_per_s'] / bare_samples:.2f}")
    print(
        f"flood phase publish->queryable latency (includes broker queueing while saturated): "
        f"p50 {result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms"
    )
    print(
        f"paced phase at {args.paced_samples_per_s:,.0f} samples/s offered for {args.paced_seconds:g} s: "
        f"committed {paced['samples_per_s']:,.0f} samples/s, ingest-to-queryable latency "
        f"p50 {paced['p50_ms']:.0f} ms, p99 {paced['p99_ms']:.0f} ms"
    )
    print(
        f"stored: {result['stored_messages']:,} messages (expected {result['expected_messages']:,}), "
        f"{result['stored_samples']:,} samples (expected {result['expected_samples']:,}); "
        f"{result['batches']} batches; writer time: decode+validate {result['decode_s']:.1f} s, "
        f"sequencing {result['apply_s']:.1f} s, commit {result['commit_s']:.1f} s over {result['elapsed_s']:.1f} s; "
        f"backpressure waits {result['backpressure_waits']}; coordinator process CPU "
        f"{result['cpu_s']:.1f} s ({result['cpu_s'] / result['expected_samples'] * 1e6:.1f} µs per sample)"
    )
    if pg is not None and pg_paced is not None:
        print_postgres(args, result, paced, pg, pg_paced, db_url or "")
    ok = all(
        r["stored_messages"] == r["expected_messages"]
        and r["stored_samples"] == r["expected_samples"]
        for r in (result, paced, *(r for r in (pg, pg_paced) if r is not None))
    )
    print("integrity:", "OK (nothing lost, nothing stored twice)" if ok else "MISMATCH")
    if crash is not None and print_crash(args, crash) != 0:
        return 1
    return 0 if ok else 1


def _start_postgres(_tmp: Path) -> Any:
    """A throwaway PostgreSQL with fsync on (durable commits), in a directory of its own
    under /tmp (the server runs as `postgres` when we are root)."""
    from flexfleet.postgres import start_postgres

    base = Path(tempfile.mkdtemp(prefix="ff-bench-pg-"))
    print(f"  PostgreSQL cluster in {base} (removed at the end)", file=sys.stderr)
    # Durable as shipped (fsync, synchronous_commit and full-page writes on); only the WAL
    # may grow larger between checkpoints, as on any server taking a steady write load.
    return start_postgres(base, fsync=True, options={"max_wal_size": "4GB"})


def print_postgres(
    args: argparse.Namespace,
    sqlite: dict[str, float],
    sqlite_paced: dict[str, float],
    pg: dict[str, float],
    pg_paced: dict[str, float],
    db_url: str,
) -> None:
    """The PostgreSQL phases next to the SQLite ones, and their ratio."""
    from coordinator.store.postgres_store import describe_url

    print(f"PostgreSQL store at {describe_url(db_url)} (COPY into day partitions):")
    print(
        f"  flood: {pg['samples_per_s']:,.0f} samples/s committed "
        f"({pg['samples_per_s'] / args.samples_per_message:,.0f} messages/s); SQLite same run "
        f"{sqlite['samples_per_s']:,.0f}; ratio PostgreSQL / SQLite "
        f"{pg['samples_per_s'] / sqlite['samples_per_s']:.2f}"
    )
    print(
        f"  flood writer time: decode+validate {pg['decode_s']:.1f} s, sequencing "
        f"{pg['apply_s']:.1f} s, commit {pg['commit_s']:.1f} s over {pg['elapsed_s']:.1f} s; "
        f"{pg['batches']} batches; coordinator process CPU {pg['cpu_s']:.1f} s "
        f"({pg['cpu_s'] / pg['expected_samples'] * 1e6:.1f} µs per sample)"
    )
    print(
        f"  paced at {args.paced_samples_per_s:,.0f} samples/s offered: committed "
        f"{pg_paced['samples_per_s']:,.0f} samples/s, ingest-to-queryable p50 "
        f"{pg_paced['p50_ms']:.0f} ms, p99 {pg_paced['p99_ms']:.0f} ms (SQLite same run: "
        f"{sqlite_paced['samples_per_s']:,.0f}, p50 {sqlite_paced['p50_ms']:.0f} ms, "
        f"p99 {sqlite_paced['p99_ms']:.0f} ms)"
    )
    print(
        f"  stored: flood {pg['stored_messages']:,} messages (expected "
        f"{pg['expected_messages']:,}), {pg['stored_samples']:,} samples (expected "
        f"{pg['expected_samples']:,}); paced {pg_paced['stored_samples']:,} samples (expected "
        f"{pg_paced['expected_samples']:,})"
    )


def crash_main(args: argparse.Namespace) -> int:
    """Phase C alone."""
    from flexfleet.broker import start_broker

    load_start = os.getloadavg()
    nodes = args.publishers * args.nodes_per_publisher
    per_node_msgs_per_s = args.paced_samples_per_s / args.samples_per_message / nodes
    with tempfile.TemporaryDirectory(prefix="ff-bench-ingest-") as tmp:
        broker = start_broker(Path(tmp) / "mosquitto")
        try:
            crash = run_crash(
                args,
                broker,
                Path(tmp),
                messages=max(2, int(per_node_msgs_per_s * args.paced_seconds)),
                interval_s=1.0 / per_node_msgs_per_s,
            )
        finally:
            broker.stop()
    print(f"command: {' '.join(sys.argv)}")
    print(
        f"machine: {os.cpu_count()} cores, load average at start {load_start[0]:.1f}, "
        f"at end {os.getloadavg()[0]:.1f}"
    )
    return print_crash(args, crash)


def print_crash(args: argparse.Namespace, c: dict[str, Any]) -> int:
    """Print phase C's figures; 0 when nothing was lost or stored twice."""
    print(
        f"crash phase: {args.paced_samples_per_s:,.0f} samples/s offered for {c['offered_s']:.0f} s "
        f"by {args.publishers} x {args.nodes_per_publisher} nodes; Mosquitto SIGKILLed halfway, "
        f"down {c['down_s']:.1f} s, restarted with the same command line"
    )
    print(
        f"  committed {c['committed_per_s']:,.0f} samples/s over the phase; first commit "
        f"{c['first_commit_after_restart_s']:.1f} s after the restart; all committed "
        f"{c['caught_up_s']:.1f} s after it"
    )
    print(
        f"  stored {c['stored_messages']:,} messages (expected {c['expected_messages']:,}), "
        f"{c['stored_samples']:,} samples (expected {c['expected_samples']:,}); lost (coordinator "
        f"count) {c['lost']}; duplicates dropped by seq {c['duplicates_dropped']:,}"
    )
    print(
        f"  publishers: {c['replayed']:,} messages re-sent after reconnecting, at most "
        f"{c['max_held']:,} messages held by one publisher, {c['watermarks']:,} watermarks "
        f"received, {c['left']} never covered"
    )
    ok = (
        c["stored_messages"] == c["expected_messages"]
        and c["stored_samples"] == c["expected_samples"]
        and c["lost"] == 0
        and c["left"] == 0
    )
    print("crash integrity:", "OK (0 lost, 0 stored twice)" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
