"""`read_csv` alone on a large panel: wall time, peak memory and a digest of the result.

    .venv/bin/python benchmarks/bench_csv_read.py --series 1000 [--seed 0] [--repeat 3]
        [--csv FILE]

Writes the resampled panel of `bench_forecast_scale.py` (`resampled_m5`, same seed, same
CSV) unless `--csv` names an existing file, then reads it `--repeat` times, each time in
a fresh child process, and prints each run's wall and CPU time of `read_csv` (CPU time
is the steadier figure on a shared machine) and the child's peak resident memory
(`ru_maxrss`, interpreter and imports included), then the medians. The
SHA-256 digest of the parsed `SeriesPanel` (ids, exog names, every array) is printed
too, so two versions of the reader can be compared for identical output.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_forecast_scale import resampled_m5, write_long_csv

from coordinator.forecast.model.csv_input import read_csv
from coordinator.forecast.model.panel import SeriesPanel
from flexfleet.commands.forecast import DEFAULT_EVAL_FILE, shared_data_dir


def panel_digest(panel: SeriesPanel) -> str:
    """SHA-256 over ids, exog names, shapes and the bytes of every array."""
    h = hashlib.sha256()
    h.update(repr((panel.ids, panel.exog_names)).encode())
    for a in (panel.y, panel.exog, panel.end_days, panel.lengths):
        h.update(repr((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def child(path: Path) -> int:
    """Read `path` once; print wall and CPU seconds and the digest."""
    t0, c0 = time.perf_counter(), time.process_time()
    panel = read_csv(path)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"{wall:.3f} {cpu:.3f} {panel_digest(panel)}")
    return 0


def write_panel(series: int, seed: int, path: Path) -> int:
    """The `bench_forecast_scale.py` panel written to `path`; returns its row count."""
    source = read_csv(shared_data_dir() / DEFAULT_EVAL_FILE)
    return write_long_csv(resampled_m5(source, series, seed), path)


def main() -> int:
    """Write (or reuse) the panel, time the reads, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--csv", type=Path, default=None, help="read this file (write if absent)")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        return child(args.child)
    path = args.csv or Path(tempfile.mkdtemp(prefix="ff-csv-")) / "panel.csv"
    if not path.exists():
        rows = write_panel(args.series, args.seed, path)
        print(f"wrote {path}: {args.series} series (seed {args.seed}), {rows} rows")
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB")
    walls, cpus, rss, digests = [], [], [], set()
    for _ in range(args.repeat):
        argv = [sys.executable, __file__, "--child", str(path)]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            print(f"child failed: {out}")
            return 1
        wall, cpu, digest = out.split()
        walls.append(float(wall))
        cpus.append(float(cpu))
        rss.append(usage.ru_maxrss / 1024.0)
        digests.add(digest)
        print(f"read_csv: {walls[-1]:.2f} s wall, {cpus[-1]:.2f} s CPU, peak RSS {rss[-1]:.0f} MB")
    print(
        f"median of {args.repeat}: {statistics.median(walls):.2f} s wall, "
        f"{statistics.median(cpus):.2f} s CPU, peak RSS {statistics.median(rss):.0f} MB; "
        f"load average {os.getloadavg()[0]:.1f}; digest {' '.join(sorted(digests))}"
    )
    print("command: .venv/bin/python " + " ".join(sys.argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
