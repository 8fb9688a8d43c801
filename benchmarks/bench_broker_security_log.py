"""What the broker's security log costs at demo load: CPU of the broker and of the thread
draining its log, with the log on (`log_type all` to a pipe, `flexfleet.broker_watch`) and
off (errors and warnings to a file), each over the same stretch of the real demo.

Runs the demo as `make demo` does (broker, coordinator, 6 machines, 2 warehouses, 3 vans,
the world declared, the storefront posting orders) once with the security log and once
without, and over the last `--seconds` of each (after `--warmup-s`) reads the broker
process's CPU time and the log thread's (psutil, by native thread id). Printed per run:
broker CPU % of one core, log thread CPU % of one core, log lines read per second, and
the load average.

    .venv/bin/python benchmarks/bench_broker_security_log.py [--seconds 90] [--warmup-s 30]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import psutil
from plan_common import command_line, load_average

from flexfleet.broker import Broker
from flexfleet.demo import DemoPlan, declare_world, running_demo
from flexfleet.demo_world import SITE_CENTRE
from flexfleet.storefront import Storefront


def _thread_cpu_s(native_id: int | None) -> float:
    for thread in psutil.Process().threads():
        if thread.id == native_id:
            return float(thread.user_time + thread.system_time)
    return 0.0


def _cpu(broker: Broker) -> tuple[float, float, int]:
    """(broker CPU s, log thread CPU s, lines read) now."""
    assert broker.process is not None
    times = psutil.Process(broker.process.pid).cpu_times()
    watch = broker.watch
    thread_s = _thread_cpu_s(watch.native_id) if watch is not None else 0.0
    return times.user + times.system, thread_s, watch.lines if watch is not None else 0


def measure(plan: DemoPlan, *, watched: bool, warmup_s: float, seconds: float) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="bench-seclog-") as scratch,
        running_demo(plan, Path(scratch), broker_security_log=watched) as (broker, api_url),
    ):
        declare_world(plan, api_url)
        storefront = Storefront(
            api_url, plan.world.skus_sold(), SITE_CENTRE, plan.seed, plan.shoppers
        )
        storefront.start()
        try:
            time.sleep(warmup_s)
            broker0, thread0, lines0 = _cpu(broker)
            started = time.monotonic()
            time.sleep(seconds)
            broker1, thread1, lines1 = _cpu(broker)
            elapsed = time.monotonic() - started
        finally:
            storefront.stop()
        events = broker.watch.events if broker.watch is not None else 0
    label = "security log on " if watched else "security log off"
    print(
        f"{label}: broker {100 * (broker1 - broker0) / elapsed:.2f} % of a core, "
        f"log thread {100 * (thread1 - thread0) / elapsed:.2f} % of a core, "
        f"{(lines1 - lines0) / elapsed:.0f} log lines/s, {events} security events; "
        f"load average {load_average()}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--warmup-s", type=float, default=30.0)
    args = parser.parse_args()
    print(command_line(), flush=True)
    for watched in (True, False):
        measure(DemoPlan(), watched=watched, warmup_s=args.warmup_s, seconds=args.seconds)


if __name__ == "__main__":
    main()
