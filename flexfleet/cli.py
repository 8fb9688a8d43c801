"""The `flexfleet` command line.

Each command group lives in its own module under `flexfleet.commands` and exposes
`register(parser)`, which adds its arguments and sets `run` to a function taking the
parsed namespace and returning an exit code. Heavy libraries are imported inside
those functions, so `flexfleet --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("flexfleet.commands.demo", "broker + coordinator + simulated fleet on this machine"),
    "coordinator": ("flexfleet.commands.coordinator", "run the coordinator service"),
    "agent": ("flexfleet.commands.agent", "run one edge agent"),
    "sim": ("flexfleet.commands.sim", "run simulated devices (Modbus TCP server or in-process)"),
    "anomaly": ("flexfleet.commands.anomaly", "run and evaluate the streaming anomaly detectors"),
    "plan": ("flexfleet.commands.plan", "solve job-shop and VRPTW instances"),
    "forecast": ("flexfleet.commands.forecast", "train, predict and evaluate demand forecasts"),
    "device": ("flexfleet.commands.device", "broker accounts for devices and coordinators"),
}


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every available command group registered."""
    parser = argparse.ArgumentParser(prog="flexfleet", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # command group not installed in this build
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.register(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `flexfleet` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
