"""VRPTW quality: gap to the proven distance optimum, per solver, time limit and seed.

Solvers: `flexfleet` (the planner the coordinator uses: PyVRP's search behind
`PyVrpRouter` with a budget-sized late-acceptance history, `--workers` independent seeds
in parallel, best kept), `flexfleet-1w` (the same with one process), `pyvrp-plain` (`pyvrp.read(..., round_func="dimacs")` + `pyvrp.solve`), and
`ortools` (OR-Tools routing behind the same port; deterministic, run once).

    .venv/bin/python benchmarks/bench_vrptw.py [--instances C101,C201,R101,R201,RC101,RC201]
        [--time-limits 2,10] [--seeds 0,1,2] [--solvers flexfleet,pyvrp-plain,ortools]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from plan_common import command_line, data_dir, load_average

from coordinator.plan.routing.planner import OrToolsRouter, PyVrpRouter, warm_up
from coordinator.plan.routing.vrptw_io import parse_solution, parse_vrptw


def run_plain_pyvrp(path: Path, limit: float, seed: int) -> tuple[float, int]:
    """PyVRP used plainly on the VRPLIB file, DIMACS rounding; (distance, routes)."""
    import pyvrp
    import pyvrp.stop

    data = pyvrp.read(path, round_func="dimacs")
    result = pyvrp.solve(data, pyvrp.stop.MaxRuntime(limit), seed=seed, display=False)
    if not result.is_feasible():
        return float("inf"), 0
    return result.best.distance() / 10, result.best.num_routes()


def main() -> int:
    """Solve every instance with every solver; print rows and mean gaps."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=str(data_dir() / "vrptw"))
    parser.add_argument("--instances", default="C101,C201,R101,R201,RC101,RC201")
    parser.add_argument("--time-limits", default="2,10")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--solvers", default="flexfleet,pyvrp-plain,ortools")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    folder = Path(args.dir)
    limits = [float(x) for x in args.time_limits.split(",")]
    seeds = [int(x) for x in args.seeds.split(",")]
    solvers = args.solvers.split(",")
    warm_up()  # import PyVRP before the first timed solve, as the CLI and the service do
    print("command:", command_line())
    print("load average at start:", load_average())
    print("instance  solver         limit  seed  distance  routes  optimum  gap%   wall_s")
    gaps: dict[tuple[str, float], list[float]] = {}
    for name in args.instances.split(","):
        known = parse_solution((folder / f"{name}.sol").read_text(), source=f"{name}.sol")
        problem = parse_vrptw((folder / f"{name}.txt").read_text(), source=f"{name}.txt")
        for solver in solvers:
            for limit in limits:
                for seed in seeds[:1] if solver == "ortools" else seeds:
                    started = time.perf_counter()
                    if solver == "pyvrp-plain":
                        distance, routes = run_plain_pyvrp(folder / f"{name}.vrp", limit, seed)
                    else:
                        router = (
                            OrToolsRouter()
                            if solver == "ortools"
                            else PyVrpRouter(
                                num_workers=1 if solver == "flexfleet-1w" else args.workers
                            )
                        )
                        result = router.plan(problem, time_limit_s=limit, seed=seed)
                        complete = not result.unserved
                        distance = result.total_distance if complete else float("inf")
                        routes = len(result.routes)
                    wall = time.perf_counter() - started
                    gap = 100 * (distance - known.cost) / known.cost
                    gaps.setdefault((solver, limit), []).append(gap)
                    print(
                        f"{name:<9} {solver:<13} {limit:5g}  {seed:4d}  {distance:8.1f}  "
                        f"{routes:6d}  {known.cost:7.1f}  {gap:5.2f}  {wall:6.2f}",
                        flush=True,
                    )
    for (solver, limit), values in gaps.items():
        print(
            f"mean gap {solver:<13} at {limit:g} s over {len(values)} runs: "
            f"{statistics.fmean(values):.3f} %"
        )
    print("load average at end:", load_average())
    return 0


if __name__ == "__main__":
    sys.exit(main())
