"""`flexfleet scenario run`: run a policy on a scenario and report its KPIs.

    flexfleet scenario run SCENARIO --policy flexfleet|baseline --days D --seed N
        --json OUT [--drill NAME@DAY ...] [--speed X] [--plot FILE [--compare OTHER.json]]
        [--broker mqtt://HOST[:PORT] | --broker auto]

SCENARIO is a TOML file or the name of a shipped one (`yiwu-livestream`). Progress goes to
stderr, the KPI table to stdout, the whole result (KPIs, daily series, events) to OUT.
`--speed X` paces the run at X simulated seconds per wall second (default: as fast as it
goes). `--plot FILE` writes a PNG of the daily on-time rate, stock-outs and utilisation
with the drills; with `--compare` the other policy's JSON is drawn beside it. `--broker`
runs the same with the world's facts (machines, shelves, vans) crossing that MQTT broker
to the coordinator's ingest; `auto` starts a private Mosquitto on a free loopback port.
A bad scenario, drill or argument ends with exit code 2 and a message naming the field;
a broker that cannot be reached, with exit code 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from flexfleet.commands.outputs import can_write

__all__ = ["register"]

MAX_DAYS = 366


def register(parser: argparse.ArgumentParser) -> None:
    """Add the `run` subcommand."""
    sub = parser.add_subparsers(dest="scenario_kind", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="run one policy on a scenario")
    run.add_argument("scenario", help="a scenario TOML file or a shipped scenario's name")
    run.add_argument("--policy", choices=("flexfleet", "baseline"), required=True)
    run.add_argument("--days", type=int, default=None, help="days to run (default: the file's)")
    run.add_argument("--seed", type=int, default=1)
    run.add_argument("--json", type=Path, required=True, metavar="OUT", dest="json_out")
    run.add_argument("--drill", action="append", default=[], metavar="NAME@DAY")
    run.add_argument("--speed", type=float, default=None, metavar="X")
    run.add_argument("--time-limit", type=float, default=0.5, metavar="S", dest="time_limit_s",
                     help="the planner's time limit per re-plan")  # fmt: skip
    run.add_argument("--plot", type=Path, default=None, metavar="FILE")
    run.add_argument("--compare", type=Path, default=None, metavar="OTHER_JSON")
    run.add_argument("--broker", default=None, metavar="URL",
                     help="mqtt://HOST[:PORT], or auto: a private Mosquitto")  # fmt: skip
    run.set_defaults(run=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Run the scenario; 0 on success, 2 on bad input."""
    from flexfleet.broker import BrokerError
    from flexfleet.scenario.broker_link import WireError, WireStats, parse_broker_url
    from flexfleet.scenario.drills import DrillError, parse_drill
    from flexfleet.scenario.report import table
    from flexfleet.scenario.run import run_scenario
    from flexfleet.scenario.schema import ScenarioError, load_scenario

    try:
        scenario = load_scenario(args.scenario)
        days = scenario.days if args.days is None else args.days
        if not 1 <= days <= MAX_DAYS:
            raise DrillError(f"--days must be in 1..{MAX_DAYS}")
        drills = [parse_drill(text, days=days) for text in args.drill]
        if args.speed is not None and args.speed <= 0:
            raise DrillError("--speed must be positive")
        if not 0.05 <= args.time_limit_s <= 60:
            raise DrillError("--time-limit must be in 0.05..60 s")
        if not 0 <= args.seed < 2**32:
            raise DrillError(f"--seed must be in 0..{2**32 - 1}, got {args.seed}")
        if args.broker not in (None, "auto"):
            parse_broker_url(args.broker)
        can_write(args.json_out)
        if args.plot is not None:
            can_write(args.plot)
        compared = [] if args.compare is None else [_compared(args.compare)]
    except (ScenarioError, DrillError, WireError, OSError) as exc:
        print(f"flexfleet scenario: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()

    def progress(day: int) -> None:
        if args.speed is not None:
            behind = day * 86_400.0 / args.speed - (time.monotonic() - started)
            if behind > 0:
                time.sleep(behind)
        print(
            f"[{args.policy}] day {day}/{days} ({time.monotonic() - started:.0f} s)",
            file=sys.stderr,
            flush=True,
        )

    def wire(stats: WireStats) -> None:
        print(
            f"[{args.policy}] broker: {stats.messages} facts, {stats.births} births and "
            f"{stats.commands} plan commands crossed, {stats.wait_s:.1f} s waiting for the "
            "coordinator's ingest",
            file=sys.stderr,
        )

    try:
        result = run_scenario(
            scenario,
            policy=args.policy,
            days=days,
            seed=args.seed,
            drills=drills,
            time_limit_s=args.time_limit_s,
            progress=progress,
            broker=args.broker,
            on_wire=wire,
        )
    except (WireError, BrokerError) as exc:
        print(f"flexfleet scenario: broker: {exc}", file=sys.stderr)
        return 1
    try:
        args.json_out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
        print(table([result]))
        if args.plot is not None:
            from flexfleet.scenario.plot import plot

            plot([result, *compared], args.plot)
    except OSError as exc:
        print(f"flexfleet scenario: {exc}", file=sys.stderr)
        return 1
    return 0


def _compared(path: Path) -> dict[str, Any]:
    """The run of `--compare`, read before the run (OSError when it cannot be used)."""
    try:
        doc = json.loads(path.read_text())
    except ValueError as exc:
        raise OSError(f"--compare {path}: not a run's JSON ({exc})") from exc
    except OSError as exc:
        raise OSError(f"--compare {path}: {exc.strerror or exc}") from exc
    missing = sorted(
        {"policy", "seed", "kpis", "daily"} - set(doc if isinstance(doc, dict) else ())
    )
    if not isinstance(doc, dict) or missing:
        raise OSError(f"--compare {path}: not a run's JSON (no {', '.join(missing)})")
    return doc
