"""Re-plan from the shop floor's facts after a breakdown in the middle of a running
operation: time to a feasible plan, and whether any started operation moved back in time.

For each seed: a synthetic factory (30 machines, 400 operations by default) is planned; at
`now` = 20 % of that plan's makespan every operation the plan had running is reported
started (at its planned start, with the units made in proportion, a 25 % slower cycle on
every other machine, so those run late and push their successors) and every one planned
to end by `now` reported done; the busiest machine breaks down `--down` units in the middle of its
running operation. The re-plan (`keep_started`, then CP-SAT with the previous plan as
hint) gets `--time-limit` seconds. Printed per seed: the time to the first feasible plan
(the facts applied and the dispatch repair every re-plan starts from), the wall time of the
whole re-plan, feasibility, started operations moved back (must be 0), how many were kept
in place and how many end later than planned.

    .venv/bin/python benchmarks/bench_replan_facts.py [--seeds 0,1,2] [--time-limit 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter

from plan_common import command_line, load_average

from coordinator.plan.schedule.evaluate import violations
from coordinator.plan.schedule.planner import CpSatScheduler, DispatchScheduler
from coordinator.plan.schedule.problem import Schedule, SchedulingProblem, Window
from coordinator.plan.schedule.replan import Observed, advance, keep_started, machine_down
from coordinator.plan.schedule.synthetic import factory_problem

QUANTITY = 100  # units per operation (the synthetic factory has durations only)


def observed_at(first: Schedule, now: int) -> list[Observed]:
    """What the machines would report at `now` had they run `first`: done what was planned
    to end by then, running what was planned across it (every other machine 25 % slower
    than planned in its current operation)."""
    machines = sorted({r.machine_id for r in first.operations})
    slow = set(machines[::2])
    facts = []
    for r in first.operations:
        if r.start >= now:
            continue
        if r.end <= now:
            facts.append(
                Observed(r.operation_id, r.machine_id, r.start, r.end, QUANTITY, QUANTITY, r.end)
            )
            continue
        length = max(1, r.end - r.start) * (1.25 if r.machine_id in slow else 1.0)
        made = min(QUANTITY - 1, int(QUANTITY * (now - r.start) / length))
        facts.append(Observed(r.operation_id, r.machine_id, r.start, now, made, QUANTITY))
    return facts


def main() -> int:
    """Run the benchmark and print one row per seed, then medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--machines", type=int, default=30)
    parser.add_argument("--operations", type=int, default=400)
    parser.add_argument("--initial-time-limit", type=float, default=10.0)
    parser.add_argument("--time-limit", type=float, default=2.0)
    parser.add_argument("--down", type=int, default=240, help="downtime length (time units)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print("command:", command_line())
    print("load average at start:", load_average())
    planner = CpSatScheduler(num_workers=args.workers)
    print(
        "seed  feasible_s  wall_s  feasible  status    started  kept_in_place  moved_back  pushed"
    )
    walls: list[float] = []
    firsts: list[float] = []
    for seed in (int(s) for s in args.seeds.split(",")):
        problem: SchedulingProblem = factory_problem(
            machines=args.machines, operations=args.operations, seed=seed
        )
        first = planner.plan(problem, time_limit_s=args.initial_time_limit, seed=seed)
        now = first.makespan // 5
        facts = observed_at(first, now)
        running = [f for f in facts if f.done_at is None]
        busy = Counter(f.machine_id for f in running)
        down = busy.most_common(1)[0][0]  # breaks in the middle of its running operation
        live = advance(problem, first, now=now)
        live = machine_down(live, down, Window(now, now + args.down))
        started_at = time.perf_counter()
        event = keep_started(live, facts, now=now)
        repair = DispatchScheduler().plan(event, time_limit_s=args.time_limit)
        first_feasible = time.perf_counter() - started_at
        assert not violations(event, repair)
        started_at = time.perf_counter()
        event = keep_started(live, facts, now=now)
        second = planner.plan(event, time_limit_s=args.time_limit, seed=seed)
        wall = time.perf_counter() - started_at
        rows = second.by_operation()
        kept = sum(
            1 for f in running if f.operation_id in rows and rows[f.operation_id].start == f.start
        )
        back = sum(
            1 for f in running if f.operation_id in rows and rows[f.operation_id].start < f.start
        )
        planned_end = first.by_operation()
        pushed = sum(
            1 for f in running if rows[f.operation_id].end > planned_end[f.operation_id].end
        )
        feasible = not violations(event, second)
        walls.append(wall)
        firsts.append(first_feasible)
        print(
            f"{seed:>4}  {first_feasible:10.3f}  {wall:6.2f}  {feasible!s:>8}  {second.status:<8}"
            f"  {len(running):7d}  {kept:13d}  {back:10d}  {pushed:6d}"
        )
    print(
        f"median first feasible {statistics.median(firsts):.3f} s, max {max(firsts):.3f} s; "
        f"median wall {statistics.median(walls):.2f} s, max {max(walls):.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
