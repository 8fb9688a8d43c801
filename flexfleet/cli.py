"""The `flexfleet` command line.

Each command group lives in its own module under `flexfleet.commands` and exposes
`register(parser)`, which adds its arguments and sets `run` to a function taking the
parsed namespace and returning an exit code. Only the chosen group's module is imported,
and heavy libraries only inside its `run`, so `flexfleet --help` stays fast and the edge
install (`pip install ".[edge]"`, without the coordinator's libraries) runs `flexfleet agent`
and `flexfleet sim`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Iterable, Sequence

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
    "token": ("flexfleet.commands.token", "API tokens with roles and sites, kept hashed"),
    "audit": ("flexfleet.commands.audit", "verify and read the API audit log"),
    "scenario": (
        "flexfleet.commands.scenario",
        "closed-loop outcome scenarios: flexfleet vs baseline",
    ),
}

# Top-level packages of the project; a missing module outside them is a missing library.
PROJECT_PACKAGES = frozenset(
    {"protocol", "fleet_runtime", "firmware_sim", "edge_agent", "coordinator", "flexfleet"}
)


def build_parser(load: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; the groups named in `load` (all by default) get their arguments.

    Every group is listed in `--help`; a group left out of `load` is never imported.
    """
    chosen = set(COMMANDS) if load is None else set(load)
    parser = argparse.ArgumentParser(prog="flexfleet", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name in chosen:
            importlib.import_module(module_name).register(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `flexfleet` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    # The top-level parser takes no option but --help: the first word is the command.
    command = next((word for word in arguments if not word.startswith("-")), None)
    parser = build_parser(load=[command] if command in COMMANDS else [])
    args = parser.parse_args(arguments)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] in PROJECT_PACKAGES:
            raise
        print(
            f"flexfleet {args.command}: needs {exc.name}, which this install lacks "
            "(the edge install runs `agent` and `sim`; "
            'the coordinator\'s commands need pip install "flexfleet[coordinator]")',
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
