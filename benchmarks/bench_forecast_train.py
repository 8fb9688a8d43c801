"""Training time and determinism of the forecast model on the M5 subset.

    .venv/bin/python benchmarks/bench_forecast_train.py [--data CSV] [--repeats 3]
        [--seed 0] [--horizon 28]

Times `train_model` (features, fit, ONNX export) on the whole file, prints the median and
the process CPU time, and checks that every repeat with the same seed produced
byte-identical ONNX.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from coordinator.forecast.model.csv_input import read_csv
from coordinator.forecast.training.fit import TrainConfig, train_model
from flexfleet.commands.forecast import DEFAULT_EVAL_FILE, shared_data_dir


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=shared_data_dir() / DEFAULT_EVAL_FILE)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--horizon", type=int, default=28)
    args = parser.parse_args()
    panel = read_csv(args.data)
    config = TrainConfig(horizon_days=args.horizon, seed=args.seed)
    wall, cpu, digests = [], [], set()
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        model = train_model(panel, config)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        digests.add(model.card.model_version)
    rows = model.card.training_window["n_training_rows"]
    print(f"data={args.data} series={panel.n_series} days={panel.n_days} rows={rows}")
    print(f"seed={args.seed} repeats={args.repeats}")
    print(
        f"train_model wall time: median {statistics.median(wall):.1f} s "
        f"(min {min(wall):.1f}, max {max(wall):.1f}); goal <= 120 s"
    )
    print(f"process CPU time: median {statistics.median(cpu):.1f} s")
    print(f"identical ONNX across repeats: {len(digests) == 1} ({', '.join(sorted(digests))})")
    print("command: .venv/bin/python " + " ".join(sys.argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
