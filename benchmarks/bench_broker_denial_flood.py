"""A device flooding denied publishes at a broker that keeps a security log: what it costs
the broker and the thread draining its log, and how much of it reaches the log file.

Starts Mosquitto with per-device accounts, the ACL and a security log
(`flexfleet.broker_watch`); one device publishes, at QoS 0 and `--rate` messages a second
for `--seconds`, on another device's topic (every one denied). Printed: denied publishes
sent, broker CPU % of one core, log thread CPU % of one core, log lines read per second,
records written, records dropped by the per-account cap, the security log's size, and the
load average.

    .venv/bin/python benchmarks/bench_broker_denial_flood.py [--rate 2000] [--seconds 30]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion
from plan_common import command_line, load_average

from flexfleet.broker import ListenerSecurity, start_broker
from flexfleet.device_registry import DeviceRegistry


def _thread_cpu_s(native_id: int | None) -> float:
    for thread in psutil.Process().threads():
        if thread.id == native_id:
            return float(thread.user_time + thread.system_time)
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2000.0, help="denied publishes per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    print(command_line(), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-flood-") as scratch:
        work = Path(scratch)
        registry = DeviceRegistry(work / "auth")
        _, password = registry.add("press-02", role="device", sites=["s"])
        registry.add("press-01", role="device", sites=["s"])
        security_log = work / "security.jsonl"
        broker = start_broker(
            work / "mosquitto",
            security=ListenerSecurity(auth_dir=registry.directory),
            security_log=security_log,
        )
        try:
            assert broker.process is not None
            assert broker.watch is not None
            client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
            client.username_pw_set("s/press-02", password)
            client.connect(broker.host, broker.port)
            client.loop_start()
            time.sleep(1.0)
            process = psutil.Process(broker.process.pid)
            cpu0 = process.cpu_times()
            thread0, lines0 = _thread_cpu_s(broker.watch.native_id), broker.watch.lines
            started = time.monotonic()
            sent = 0
            while (elapsed := time.monotonic() - started) < args.seconds:
                while sent < elapsed * args.rate:
                    client.publish("ff/v1/s/press-01/telemetry", b'{"forged": true}', qos=0)
                    sent += 1
                time.sleep(0.001)
            time.sleep(1.0)  # let the broker and the thread catch up
            elapsed = time.monotonic() - started
            cpu1 = process.cpu_times()
            thread1, lines1 = _thread_cpu_s(broker.watch.native_id), broker.watch.lines
            broker_s = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
            events, dropped = broker.watch.events, broker.watch.dropped
            client.loop_stop()
            client.disconnect()
        finally:
            broker.stop()
        size = security_log.stat().st_size
    print(
        f"{sent} denied publishes in {args.seconds:g} s ({sent / args.seconds:.0f}/s): "
        f"broker {100 * broker_s / elapsed:.1f} % of a core, log thread "
        f"{100 * (thread1 - thread0) / elapsed:.1f} % of a core, "
        f"{(lines1 - lines0) / elapsed:.0f} log lines/s; {events} records kept, "
        f"{dropped} dropped by the cap; security log {size} bytes; "
        f"load average {load_average()}",
        flush=True,
    )


if __name__ == "__main__":
    main()
