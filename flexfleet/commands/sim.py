"""`flexfleet sim`: run simulated devices, e.g. a machine behind a Modbus TCP server."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import tomllib
from pathlib import Path


def register(parser: argparse.ArgumentParser) -> None:
    """Arguments of `flexfleet sim`."""
    sub = parser.add_subparsers(dest="sim_command", metavar="DEVICE", required=True)
    modbus = sub.add_parser("modbus", help="serve a simulated machine over Modbus TCP")
    modbus.add_argument("--host", default="127.0.0.1")
    modbus.add_argument("--port", type=int, default=5020)
    modbus.add_argument("--unit-id", type=int, default=1)
    modbus.add_argument("--seed", type=int, default=1)
    modbus.add_argument("--update-interval-s", type=float, default=0.1)
    modbus.add_argument(
        "--free-running",
        action="store_true",
        help="run random jobs without a schedule (else idle until the agent writes one)",
    )
    modbus.set_defaults(run=run_modbus)
    scenario = sub.add_parser(
        "scenario", help="run a scripted fault scenario through the agent on simulated time"
    )
    scenario.add_argument("file", type=Path, help="scenario TOML (see flexfleet/fault_scenario.py)")
    scenario.set_defaults(run=run_scenario_file)


def run_modbus(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; prints `modbus://host:port` once listening."""
    from firmware_sim.errors import SimError
    from firmware_sim.machine import Machine, MachineParams
    from firmware_sim.modbus_server import MachineModbusServer
    from fleet_runtime.clock import SystemClock

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server = MachineModbusServer(
        machine=Machine(seed=args.seed, params=MachineParams(free_running=args.free_running)),
        clock=SystemClock(),
        host=args.host,
        port=args.port,
        unit_id=args.unit_id,
        update_interval_s=args.update_interval_s,
    )
    try:
        server.start()
    except SimError as exc:
        print(f"cannot serve: {exc}", file=sys.stderr)
        return 1
    print(f"modbus://{args.host}:{args.port}", flush=True)
    stop.wait()
    server.stop()
    return 0


def run_scenario_file(args: argparse.Namespace) -> int:
    """Run a scenario and print what the agent published and how fast it saw each fault."""
    from firmware_sim.errors import SimError
    from flexfleet.fault_scenario import parse_scenario, run_scenario

    try:
        scenario = parse_scenario(tomllib.loads(args.file.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, SimError) as exc:
        print(f"cannot load scenario {args.file}: {exc}", file=sys.stderr)
        return 2
    result = run_scenario(scenario)
    kinds = ("birth", "telemetry", "event", "stock")
    print(f"{scenario.name}: {scenario.duration_s:g} s simulated, {scenario.machines} machines")
    print("published: " + ", ".join(f"{kind} {result.count(kind)}" for kind in kinds))
    hours = scenario.duration_s * scenario.machines / 3600.0
    raises = result.anomaly_raises()
    line = f"anomalies raised: {raises} ({raises / hours:.2f} per machine-hour)"
    if scenario.steps:
        first = scenario.steps[0].at_s
        early = result.anomaly_raises(before_s=first)
        line += f"; {early} before the first fault at {first:g} s"
        line += (
            f" ({early / (first * scenario.machines / 3600.0):.2f} per machine-hour)"
            if first
            else ""
        )
    print(line)
    for d in result.detections:
        seen = "never reported" if d.delay_s is None else f"{d.first_event} after {d.delay_s:.1f} s"
        print(f"  {d.step.fault.value} on machine {d.step.machine} at {d.step.at_s:g} s: {seen}")
    return 0
