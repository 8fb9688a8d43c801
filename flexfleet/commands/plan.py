"""`flexfleet plan`: solve a job-shop or VRPTW instance file and print the plan as JSON.

    flexfleet plan jobshop FILE --time-limit S [--seed N] [--instance NAME]
    flexfleet plan vrptw FILE --time-limit S [--seed N]

Both go through the planners the coordinator uses. Bad input (unreadable, malformed or
oversized file, bad arguments) ends with exit code 2 and a message on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]

MAX_FILE_BYTES = 20_000_000
MAX_TIME_LIMIT_S = 24 * 3600.0


class _InputError(Exception):
    """A problem with the command's input, reported on stderr with exit code 2."""


def register(parser: argparse.ArgumentParser) -> None:
    """Add the `jobshop` and `vrptw` subcommands."""
    sub = parser.add_subparsers(dest="plan_kind", metavar="KIND", required=True)
    jobshop = sub.add_parser("jobshop", help="classic job shop (OR-Library, Taillard or JSON)")
    jobshop.add_argument("file", type=Path)
    jobshop.add_argument("--instance", help="instance name inside a JSON file of several")
    _common(jobshop)
    jobshop.set_defaults(run=run_jobshop)
    vrptw = sub.add_parser("vrptw", help="VRPTW (Solomon .txt or VRPLIB .vrp)")
    vrptw.add_argument("file", type=Path)
    _common(vrptw)
    vrptw.add_argument(
        "--solver", choices=("pyvrp", "ortools"), default="pyvrp", help="routing solver"
    )
    vrptw.set_defaults(run=run_vrptw)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--time-limit", type=float, required=True, metavar="S", dest="time_limit_s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="solver processes/threads")
    parser.add_argument(
        "--deterministic",
        action="store_true",
        help="same seed, same plan (stops on solver work done rather than wall time)",
    )


def _read(path: Path) -> str:
    """The file's text, refusing more than MAX_FILE_BYTES (devices and pipes included)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise _InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise _InputError(f"{path}: larger than the {MAX_FILE_BYTES}-byte limit")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _InputError(f"{path}: not UTF-8 text") from None


def _check_args(args: argparse.Namespace) -> None:
    if not 0 < args.time_limit_s <= MAX_TIME_LIMIT_S:
        raise _InputError(f"--time-limit must be in (0, {MAX_TIME_LIMIT_S:g}] seconds")
    if not 1 <= args.workers <= 64:
        raise _InputError("--workers must be within 1..64")


def _guarded(args: argparse.Namespace, body: Any) -> int:
    from coordinator.plan.errors import (
        InstanceFormatError,
        PlanError,
        ProblemError,
    )

    try:
        _check_args(args)
        result = body(args)
    except (_InputError, InstanceFormatError, ProblemError) as exc:
        print(f"flexfleet plan: {exc}", file=sys.stderr)
        return 2
    except PlanError as exc:  # a solver failure, not the input's fault
        print(f"flexfleet plan: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


def run_jobshop(args: argparse.Namespace) -> int:
    """Solve a classic job shop and print makespan and per-machine operations."""
    return _guarded(args, _jobshop)


def _jobshop(args: argparse.Namespace) -> dict[str, Any]:
    from coordinator.plan.schedule.jobshop_io import parse_jobshop, to_problem
    from coordinator.plan.schedule.planner import CpSatScheduler, warm_up

    instance = parse_jobshop(_read(args.file), instance=args.instance, source=str(args.file))
    warm_up()  # the time limit is for solving, not for importing the solver
    problem = to_problem(instance)
    planner = CpSatScheduler(num_workers=args.workers, deterministic=args.deterministic)
    schedule = planner.plan(problem, time_limit_s=args.time_limit_s, seed=args.seed)
    machines: dict[int, list[dict[str, int]]] = {}
    for row in schedule.operations:
        job, _, index = row.operation_id[1:].partition(".")
        machines.setdefault(int(row.machine_id[1:]), []).append(
            {"job": int(job), "operation": int(index), "start": row.start, "end": row.end}
        )
    return {
        "instance": instance.name or args.file.name,
        "makespan": schedule.makespan,
        "status": schedule.status,
        "lower_bound": schedule.lower_bound,
        "known_optimum": instance.optimum,
        "time_s": round(schedule.wall_time_s, 3),
        "machines": [
            {"machine": m, "operations": sorted(ops, key=lambda o: o["start"])}
            for m, ops in sorted(machines.items())
        ],
    }


def _customer(order_id: str) -> int | str:
    """Numeric ids print as numbers, as in the instance files."""
    return int(order_id) if order_id.isdigit() else order_id


def run_vrptw(args: argparse.Namespace) -> int:
    """Solve a VRPTW instance and print the routes and the total distance."""
    return _guarded(args, _vrptw)


def _vrptw(args: argparse.Namespace) -> dict[str, Any]:
    from coordinator.plan.routing.planner import OrToolsRouter, PyVrpRouter, warm_up
    from coordinator.plan.routing.vrptw_io import parse_vrptw

    problem = parse_vrptw(_read(args.file), source=str(args.file))
    warm_up()
    router = (
        OrToolsRouter()
        if args.solver == "ortools"
        else PyVrpRouter(num_workers=args.workers, deterministic=args.deterministic)
    )
    result = router.plan(problem, time_limit_s=args.time_limit_s, seed=args.seed)
    return {
        "instance": problem.name or args.file.name,
        "routes": [[_customer(stop) for stop in r.stops] for r in result.routes],
        "vehicles": len(result.routes),
        "total_distance": result.total_distance,
        "unserved": [
            {"order": u.order_id, "reason": u.reason, "detail": u.detail} for u in result.unserved
        ],
        "solver": result.solver,
        "time_s": round(result.wall_time_s, 3),
    }
