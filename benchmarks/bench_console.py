"""The operator console in a browser with a large fleet: how soon the overview is usable
after navigation, and how soon an alarm pushed over SSE is on screen.

    .venv/bin/python benchmarks/bench_console.py [--nodes 1000] [--operations 5000]
        [--alarms 500] [--loads 15] [--pushes 100]

Starts a coordinator in this process (dev mode, no broker: the parts the console reads
are real, fed directly), with `--nodes` nodes announced through ingest (70 % machines,
30 % warehouses, 10 sites), a restored schedule of `--operations` operations on 100
machines (changeovers and late jobs included) and `--alarms` open alarms raised through
the alarm service. Headless Chromium (Debian's, `/usr/bin/chromium`) is driven by
Playwright.

- *Overview interactive*: `--loads` fresh navigations to `/#/overview`; each time the
  later of two marks the page sets (Performance API): the view has drawn its first API
  data (`flexfleet:ready:overview`) and the alarm stream's snapshot is drawn
  (`flexfleet:alarms-snapshot`), measured from the navigation's start.
- *SSE alarm rendered*: with the alarms view open (all open alarms listed), `--pushes`
  alarms are raised one by one; the page's MutationObserver sees each new row and records
  the wall time of the next animation frame (`performance.timeOrigin + now`); the
  latency is that minus the wall time just before `raise_alarm` (same machine clock).

Prints p50 and p95 of both, and the machine's load average. The browser contexts bypass the
page's CSP, because Playwright's waiting predicates are evaluated from strings.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from coordinator.api.app import create_app
from coordinator.ingest.records import RawMessage
from coordinator.plan.schedule.problem import LateJob, Schedule, ScheduledOperation
from coordinator.plan.state import PlanMade
from coordinator.settings import load_settings
from flexfleet.broker import free_port
from protocol import Birth, SignalSpec, encode, topic_for
from protocol.messages import NodeKind

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SEVERITIES = ("CRITICAL", "MAJOR", "MINOR", "WARNING")


@contextmanager
def served(app: Any) -> Iterator[str]:
    """`app` under uvicorn on a free loopback port, in a thread."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def announce_nodes(app: Any, count: int) -> None:
    """`count` births through the coordinator's ingest writer; waits until all are in."""
    coordinator = app.state.coordinator
    now = int(time.time() * 1000)
    for i in range(count):
        kind: NodeKind = "machine" if i % 10 < 7 else "warehouse"
        birth = Birth(
            site=f"site-{i % 10:02d}",
            node=f"{kind[0]}{i:04d}",
            bd_seq=0,
            seq=0,
            ts=now,
            node_kind=kind,
            signals=(SignalSpec(name="spindle_temp_c", unit="degC"),),
        )
        coordinator.writer.enqueue(RawMessage(topic_for(birth), encode(birth), now))
    deadline = time.monotonic() + 60
    while len(coordinator.twin.nodes()) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the births were not all ingested")
        time.sleep(0.05)


def restore_schedule(app: Any, operations: int, machines: int = 100) -> None:
    """A schedule of `operations` operations (every 7th after a changeover, 1 % of jobs
    late) handed to the planner as a restored plan."""
    ops: list[ScheduledOperation] = []
    per_machine = operations // machines
    for m in range(machines):
        t = 0
        for k in range(per_machine):
            setup = 3 if k % 7 == 6 else 0
            t += setup
            job = f"job-{m}-{k // 2}"
            ops.append(
                ScheduledOperation(f"{job}:{k % 2}", job, f"m{m:04d}", t, t + 10 + k % 5, setup)
            )
            t += 10 + k % 5
    late = tuple(
        LateJob(o.job_id, o.end - 5, o.end, "machine_capacity", "benchmark") for o in ops[::200]
    )
    plan = Schedule(tuple(ops), max(o.end for o in ops), 0, 0, late, "feasible", "benchmark")
    app.state.plans.service.restore(
        [PlanMade("schedule", 1, int(time.time() * 1000), (), time.time(), plan)]
    )


def raise_alarms(app: Any, count: int) -> None:
    """`count` open alarms, on machines across the sites."""
    for i in range(count):
        app.state.alarms.raise_alarm(
            site=f"site-{i % 10:02d}",
            source=f"m{i:04d}/spindle_temp_c",
            alarm_type="anomaly.baseline",
            severity=SEVERITIES[i % len(SEVERITIES)],
            message=f"spindle temperature {60 + i % 20} °C on m{i:04d}",
            details={},
            ts_ms=int(time.time() * 1000),
        )


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


OBSERVE = """() => {
  window.__rendered = {};
  window.__received = {};
  const body = document.querySelector("#alarm-table tbody");
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) {
      const id = n.dataset && n.dataset.alarmId;
      if (id && !(id in window.__rendered)) {
        window.__rendered[id] = null;
        const got = window.flexfleet.alarms.lastEvent;
        if (got && got.alarm_id === id) window.__received[id] = performance.timeOrigin + got.received;
        requestAnimationFrame(() => { window.__rendered[id] = performance.timeOrigin + performance.now(); });
      }
    }
  }).observe(body, {childList: true});
}"""

READY = """() => {
  const at = (name) => { const e = performance.getEntriesByName(name); return e.length ? e[0].startTime : null; };
  const ready = at("flexfleet:ready:overview"), snap = at("flexfleet:alarms-snapshot");
  return ready === null || snap === null ? null : Math.max(ready, snap);
}"""


def measure_overview(browser: Any, url: str, loads: int, alarms: int) -> list[float]:
    """Milliseconds from navigation start to an overview showing API data and alarms."""
    times: list[float] = []
    for _ in range(loads):
        context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
        page = context.new_page()
        page.goto(f"{url}/#/overview")
        page.wait_for_function(READY, timeout=30_000)
        times.append(float(page.evaluate(READY)))
        shown = page.get_by_test_id("kpi-alarms").inner_text()
        if f"{alarms:,}" not in shown and str(alarms) not in shown:
            raise RuntimeError(f"the overview shows {shown!r}, not {alarms} open alarms")
        context.close()
    return times


def measure_push(
    browser: Any, app: Any, url: str, pushes: int, alarms: int
) -> tuple[list[float], list[float]]:
    """Milliseconds from `raise_alarm` to the frame after its row appears, and to the
    moment the page took the event from the stream."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{url}/#/alarms")
    page.wait_for_function(
        f"document.querySelectorAll('[data-testid=alarm-row]').length >= {alarms}",
        timeout=30_000,
    )
    page.evaluate(OBSERVE)
    latencies: list[float] = []
    arrivals: list[float] = []
    for i in range(pushes):
        raised_ms = time.time() * 1000
        alarm = app.state.alarms.raise_alarm(
            site="site-00",
            source=f"push-{i:04d}/vibration",
            alarm_type="anomaly.cusum",
            severity="CRITICAL",
            message=f"vibration on push-{i:04d}",
            details={},
            ts_ms=int(raised_ms),
        )
        check = f"window.__rendered[{alarm.alarm_id!r}]"
        page.wait_for_function(f"{check} !== undefined && {check} !== null", timeout=10_000)
        latencies.append(float(page.evaluate(check)) - raised_ms)
        received = page.evaluate(f"window.__received[{alarm.alarm_id!r}]")
        if received is not None:
            arrivals.append(float(received) - raised_ms)
        time.sleep(0.15)
    context.close()
    return latencies, arrivals


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print their p50 and p95."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--operations", type=int, default=5000)
    parser.add_argument("--alarms", type=int, default=500)
    parser.add_argument("--loads", type=int, default=15)
    parser.add_argument("--pushes", type=int, default=100)
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found: install Debian's chromium (scripts/install.sh)")
        return 1
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-console-") as work:
        settings = load_settings(
            dev_mode=True, db_path=Path(work) / "c.db", broker_url="mqtt://127.0.0.1:1"
        )
        app = create_app(settings, start_service=False)
        with served(app) as url, sync_playwright() as playwright:
            announce_nodes(app, args.nodes)
            restore_schedule(app, args.operations)
            raise_alarms(app, args.alarms)
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                load = os.getloadavg()
                overview = measure_overview(browser, url, args.loads, args.alarms)
                push, arrivals = measure_push(browser, app, url, args.pushes, args.alarms)
            finally:
                browser.close()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(
        f"fleet: {args.nodes} nodes, {args.operations} scheduled operations, "
        f"{args.alarms} open alarms; load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(
        f"overview interactive after navigation ({len(overview)} loads): "
        f"p50 {statistics.median(overview):.0f} ms, p95 {percentile(overview, 0.95):.0f} ms"
    )
    print(
        f"alarm pushed over SSE to rendered ({len(push)} alarms): "
        f"p50 {statistics.median(push):.1f} ms, p95 {percentile(push, 0.95):.1f} ms"
    )
    if arrivals:
        print(
            f"  of which raised to taken from the stream: p50 {statistics.median(arrivals):.1f} ms,"
            f" p95 {percentile(arrivals, 0.95):.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
