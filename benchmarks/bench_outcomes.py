"""Outcomes on a scenario: flexfleet against the baseline on the same seed, against the goals.

Runs `flexfleet scenario run` once per policy (each in its own process, timed), then prints
both KPI columns, each goal of issue 16 with the measured value and whether it is met, and
writes a PNG of both runs.

    .venv/bin/python benchmarks/bench_outcomes.py                    # yiwu-livestream, 30 days
    .venv/bin/python benchmarks/bench_outcomes.py --days 5 --drill warehouse-fire@2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from flexfleet.scenario.report import table  # noqa: E402


def _run(
    policy: str, args: argparse.Namespace, out: Path, extra: list[str]
) -> tuple[dict[str, Any], float]:
    command = [
        sys.executable, "-m", "flexfleet", "scenario", "run", args.scenario,
        "--policy", policy, "--days", str(args.days), "--seed", str(args.seed),
        "--json", str(out), *extra,
    ]  # fmt: skip
    for drill in args.drill:
        command += ["--drill", drill]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=REPO)
    return json.loads(out.read_text()), time.perf_counter() - started


def goals(f: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """Each goal of issue 16 the two runs (`run_scenario` results) show: (goal, value, met)."""
    fk, bk = f["kpis"], b["kpis"]
    out = [
        (
            "on_time_rate >= 0.97 and >= baseline + 0.09",
            f"{fk['on_time_rate']:.4f} vs baseline {bk['on_time_rate']:.4f}",
            fk["on_time_rate"] >= 0.97 and fk["on_time_rate"] >= bk["on_time_rate"] + 0.09,
        ),
        (
            "lead_time_p50_h <= 0.5 x baseline",
            f"{fk['lead_time_p50_h']} h vs {bk['lead_time_p50_h']} h",
            fk["lead_time_p50_h"] <= 0.5 * bk["lead_time_p50_h"],
        ),
        (
            "changeover_h <= 0.35 x baseline",
            f"{fk['changeover_h']} h vs {bk['changeover_h']} h",
            fk["changeover_h"] <= 0.35 * bk["changeover_h"],
        ),
        (
            "delivery_km_per_order <= 0.78 x baseline",
            f"{fk['delivery_km_per_order']} vs {bk['delivery_km_per_order']}",
            fk["delivery_km_per_order"] <= 0.78 * bk["delivery_km_per_order"],
        ),
        (
            "stockout_hours_during_streams == 0, inventory_days <= baseline",
            f"{fk['stockout_hours_during_streams']} h, {fk['inventory_days']} d"
            f" vs baseline {bk['stockout_hours_during_streams']} h, {bk['inventory_days']} d",
            fk["stockout_hours_during_streams"] == 0
            and fk["inventory_days"] <= bk["inventory_days"],
        ),
    ]
    for drill in fk["drills"]:
        if drill["name"] == "warehouse-fire":
            value = drill["recovery_h"]
            out.append(
                (
                    "recovery_h after warehouse-fire <= 24",
                    f"{value} h",
                    value is not None and value <= 24,
                )
            )
    return out


def main() -> int:
    """Run both policies and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="yiwu-livestream")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drill", action="append", default=[])
    parser.add_argument("--out", type=Path, default=Path("outcomes"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    base, base_s = _run("baseline", args, args.out / "baseline.json", [])
    flex, flex_s = _run(
        "flexfleet", args, args.out / "flexfleet.json",
        ["--plot", str(args.out / "outcomes.png"), "--compare", str(args.out / "baseline.json")],
    )  # fmt: skip
    print(f"load average after: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print(table([flex, base]))
    print()
    print(f"wall time: flexfleet {flex_s:.0f} s, baseline {base_s:.0f} s (goal: <= 600 s each)")
    for goal, value, met in goals(flex, base):
        print(f"{'MET ' if met else 'MISS'}  {goal}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
