"""`forecast train` / `forecast eval` on large panels: wall time and peak memory.

    .venv/bin/python benchmarks/bench_forecast_scale.py --series 1000 [--seed 0]
        [--command train|eval|predict ...] [--keep DIR]

Builds a panel of `--series` series by resampling the 8 M5 series of the shared subset
(seeded; see `resampled_m5`), writes it as a long-format CSV and runs the real CLI on it
in a child process, one command after another, printing each one's wall time and peak
resident memory (the child's `ru_maxrss`). These series are NOT new real data: each is
one of the 8 M5 series with Poisson noise, a volume factor and a later start, so the
figures measure cost, not accuracy.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from coordinator.forecast.model.csv_input import day_to_iso, read_csv
from coordinator.forecast.model.panel import SeriesPanel
from flexfleet.commands.forecast import DEFAULT_EVAL_FILE, shared_data_dir


def resampled_m5(source: SeriesPanel, n_series: int, seed: int) -> SeriesPanel:
    """`n_series` series resampled from `source` (all ending on its last day).

    Series i copies source series `rng.integers(n)` with its exogenous columns, draws
    each day as Poisson(source value × a volume factor, lognormal σ 0.5), and starts at a
    random day in the first 1,000 (so lengths differ; earlier days are NaN).
    """
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, source.n_series, size=n_series)
    factor = rng.lognormal(0.0, 0.5, size=(n_series, 1))
    base = np.nan_to_num(source.y[pick])
    y = rng.poisson(base * factor).astype(np.float64)
    start = rng.integers(0, min(1000, source.n_days - 200), size=n_series)
    y[np.arange(source.n_days)[None, :] < start[:, None]] = np.nan
    return SeriesPanel(
        ids=tuple(f"R{i:05d}_{source.ids[p]}" for i, p in enumerate(pick)),
        y=y,
        exog=source.exog[pick],
        exog_names=source.exog_names,
        end_days=source.end_days[pick].copy(),
        lengths=(source.n_days - start).astype(np.int64),
    )


def write_long_csv(panel: SeriesPanel, path: Path) -> int:
    """Write the panel as `unique_id, ds, y, <exog...>`; returns the number of rows."""
    first = int(panel.end_days.max()) - panel.n_days + 1
    dates = [day_to_iso(first + t) for t in range(panel.n_days)]
    rows = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(",".join(("unique_id", "ds", "y", *panel.exog_names)) + "\n")
        for s, uid in enumerate(panel.ids):
            cols = np.flatnonzero(np.isfinite(panel.y[s]))
            ex = panel.exog[s]
            lines = [
                f"{uid},{dates[t]},{panel.y[s, t]:g}," + ",".join(f"{v:g}" for v in ex[t])
                for t in cols
            ]
            out.write("\n".join(lines) + "\n")
            rows += len(lines)
    return rows


def run_measured(argv: list[str]) -> tuple[float, float, int]:
    """Run `argv`; wall seconds, peak RSS of the child in MB, exit code."""
    t0 = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert child.stdout is not None
    output = child.stdout.read()
    child.stdout.close()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    tail = "\n".join(output.strip().splitlines()[-6:])
    print(f"$ {' '.join(argv)}\n{tail}")
    return wall, usage.ru_maxrss / 1024.0, child.returncode


def main() -> int:
    """Generate the panel, run the commands, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--command",
        action="append",
        choices=("train", "predict", "eval"),
        help="commands to run in order (default: train, predict)",
    )
    parser.add_argument("--keep", type=Path, default=None, help="work directory to keep")
    args = parser.parse_args()
    commands = args.command or ["train", "predict"]
    source = read_csv(shared_data_dir() / DEFAULT_EVAL_FILE)
    panel = resampled_m5(source, args.series, args.seed)
    work = args.keep or Path(tempfile.mkdtemp(prefix="ff-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "panel.csv"
    t0 = time.perf_counter()
    n_rows = write_long_csv(panel, data)
    print(
        f"panel: {args.series} series resampled from the 8 M5 series (seed {args.seed}), "
        f"{n_rows} rows, {data.stat().st_size / 1e6:.0f} MB CSV "
        f"(written in {time.perf_counter() - t0:.0f} s)"
    )
    cli = [str(Path(sys.executable).parent / "flexfleet"), "forecast"]
    argv_of = {
        "train": [*cli, "train", "--data", str(data), "--out", str(work / "model")],
        "predict": [
            *cli,
            "predict",
            "--model",
            str(work / "model"),
            "--data",
            str(data),
            "--out",
            str(work / "preds.csv"),
        ],
        "eval": [*cli, "eval", "--data", str(data), "--json", str(work / "scores.json")],
    }
    figures = []
    for name in commands:
        wall, rss, code = run_measured(argv_of[name])
        figures.append(f"{name}: {wall:.1f} s wall, peak RSS {rss:.0f} MB, exit {code}")
    print(f"--- {args.series} series")
    print("\n".join(figures))
    print("command: .venv/bin/python " + " ".join(sys.argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
