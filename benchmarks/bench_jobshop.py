"""Job-shop quality: gap to the known optimum per instance and time limit.

Every instance goes through `CpSatScheduler.plan`, the planner the coordinator uses;
`--solver plain` runs the textbook CP-SAT model instead (intervals, one no-overlap per
machine, makespan; same worker count) as the reference the planner must not fall behind.

    .venv/bin/python benchmarks/bench_jobshop.py [--instances la01-la40,ft10]
        [--time-limits 1,10] [--seed 0] [--workers 2] [--solver planner|plain]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time

from plan_common import command_line, data_dir, load_average

from coordinator.plan.schedule.jobshop_io import parse_jobshop, to_problem
from coordinator.plan.schedule.planner import CpSatScheduler, warm_up
from coordinator.plan.schedule.problem import SchedulingProblem


def expand(spec: str) -> list[str]:
    """`la01-la05,ft10` → [la01, ..., la05, ft10]."""
    names: list[str] = []
    for part in spec.split(","):
        match = re.fullmatch(r"([a-z]+)(\d+)-[a-z]*(\d+)", part)
        if match:
            prefix, lo, hi = match.group(1), int(match.group(2)), int(match.group(3))
            width = len(match.group(2))
            names.extend(f"{prefix}{k:0{width}d}" for k in range(lo, hi + 1))
        elif part:
            names.append(part)
    return names


def plain_cpsat(problem: SchedulingProblem, *, limit: float, seed: int, workers: int) -> int:
    """Makespan found by the plain CP-SAT job-shop model within `limit` seconds."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    horizon = sum(op.options[0].duration for job in problem.jobs for op in job.operations)
    per_machine: dict[str, list[cp_model.IntervalVar]] = {}
    ends: list[cp_model.IntVar] = []
    for job in problem.jobs:
        previous: cp_model.IntVar | None = None
        for op in job.operations:
            option = op.options[0]
            start = model.new_int_var(0, horizon, "")
            end = model.new_int_var(0, horizon, "")
            per_machine.setdefault(option.machine_id, []).append(
                model.new_interval_var(start, option.duration, end, "")
            )
            if previous is not None:
                model.add(start >= previous)
            previous = end
        assert previous is not None
        ends.append(previous)
    for intervals in per_machine.values():
        model.add_no_overlap(intervals)
    makespan = model.new_int_var(0, horizon, "")
    model.add_max_equality(makespan, ends)
    model.minimize(makespan)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = limit
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    solver.solve(model)
    return int(solver.objective_value)


def main() -> int:
    """Solve each instance at each time limit; print rows, then mean gaps."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=str(data_dir() / "jssp" / "instances.json"))
    parser.add_argument("--instances", default="la01-la40,ft10")
    parser.add_argument("--time-limits", default="1,10")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--local-search-share", type=float, default=0.25)
    parser.add_argument("--solver", choices=("planner", "plain"), default="planner")
    args = parser.parse_args()
    limits = [float(x) for x in args.time_limits.split(",")]
    text = open(args.file, encoding="utf-8").read()  # noqa: SIM115
    planner = CpSatScheduler(num_workers=args.workers, local_search_share=args.local_search_share)
    warm_up()  # import OR-Tools before the first timed solve
    print("command:", command_line())
    print("load average at start:", load_average())
    header = "instance  optimum " + " ".join(f"{f'mk@{t:g}s':>9} {'gap%':>6}" for t in limits)
    print(header)
    gaps: dict[float, list[float]] = {t: [] for t in limits}
    la_gaps: dict[float, list[float]] = {t: [] for t in limits}
    for name in expand(args.instances):
        instance = parse_jobshop(text, instance=name)
        problem = to_problem(instance)
        optimum = instance.optimum
        cells = []
        for limit in limits:
            started = time.perf_counter()
            if args.solver == "plain":
                makespan = plain_cpsat(problem, limit=limit, seed=args.seed, workers=args.workers)
            else:
                makespan = planner.plan(problem, time_limit_s=limit, seed=args.seed).makespan
            wall = time.perf_counter() - started
            gap = 100.0 * (makespan - optimum) / optimum if optimum else float("nan")
            gaps[limit].append(gap)
            if name.startswith("la"):
                la_gaps[limit].append(gap)
            cells.append(f"{makespan:>9} {gap:6.2f}")
            if wall > limit + 0.5:
                cells[-1] += f" (took {wall:.1f}s)"
        print(f"{name:<9} {optimum!s:>7} " + " ".join(cells), flush=True)
    for limit in limits:
        if la_gaps[limit]:
            print(
                f"mean gap over {len(la_gaps[limit])} la instances at {limit:g} s: "
                f"{statistics.fmean(la_gaps[limit]):.3f} %"
            )
        print(
            f"mean gap over all {len(gaps[limit])} instances at {limit:g} s: "
            f"{statistics.fmean(gaps[limit]):.3f} %"
        )
    print("load average at end:", load_average())
    return 0


if __name__ == "__main__":
    sys.exit(main())
