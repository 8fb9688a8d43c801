"""Alarm trigger → MQTT alert latency, against bare paho publish → receive, in one run.

One Mosquitto (started here on a free port), one plain paho subscriber on `ff/v1/+/alerts/#`:
  A. bare:   a paho client publishes N alert-sized JSON messages (QoS 1) at the given rate;
             latency = publish call → message at the subscriber.
  B. alarms: the alarm service (SQLite store in a temp dir, the same paho client as its
             publisher) opens N new alarms at the same rate; latency = `raise_alarm` call →
             alert at the subscriber (validation, SQLite commit, event, publish, broker).
             Also prints how long `raise_alarm` itself takes (what a caller waits for).
  C. dedupe: repeat triggers on one active alarm, back to back → triggers/s (one SQLite
             transaction each; repeats are not published on MQTT).
Prints p50 / p99 for A and B, their ratio, and the C rate. The project's end-to-end goal
(sample on device → alert at a subscriber, p99 ≤ 250 ms under full ingest load) also includes
the agent's detection and ingest; this measures the coordinator's alarm leg alone, unloaded.

    .venv/bin/python benchmarks/bench_alarm_alerts.py
    .venv/bin/python benchmarks/bench_alarm_alerts.py --alarms 2000 --rate-hz 500 --repeats 20000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


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


class _Receiver:
    """Records when each topic's message arrived."""

    def __init__(self, port: int) -> None:
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.client = _client(port, "bench-sub")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_a: self.ready.set()
        self.client.subscribe("ff/v1/+/alerts/#", qos=1)
        if not self.ready.wait(10):
            raise RuntimeError("subscription not acknowledged")

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        now = time.perf_counter()
        with self.lock:
            self.arrived.setdefault(msg.topic, now)

    def wait_for(self, topics: list[str], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if all(t in self.arrived for t in topics):
                    return
            time.sleep(0.01)
        missing = sum(t not in self.arrived for t in topics)
        raise RuntimeError(f"{missing} of {len(topics)} alerts never arrived")


def _paced(n: int, rate_hz: float) -> Any:
    start = time.perf_counter()
    for i in range(n):
        due = start + i / rate_hz
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        yield i


def run(*, alarms: int, rate_hz: float, repeats: int) -> None:
    """Run the three phases and print the figures."""
    from coordinator.alarms.service import AlarmService
    from coordinator.alarms.store import AlarmStore
    from coordinator.notify.mqtt_alerts import MqttAlertNotifier
    from fleet_runtime.clock import SystemClock, now_ms
    from flexfleet.broker import start_broker

    class PahoPublisher:
        def __init__(self, client: Any) -> None:
            self.client = client

        def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
            self.client.publish(topic, payload, qos=qos, retain=retain)

    with tempfile.TemporaryDirectory() as tmp:
        broker = start_broker(Path(tmp) / "mosquitto")
        receiver = _Receiver(broker.port)
        pub = _client(broker.port, "bench-pub")
        try:
            payload = b'{"kind":"created","alarm":{' + b'"x":"' + b"y" * 600 + b'"}}'
            sent: dict[str, float] = {}
            for i in _paced(alarms, rate_hz):
                topic = f"ff/v1/bare/alerts/MAJOR/b{i:08d}"
                sent[topic] = time.perf_counter()
                pub.publish(topic, payload, qos=1)
            receiver.wait_for(list(sent), 60)
            bare = [(receiver.arrived[t] - s) * 1000 for t, s in sent.items()]

            clock = SystemClock()
            service = AlarmService(
                store=AlarmStore.open(Path(tmp) / "coordinator.db"),
                clock=clock,
                notifiers=[MqttAlertNotifier(PahoPublisher(pub))],
            )
            started: dict[str, float] = {}
            call_ms: list[float] = []
            for i in _paced(alarms, rate_hz):
                t0 = time.perf_counter()
                alarm = service.raise_alarm(
                    site="bench",
                    source=f"node-{i}",
                    alarm_type="overheat",
                    severity="MAJOR",
                    message="temperature high",
                    details={"value": 91.5, "i": i},
                    ts_ms=now_ms(clock),
                )
                call_ms.append((time.perf_counter() - t0) * 1000)
                started[f"ff/v1/bench/alerts/MAJOR/{alarm.alarm_id}"] = t0
            receiver.wait_for(list(started), 60)
            alarm_lat = [(receiver.arrived[t] - s) * 1000 for t, s in started.items()]

            t0 = time.perf_counter()
            for i in range(repeats):
                service.raise_alarm(
                    site="bench",
                    source="node-0",
                    alarm_type="overheat",
                    severity="MAJOR",
                    message="again",
                    ts_ms=now_ms(clock) + i,
                )
            repeat_rate = repeats / (time.perf_counter() - t0)
            service.close()
        finally:
            for client in (pub, receiver.client):
                client.loop_stop()
                client.disconnect()
            broker.stop()

    print(f"alarms={alarms} rate_hz={rate_hz:g} repeats={repeats}")
    print(
        f"A bare paho publish→receive       p50 {statistics.median(bare):7.2f} ms"
        f"   p99 {_pct(bare, 0.99):7.2f} ms"
    )
    print(
        f"B raise_alarm→alert at subscriber p50 {statistics.median(alarm_lat):7.2f} ms"
        f"   p99 {_pct(alarm_lat, 0.99):7.2f} ms"
    )
    print(
        f"  raise_alarm call itself         p50 {statistics.median(call_ms):7.2f} ms"
        f"   p99 {_pct(call_ms, 0.99):7.2f} ms"
    )
    print(
        f"B/A ratio                         p50 {statistics.median(alarm_lat) / statistics.median(bare):7.2f}"
        f"      p99 {_pct(alarm_lat, 0.99) / _pct(bare, 0.99):7.2f}"
    )
    print(f"C repeat triggers (dedupe)        {repeat_rate:9.0f} triggers/s")


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=int, default=1000, help="alerts per phase (A and B)")
    parser.add_argument("--rate-hz", type=float, default=200.0, help="alerts per second")
    parser.add_argument("--repeats", type=int, default=5000, help="repeat triggers in phase C")
    args = parser.parse_args()
    run(alarms=args.alarms, rate_hz=args.rate_hz, repeats=args.repeats)


if __name__ == "__main__":
    main()
