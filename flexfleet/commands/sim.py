"""`flexfleet sim`: run simulated devices, e.g. a machine behind a Modbus TCP server."""

from __future__ import annotations

import argparse
import signal
import sys
import threading


def register(parser: argparse.ArgumentParser) -> None:
    """Arguments of `flexfleet sim`."""
    sub = parser.add_subparsers(dest="sim_command", metavar="DEVICE", required=True)
    modbus = sub.add_parser("modbus", help="serve a simulated machine over Modbus TCP")
    modbus.add_argument("--host", default="127.0.0.1")
    modbus.add_argument("--port", type=int, default=5020)
    modbus.add_argument("--unit-id", type=int, default=1)
    modbus.add_argument("--seed", type=int, default=1)
    modbus.add_argument("--update-interval-s", type=float, default=0.1)
    modbus.set_defaults(run=run_modbus)


def run_modbus(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; prints `modbus://host:port` once listening."""
    from firmware_sim.errors import SimError
    from firmware_sim.machine import Machine
    from firmware_sim.modbus_server import MachineModbusServer
    from flexfleet.clock import SystemClock

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server = MachineModbusServer(
        machine=Machine(seed=args.seed),
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
