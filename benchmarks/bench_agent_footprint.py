"""Edge agent footprint at 200 signals × 10 Hz: RSS, CPU % of one core, memory growth per hour.

Starts a private Mosquitto and one `flexfleet agent` process reading 40 simulated machines
(5 signals each = 200 signals) every 100 ms, with the anomaly detectors on every raw
sample, and samples the process with psutil. Figures: median and max RSS, CPU % of one
core over the measured window, and RSS growth per hour fitted over the second half of the
run (after warm-up), with its 95 % interval, split into anonymous memory (heap: a leak
shows here) and file-backed pages (shared libraries paged in: warm-up), plus the outbox
database and WAL sizes and the machine's load average. Goal (ADR 2, docs/adr/0002-protocol-without-pydantic.md): RSS ≤ 40 MB,
≤ 10 % of one core, no growth. With `--coordinator` a real `flexfleet coordinator` process
ingests the agent's data, so the agent keeps its rows until the commit watermarks release
them (issue 18) and its outbox holds about a second of data instead of nothing.

    .venv/bin/python benchmarks/bench_agent_footprint.py --duration-s 600
    .venv/bin/python benchmarks/bench_agent_footprint.py --duration-s 60 --no-detectors
    .venv/bin/python benchmarks/bench_agent_footprint.py --duration-s 3600 --series-csv rss.csv
    .venv/bin/python benchmarks/bench_agent_footprint.py --duration-s 180 --python /tmp/edge/bin/python
    .venv/bin/python benchmarks/bench_agent_footprint.py --duration-s 300 --coordinator
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from firmware_sim.machine import Machine, MachineParams  # noqa: E402
from firmware_sim.modbus_server import MachineModbusServer  # noqa: E402
from firmware_sim.registers import MACHINE_REGISTER_MAP  # noqa: E402
from fleet_runtime.clock import SystemClock  # noqa: E402
from flexfleet.broker import free_port, start_broker  # noqa: E402


def modbus_driver_text(port: int) -> str:
    """A [driver] section reading firmware_sim's machine register map over Modbus TCP."""
    entries = "".join(
        f'[[driver.registers]]\nsignal = "{s.signal}"\naddress = {s.address}\ntype = "{s.type}"\n'
        for s in MACHINE_REGISTER_MAP
    )
    return f'[driver]\ntype = "modbus"\nhost = "127.0.0.1"\nport = {port}\n{entries}'


def config_text(
    *,
    port: int,
    state_dir: Path,
    machines: int,
    interval_ms: int,
    detectors: bool,
    driver: str | None = None,
    wait_for_coordinator: bool = False,
) -> str:
    """The agent's TOML configuration for the benchmark."""
    sim_driver = f'[driver]\ntype = "sim"\nseed = 1\nmachines = {machines}\nfree_running = true'
    return f"""
[node]
site = "bench"
node = "gw-1"
kind = "gateway"
[mqtt]
broker = "mqtt://127.0.0.1:{port}"
wait_for_coordinator = {"true" if wait_for_coordinator else "false"}
[outbox]
state_dir = "{state_dir}"
[sampling]
interval_ms = {interval_ms}
[batching]
max_samples = 2000
max_age_ms = 1000
{driver or sim_driver}
[metrics]
textfile = "{state_dir}/agent.prom"
interval_s = 1.0
[detectors]
enabled = {"true" if detectors else "false"}
"""


def start_coordinator(port: int, work: Path) -> subprocess.Popen[bytes]:
    """A `flexfleet coordinator` process on the benchmark's broker (its own database)."""
    with (work / "coordinator.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "flexfleet", "coordinator", "--broker",
             f"mqtt://127.0.0.1:{port}", "--db", str(work / "coordinator.db"),
             "--http-port", str(free_port()), "--dev"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip


def read_metrics(path: Path) -> dict[str, float]:
    """The agent's Prometheus textfile as {name: value}."""
    values: dict[str, float] = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name.split("{")[0].removeprefix("flexfleet_agent_")] = float(value)
    return values


def slope_per_hour(times: list[float], values: list[float]) -> tuple[float, float]:
    """Least-squares slope of values over times, per hour, and its 95 % half-interval."""
    n = len(times)
    if n < 3:
        return float("nan"), float("nan")
    mt, mv = statistics.fmean(times), statistics.fmean(values)
    num = sum((t - mt) * (v - mv) for t, v in zip(times, values, strict=True))
    den = sum((t - mt) ** 2 for t in times)
    if not den:
        return float("nan"), float("nan")
    slope = num / den
    residual = sum((v - mv - slope * (t - mt)) ** 2 for t, v in zip(times, values, strict=True))
    stderr = math.sqrt(residual / (n - 2) / den)
    return slope * 3600.0, 1.96 * stderr * 3600.0


def memory_kib(pid: int) -> dict[str, float]:
    """RssAnon / RssFile of a process in MiB (Linux /proc/<pid>/status)."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("RssAnon", "RssFile", "RssShmem"):
            found[key] = int(rest.split()[0]) / 1024.0
    return found


def file_mib(path: Path) -> float:
    """Size of a file in MiB (0 if it does not exist)."""
    return path.stat().st_size / 2**20 if path.exists() else 0.0


def main() -> int:  # noqa: PLR0915 (one linear script)
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration-s", type=float, default=600.0)
    parser.add_argument("--warmup-s", type=float, default=30.0)
    parser.add_argument("--machines", type=int, default=40, help="5 signals each")
    parser.add_argument("--interval-ms", type=int, default=100)
    parser.add_argument("--sample-every-s", type=float, default=5.0)
    parser.add_argument("--no-detectors", action="store_true")
    parser.add_argument("--series-csv", type=Path, help="write t_s,rss,anon,file (MiB) here")
    parser.add_argument(
        "--modbus", action="store_true", help="read one simulated PLC over Modbus TCP instead"
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter that runs the agent, e.g. an edge install's (pip install '.[edge]')",
    )
    parser.add_argument(
        "--coordinator",
        action="store_true",
        help="run a coordinator too: rows leave the outbox on its commit watermarks",
    )
    args = parser.parse_args()
    signals = len(MACHINE_REGISTER_MAP) if args.modbus else args.machines * 5
    device = None
    if args.modbus:
        device = MachineModbusServer(
            machine=Machine(seed=1, params=MachineParams(free_running=True)),
            clock=SystemClock(),
            port=free_port(),
        )
        device.start()
    with tempfile.TemporaryDirectory(prefix="ff-bench-") as tmp:
        work = Path(tmp)
        broker = start_broker(work / "mosquitto")
        config = work / "agent.toml"
        config.write_text(
            config_text(
                port=broker.port,
                state_dir=work / "state",
                machines=args.machines,
                interval_ms=args.interval_ms,
                detectors=not args.no_detectors,
                driver=modbus_driver_text(device.port) if device is not None else None,
                wait_for_coordinator=args.coordinator,
            )
        )
        coordinator = start_coordinator(broker.port, work) if args.coordinator else None
        with (work / "agent.log").open("wb") as log:
            agent = subprocess.Popen(
                [
                    args.python,
                    "-m",
                    "flexfleet",
                    "agent",
                    "--config",
                    str(config),
                    "--log-level",
                    "WARNING",
                ],
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        proc = psutil.Process(agent.pid)
        try:
            time.sleep(args.warmup_s)
            metrics_file = work / "state" / "agent.prom"
            before = read_metrics(metrics_file)
            cpu0 = proc.cpu_times()
            t0 = time.monotonic()
            load0 = os.getloadavg()[2]
            times: list[float] = []
            rss: list[float] = []
            anon: list[float] = []
            filed: list[float] = []
            while time.monotonic() - t0 < args.duration_s:
                if agent.poll() is not None:
                    raise SystemExit(
                        f"agent exited early: {(work / 'agent.log').read_text()[-2000:]}"
                    )
                times.append(time.monotonic() - t0)
                rss.append(proc.memory_info().rss / 2**20)
                parts = memory_kib(agent.pid)
                anon.append(parts.get("RssAnon", math.nan))
                filed.append(parts.get("RssFile", math.nan) + parts.get("RssShmem", 0.0))
                time.sleep(args.sample_every_s)
            cpu1 = proc.cpu_times()
            elapsed = time.monotonic() - t0
            load1 = os.getloadavg()[2]
            time.sleep(1.5)
            after = read_metrics(metrics_file)
            db = work / "state" / "outbox.sqlite3"
            db_mib = file_mib(db)
            wal_mib = file_mib(db.with_name(db.name + "-wal"))
        finally:
            agent.terminate()
            agent.wait(timeout=30)
            if coordinator is not None:
                coordinator.terminate()
                coordinator.wait(timeout=30)
            broker.stop()
            if device is not None:
                device.stop()
        errors = (work / "agent.log").read_text().strip().splitlines()
    cpu_pct = 100.0 * ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / elapsed
    if args.series_csv is not None:
        args.series_csv.write_text(
            "t_s,rss_mib,anon_mib,file_mib\n"
            + "".join(
                f"{t:.1f},{r:.3f},{a:.3f},{f:.3f}\n"
                for t, r, a, f in zip(times, rss, anon, filed, strict=True)
            )
        )
    half = len(times) // 2
    growth, growth_ci = slope_per_hour(times[half:], rss[half:])
    anon_growth, anon_ci = slope_per_hour(times[half:], anon[half:])
    file_growth, file_ci = slope_per_hour(times[half:], filed[half:])
    quarters = [rss[min(len(rss) - 1, len(rss) * q // 4)] for q in range(5)]
    source = "Modbus TCP PLC" if args.modbus else f"{args.machines} simulated machines"
    print(f"agent footprint: {signals} signals ({source}) × {1000 / args.interval_ms:g} Hz, "
          f"detectors {'off' if args.no_detectors else 'on'}, {elapsed:.0f} s measured after {args.warmup_s:.0f} s warm-up")  # fmt: skip
    print(f"  RSS median {statistics.median(rss):.1f} MiB, max {max(rss):.1f} MiB (goal ≤ 40 MB)")
    print(f"  CPU {cpu_pct:.1f} % of one core (goal ≤ 10 %)")
    print(f"  RSS growth {growth:+.2f} ± {growth_ci:.2f} MiB/hour over the second half "
          f"({times[half] / 60:.0f}–{times[-1] / 60:.0f} min; goal: none): anonymous {anon_growth:+.2f} ± {anon_ci:.2f}, "
          f"file-backed {file_growth:+.2f} ± {file_ci:.2f}")  # fmt: skip
    print("  RSS at 0/25/50/75/100 % of the run: " + " / ".join(f"{q:.1f}" for q in quarters)
          + f" MiB; anonymous {anon[0]:.1f} -> {anon[-1]:.1f}, file-backed {filed[0]:.1f} -> {filed[-1]:.1f} MiB")  # fmt: skip
    print(f"  outbox at end: database {db_mib:.2f} MiB, WAL {wal_mib:.2f} MiB; "
          f"machine load average (15 min) {load0:.1f} at start, {load1:.1f} at end")  # fmt: skip
    read = (after["samples_read"] - before["samples_read"]) / (elapsed + 1.5)
    reported = (after["samples_reported"] - before["samples_reported"]) / (elapsed + 1.5)
    print(f"  samples/s read {read:.0f} of {signals * 1000 / args.interval_ms:.0f} offered; "
          f"{reported:.0f}/s reported after deadband; outbox rows at end {after['outbox_rows']:.0f}; "
          f"dropped {after['dropped_messages']:.0f}")  # fmt: skip
    if args.coordinator:
        print(f"  with a coordinator: {after['watermarks'] - before['watermarks']:.0f} commit "
              f"watermarks in {elapsed:.0f} s; outbox rows at end {after['outbox_rows']:.0f} "
              f"(held until committed)")  # fmt: skip
    if errors:
        print(f"  agent log: {len(errors)} lines, last: {errors[-1][-300:]}")
    print(f"  command: .venv/bin/python benchmarks/bench_agent_footprint.py --duration-s {args.duration_s:g} --warmup-s {args.warmup_s:g}"
          f" --machines {args.machines} --interval-ms {args.interval_ms}{' --no-detectors' if args.no_detectors else ''}{' --modbus' if args.modbus else ''}"
          f"{'' if args.python == sys.executable else ' --python ' + args.python}{' --coordinator' if args.coordinator else ''}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
