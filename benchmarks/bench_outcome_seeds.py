"""Outcomes over many seeds: is each goal of issue 16 met on every seed, not only on one?

Runs both policies of a scenario on each seed (`run_scenario`, in-process, one seed per
worker process), then prints per seed flexfleet against the baseline on each goal, and how
many seeds meet it. No drills (the `recovery_h` goal needs `bench_outcomes.py --drill`).

    .venv/bin/python benchmarks/bench_outcome_seeds.py --seeds 1-12           # 30 days, 2 workers
    .venv/bin/python benchmarks/bench_outcome_seeds.py --seeds 1-24 --policy baseline  # the baseline alone
"""

from __future__ import annotations

import argparse
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_outcomes import goals  # noqa: E402

from flexfleet.scenario.run import run_scenario  # noqa: E402
from flexfleet.scenario.schema import load_scenario  # noqa: E402


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def _run(scenario: str, policy: str, days: int, seed: int) -> dict[str, Any]:
    result = run_scenario(load_scenario(scenario), policy=policy, days=days, seed=seed)
    return {"kpis": result["kpis"], "wall_s": result["wall_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="yiwu-livestream")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seeds", default="1-12", help="e.g. 1-12 or 1,5,9")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--policy", choices=["both", "baseline"], default="both")
    args = parser.parse_args()
    seeds = _seeds(args.seeds)
    policies = ["baseline"] if args.policy == "baseline" else ["flexfleet", "baseline"]
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        jobs = {
            (p, s): pool.submit(_run, args.scenario, p, args.days, s)
            for s in seeds
            for p in policies
        }
        runs = {}
        for (p, s), job in jobs.items():
            runs[p, s] = job.result()
            print(f"done: {p} seed {s} ({runs[p, s]['wall_s']} s)", file=sys.stderr, flush=True)
    base = [runs["baseline", s]["kpis"]["on_time_rate"] for s in seeds]
    print(
        f"baseline on time over {len(seeds)} seeds: mean {statistics.mean(base):.4f}, "
        f"min {min(base):.4f}, max {max(base):.4f}"
    )
    if args.policy == "baseline":
        return
    met: dict[str, int] = {}
    for s in seeds:
        checks = goals(runs["flexfleet", s], runs["baseline", s])
        cells = []
        for name, value, ok in checks:
            met[name] = met.get(name, 0) + ok
            cells.append(f"{'MET ' if ok else 'MISS'} {name}: {value}")
        wall = runs["flexfleet", s]["wall_s"]
        print(f"seed {s} (flexfleet {wall} s):\n  " + "\n  ".join(cells))
    print(f"met on {len(seeds)} seeds:")
    for name, count in met.items():
        print(f"  {count:>3} / {len(seeds)}  {name}")


if __name__ == "__main__":
    main()
