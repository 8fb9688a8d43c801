"""Anomaly event → MQTT alert latency through the whole coordinator, idle and under ingest load.

One Mosquitto, one coordinator (`Coordinator.open`: ingest, store, twin, alarm service with
its MQTT alert channel), one plain paho subscriber on `ff/v1/{site}/alerts/#`.
An "agent" in this process publishes anomaly `event` messages (QoS 1), alternately raised and
cleared per node, so every raised event opens a new alarm and a `created` alert. Latency =
event publish call → `created` alert at the subscriber; the event's (node, seq) travels in
the alarm details, which ties each alert to its event. In each phase `--deaths` other nodes
die, spread over the phase (a `death` message for their current session, as the broker
sends a will): latency = death publish → the node-offline `created` alert.

  phase 1, idle:   events only.
  phase 2, loaded: the same events while the ingest benchmark's publisher processes
                   (`bench_ingest.py`, same payloads) offer `--load-samples-per-s` of
                   telemetry at QoS 1 into the same coordinator.

The project's goal is sample on device → alert at a subscriber, p99 ≤ 250 ms under full
ingest load. The agent's detection step (microseconds per sample) is not included here.
Events reach the alarm rules through the coordinator's alarm fast lane (their own
connection, ahead of the telemetry backlog); `--no-fast-lane` measures the ordered ingest
path alone, as before the fast lane.

    .venv/bin/python benchmarks/bench_alert_under_load.py
    .venv/bin/python benchmarks/bench_alert_under_load.py --events-per-s 20 --seconds 30 \
        --load-samples-per-s 100000 --publishers 2 --nodes-per-publisher 4
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Literal

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_ingest  # the ingest benchmark's publishers, reused as the load

SITE = "alertbench"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _client(port: int, name: str) -> Any:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


class AlertWatcher:
    """Records when the `created` alert of each (node, seq) arrives."""

    def __init__(self, port: int) -> None:
        import orjson

        self._loads = orjson.loads
        self.arrived: dict[tuple[str, int], float] = {}
        self.lock = threading.Lock()
        ready = threading.Event()
        self.client = _client(port, "alert-watcher")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_a: ready.set()
        self.client.subscribe(f"ff/v1/{SITE}/alerts/#", qos=1)
        if not ready.wait(10):
            raise RuntimeError("alert subscription not acknowledged")

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        now = time.perf_counter()
        event = self._loads(msg.payload)
        if event["kind"] != "created":
            return
        if event["alarm"]["alarm_type"] == "node_offline":
            with self.lock:
                self.arrived[(event["alarm"]["source"], -1)] = now
            return
        details = event["alarm"]["details"]
        if "node" not in details or "seq" not in details:
            return  # another rule's alarm (e.g. a load node going quiet at the end)
        with self.lock:
            self.arrived[(details["node"], details["seq"])] = now


class AnomalyAgent:
    """Publishes raised/cleared anomaly events for a few nodes at a fixed rate."""

    def __init__(self, port: int, *, nodes: int, dying: list[str]) -> None:
        from protocol import Birth, SignalSpec, encode, topic_for

        self.client = _client(port, "anomaly-agent")
        self.nodes = [f"m{i}" for i in range(nodes)]
        self.seq = dict.fromkeys([*self.nodes, *dying], 0)
        self.raised = dict.fromkeys(self.nodes, False)
        now_ms = int(time.time() * 1000)
        for node in [*self.nodes, *dying]:
            birth = Birth(
                site=SITE,
                node=node,
                bd_seq=0,
                seq=self._next(node),
                ts=now_ms,
                node_kind="machine",
                signals=(SignalSpec(name="temp"),),
            )
            self.client.publish(topic_for(birth), encode(birth), qos=1).wait_for_publish(10)

    def _next(self, node: str) -> int:
        value = self.seq[node]
        self.seq[node] += 1
        return value

    def run(
        self, *, events_per_s: float, seconds: float, deaths: list[str]
    ) -> tuple[dict[tuple[str, int], float], dict[tuple[str, int], float]]:
        """Publish for `seconds`; return publish time per raised (node, seq), and per
        (node, -1) of the nodes in `deaths`, which die one by one over the phase."""
        from protocol import Death, Event, encode, topic_for

        sent: dict[tuple[str, int], float] = {}
        died: dict[tuple[str, int], float] = {}
        count = int(events_per_s * seconds)
        death_every = max(1, count // max(1, len(deaths)))
        start = time.perf_counter()
        for i in range(count):
            delay = start + i / events_per_s - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if i % death_every == death_every // 2 and len(died) < len(deaths):
                death = Death(site=SITE, node=deaths[len(died)], bd_seq=0)
                died[(death.node, -1)] = time.perf_counter()
                self.client.publish(topic_for(death), encode(death), qos=1)
            node = self.nodes[i % len(self.nodes)]
            state: Literal["raised", "cleared"] = "cleared" if self.raised[node] else "raised"
            self.raised[node] = not self.raised[node]
            event = Event(
                site=SITE,
                node=node,
                bd_seq=0,
                seq=self._next(node),
                ts=int(time.time() * 1000),
                name="anomaly",
                severity="MAJOR",
                state=state,
                signal="temp",
                detector="bench",
                reason="benchmark anomaly",
            )
            t0 = time.perf_counter()
            self.client.publish(topic_for(event), encode(event), qos=1)
            if state == "raised":
                sent[(node, event.seq)] = t0
        return sent, died


def _latencies(
    watcher: AlertWatcher, sent: dict[tuple[str, int], float], timeout_s: float
) -> tuple[list[float], int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with watcher.lock:
            if all(k in watcher.arrived for k in sent):
                break
        time.sleep(0.05)
    with watcher.lock:
        lat = [(watcher.arrived[k] - t) * 1000 for k, t in sent.items() if k in watcher.arrived]
    return lat, len(sent) - len(lat)


Latencies = dict[str, tuple[list[float], int]]


def _report(args: argparse.Namespace, results: Latencies, load_rate: float, stored: int) -> None:
    print(f"command: {' '.join(sys.argv)}")
    print(f"alarm fast lane: {'on' if args.fast_lane else 'off'}; alarm db: {args.alarm_db}")
    print(
        f"events: {args.events_per_s:g}/s for {args.seconds:g} s per phase over "
        f"{args.event_nodes} nodes (half raise a new alarm)"
    )
    for name, (lat, missing) in results.items():
        if not lat:
            print(f"{name:13s}: n=0 missing={missing}")
            continue
        print(
            f"{name:13s}: n={len(lat)} missing={missing} "
            f"p50 {statistics.median(lat):7.1f} ms  p99 {_pct(lat, 0.99):7.1f} ms  "
            f"max {max(lat):7.1f} ms"
        )
    print(
        f"ingest during the loaded phase: {load_rate:,.0f} samples/s committed "
        f"(offered {args.load_samples_per_s:,.0f}); {stored:,} load samples stored in total"
    )


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-per-s", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--event-nodes", type=int, default=10)
    parser.add_argument("--deaths", type=int, default=10, help="nodes dying in each phase")
    parser.add_argument("--load-samples-per-s", type=float, default=100_000)
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--nodes-per-publisher", type=int, default=4)
    parser.add_argument("--samples-per-message", type=int, default=500)
    parser.add_argument("--synchronous", default="FULL", help="the coordinator store's SQLite mode")
    parser.add_argument("--batch-max-wait-s", type=float, default=0.05, help="ingest batch wait")
    parser.add_argument(
        "--alarm-db",
        choices=("own", "core"),
        default="own",
        help="alarm tables in a file of their own (default) or in the core database file",
    )
    parser.add_argument(
        "--fast-lane",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the coordinator's alarm fast lane (default on)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run both phases and print the figures."""
    args = _parse(argv)

    from coordinator.service import Coordinator
    from coordinator.settings import load_settings
    from flexfleet.broker import start_broker

    with tempfile.TemporaryDirectory(prefix="ff-alert-bench-") as tmp:
        broker = start_broker(Path(tmp) / "mosquitto")
        settings = load_settings(
            dev_mode=True,
            db_path=Path(tmp) / "coordinator.db",
            broker_url=f"mqtt://127.0.0.1:{broker.port}",
            coordinator_id="alert-bench",
            share_group="alert-bench",
            sqlite_synchronous=args.synchronous,
            batch_max_wait_s=args.batch_max_wait_s,
            alarm_fast_lane=args.fast_lane,
            inactivity_timeout_s=3600.0,  # a silent node's own alarm would beat its death
            alarm_db_path=Path(tmp) / "coordinator.db" if args.alarm_db == "core" else None,
        )
        coordinator = Coordinator.open(settings)
        coordinator.start()
        try:
            watcher = AlertWatcher(broker.port)
            dying = {
                phase: [f"d{phase}{i}" for i in range(args.deaths)] for phase in ("idle", "loaded")
            }
            agent = AnomalyAgent(
                broker.port, nodes=args.event_nodes, dying=[*dying["idle"], *dying["loaded"]]
            )
            time.sleep(1.0)  # births settle
            sent, died = agent.run(
                events_per_s=args.events_per_s, seconds=args.seconds, deaths=dying["idle"]
            )
            results: Latencies = {
                "idle event": _latencies(watcher, sent, 30),
                "idle death": _latencies(watcher, died, 30),
            }

            nodes = args.publishers * args.nodes_per_publisher
            per_node_msgs_per_s = args.load_samples_per_s / args.samples_per_message / nodes
            messages = max(1, int(per_node_msgs_per_s * (args.seconds + 4)))
            before = coordinator.store.count("samples")
            procs, go = bench_ingest._start_publishers(
                args, broker.port, "load", messages=messages, interval_s=1.0 / per_node_msgs_per_s
            )
            start_signal: Any = go  # bench_ingest annotates it as the `mp.Event` factory
            start_signal.set()
            time.sleep(2.0)  # let the load reach its rate
            t_load = time.perf_counter()
            samples_at_start = coordinator.store.count("samples")
            sent, died = agent.run(
                events_per_s=args.events_per_s, seconds=args.seconds, deaths=dying["loaded"]
            )
            samples_at_end = coordinator.store.count("samples")
            load_rate = (samples_at_end - samples_at_start) / (time.perf_counter() - t_load)
            results["loaded event"] = _latencies(watcher, sent, 60)
            results["loaded death"] = _latencies(watcher, died, 60)
            for proc in procs:
                proc.join(120)
            stored = coordinator.store.count("samples") - before
        finally:
            for client in ("watcher", "agent"):
                obj = locals().get(client)
                if obj is not None:
                    obj.client.loop_stop()
                    obj.client.disconnect()
            coordinator.stop()
            broker.stop()

    _report(args, results, load_rate, stored)
    return 0 if not any(missing for _, missing in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
