"""Scrap alarms an operator can trust: the pooled binomial rule against one batch's share.

    .venv/bin/python benchmarks/bench_scrap_alarms.py [--pairs 400] [--days 30]
        [--batches-per-day 12] [--batch-size 5 --batch-size 40 --batch-size 200]
        [--limit 0.05] [--seed 0]

A simulated plant, not recorded data (no scrap records are among the shared data sets):
`--pairs` machine × product pairs, each scrapping at its own rate drawn as the simulated
firmware draws it (`firmware_sim.machine.MachineParams`: uniform between 1 % and 8 %),
each making `--batches-per-day` batches of `--batch-size` parts, evenly spread, for
`--days`. Every part is scrap with its pair's rate. Two rules judge each batch as it ends:

- one batch: its share above the limit raises an alarm (one per batch, as each batch is its
  own alarm source): the rule before `coordinator.jobs.quality.judge_scrap`;
- pooled: `judge_scrap` on the pair's batches of the last `--window-h` with `--alpha`,
  one alarm per pair, raised when over and cleared when not (what `JobTracker` does).

Per batch size it prints, for the pairs truly at or under the limit, the alarms raised per
pair and month (each a false alarm), and for the pairs over it the share that raised one
and the median days until the first; and the same for the pairs clearly over (at least
1.5 × the limit), where an operator most needs to hear.
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections import deque

from coordinator.jobs.quality import judge_scrap
from firmware_sim.machine import MachineParams


def run(
    *,
    pairs: int,
    days: int,
    per_day: int,
    size: int,
    limit: float,
    window_h: float,
    alpha: float,
    seed: int,
) -> dict[str, float]:
    rng = random.Random(f"{seed}:{size}")
    params = MachineParams()
    step_h = 24.0 / per_day
    stats: dict[str, list[float]] = {
        "false_one": [],
        "false_pooled": [],
        "found_one": [],
        "found_pooled": [],
        "days_one": [],
        "days_pooled": [],
        "clear_found_pooled": [],
        "clear_days_pooled": [],
    }
    months = days / 30.0
    for _ in range(pairs):
        rate = rng.uniform(params.scrap_rate_min, params.scrap_rate_max)
        recent: deque[tuple[float, int, int]] = deque()
        raised_one = raised_pooled = 0
        first_one = first_pooled = None
        open_ = False
        for k in range(days * per_day):
            t = k * step_h
            scrap = sum(rng.random() < rate for _ in range(size))
            if scrap / size > limit:
                raised_one += 1
                first_one = t / 24 if first_one is None else first_one
            recent.append((t, size - scrap, scrap))
            while recent[0][0] <= t - window_h:
                recent.popleft()
            over = judge_scrap([(g, s) for _, g, s in recent], limit=limit, alpha=alpha).over
            if over and not open_:
                raised_pooled += 1
                first_pooled = t / 24 if first_pooled is None else first_pooled
            open_ = over
        if rate <= limit:
            stats["false_one"].append(raised_one / months)
            stats["false_pooled"].append(raised_pooled / months)
            continue
        stats["found_one"].append(float(first_one is not None))
        stats["found_pooled"].append(float(first_pooled is not None))
        if first_one is not None:
            stats["days_one"].append(first_one)
        if first_pooled is not None:
            stats["days_pooled"].append(first_pooled)
        if rate >= 1.5 * limit:
            stats["clear_found_pooled"].append(float(first_pooled is not None))
            if first_pooled is not None:
                stats["clear_days_pooled"].append(first_pooled)

    def mean(key: str) -> float:
        return statistics.fmean(stats[key]) if stats[key] else float("nan")

    def median(key: str) -> float:
        return statistics.median(stats[key]) if stats[key] else float("nan")

    return {
        "under": len(stats["false_one"]),
        "over": len(stats["found_one"]),
        "false_one": mean("false_one"),
        "false_pooled": mean("false_pooled"),
        "found_one": mean("found_one"),
        "found_pooled": mean("found_pooled"),
        "days_one": median("days_one"),
        "days_pooled": median("days_pooled"),
        "clear": len(stats["clear_found_pooled"]),
        "clear_found_pooled": mean("clear_found_pooled"),
        "clear_days_pooled": median("clear_days_pooled"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=400)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--batches-per-day", type=int, default=12)
    parser.add_argument("--batch-size", type=int, action="append")
    parser.add_argument("--limit", type=float, default=0.05)
    parser.add_argument("--window-h", type=float, default=24.0)
    parser.add_argument("--alpha", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sizes = args.batch_size or [5, 40, 200]
    print(
        f"{args.pairs} machine x product pairs, rates uniform {MachineParams().scrap_rate_min:g}"
        f"-{MachineParams().scrap_rate_max:g}, limit {args.limit:g}, {args.batches_per_day}"
        f" batches a day for {args.days} days; pooled: window {args.window_h:g} h,"
        f" alpha {args.alpha:g}"
    )
    print(
        "| batch | pairs under / over | false alarms per pair-month: one batch / pooled"
        " | over found: one batch / pooled | median days to find: one batch / pooled"
        " | >= 1.5x limit found, pooled (median days) |"
    )
    print("|---|---|---|---|---|---|")
    for size in sizes:
        r = run(
            pairs=args.pairs,
            days=args.days,
            per_day=args.batches_per_day,
            size=size,
            limit=args.limit,
            window_h=args.window_h,
            alpha=args.alpha,
            seed=args.seed,
        )
        print(
            f"| {size} | {r['under']:.0f} / {r['over']:.0f}"
            f" | {r['false_one']:.1f} / {r['false_pooled']:.2f}"
            f" | {r['found_one']:.0%} / {r['found_pooled']:.0%}"
            f" | {r['days_one']:.2f} / {r['days_pooled']:.2f}"
            f" | {r['clear_found_pooled']:.0%} of {r['clear']:.0f} ({r['clear_days_pooled']:.2f}) |"
        )


if __name__ == "__main__":
    main()
