"""Re-plan after a machine goes down: time to a feasible plan and how much else moved.

For each seed: a synthetic factory (30 machines, 400 operations by default) is planned;
at `now` = 20 % of that plan's makespan the busiest machine goes down for `--down` time
units; the re-planner gets `--time-limit` seconds with the previous plan as hint. Printed
per seed: wall time, feasibility, unaffected operations moved (see
`coordinator.plan.schedule.replan.affected_by_downtime`), tardiness before/after.

    .venv/bin/python benchmarks/bench_replan.py [--seeds 0,1,2] [--time-limit 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter

from plan_common import command_line, load_average

from coordinator.plan.schedule.evaluate import moved_operations, violations
from coordinator.plan.schedule.planner import CpSatScheduler
from coordinator.plan.schedule.problem import Window
from coordinator.plan.schedule.replan import advance, affected_by_downtime, machine_down
from coordinator.plan.schedule.synthetic import factory_problem


def main() -> int:
    """Run the benchmark and print one row per seed, then medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--machines", type=int, default=30)
    parser.add_argument("--operations", type=int, default=400)
    parser.add_argument("--initial-time-limit", type=float, default=10.0)
    parser.add_argument("--time-limit", type=float, default=2.0)
    parser.add_argument("--down", type=int, default=240, help="downtime length (time units)")
    parser.add_argument("--frozen", type=int, default=0, help="frozen horizon (time units)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print("command:", command_line())
    print("load average at start:", load_average())
    planner = CpSatScheduler(num_workers=args.workers)
    print("seed  wall_s  feasible  status    unaffected_moved  affected  tardiness_before→after")
    walls, shares = [], []
    for seed in (int(s) for s in args.seeds.split(",")):
        problem = factory_problem(machines=args.machines, operations=args.operations, seed=seed)
        first = planner.plan(problem, time_limit_s=args.initial_time_limit, seed=seed)
        now = first.makespan // 5
        busy = Counter(r.machine_id for r in first.operations if r.end > now)
        down = busy.most_common(1)[0][0]
        live = advance(problem, first, now=now, frozen_horizon=args.frozen)
        event = machine_down(live, down, Window(now, now + args.down))
        started = time.perf_counter()
        second = planner.plan(event, time_limit_s=args.time_limit, seed=seed)
        wall = time.perf_counter() - started
        affected = affected_by_downtime(first, down, now=now)
        moved = set(moved_operations(first, list(second.operations)))
        unaffected = [r.operation_id for r in first.operations if r.operation_id not in affected]
        share = len(moved - affected) / max(1, len(unaffected))
        feasible = not violations(event, second)
        walls.append(wall)
        shares.append(share)
        print(
            f"{seed:>4}  {wall:6.2f}  {feasible!s:>8}  {second.status:<8}  "
            f"{100 * share:14.1f} %  {len(affected):8d}  "
            f"{first.weighted_tardiness}→{second.weighted_tardiness}"
        )
    print(
        f"median wall {statistics.median(walls):.2f} s, max {max(walls):.2f} s; "
        f"median unaffected moved {100 * statistics.median(shares):.1f} %, "
        f"max {100 * max(shares):.1f} %"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
