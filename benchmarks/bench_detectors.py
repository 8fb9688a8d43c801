"""Cost of the edge anomaly detectors per sample per signal, and their NAB scores.

Reproduce (defaults shown):

    .venv/bin/python benchmarks/bench_detectors.py --signals 200 --samples 2000 --repeats 5 --seed 1 \
        --interval-ms 100

Part 1 feeds `--signals` monitors round-robin, as the agent does, with noisy signals that
carry occasional spikes, steps and stuck stretches (so raise/clear paths run too), and
prints the median over `--repeats` runs of the wall-clock and CPU time per sample per
signal, the ratio to the 5 µs goal, and what 200 signals × 10 Hz would cost of one core.
The same runs are repeated, interleaved, with the baseline's time-of-day model switched
off (`season_slots = 0`), and the ratio of the two is printed: on a shared machine the
ratio is steadier than either figure. `--interval-ms` sets the sampling interval (the
time-of-day model looks up its slot only when a slot boundary is crossed).
Part 3 (`--bank`) measures the state-aware path the agent runs on machines: simulated
machines (`firmware_sim.machine`, free running, read every `--interval-ms`), five signals
each (three judged per operating state: `ModedMonitor` with its per-state range, warm-up
and re-learning; the state code watched for long stays; incidents), through
`DetectorBank.observe_modes`, `update` and `events`; the readings are made beforehand, so
only the detection is timed (median CPU over `--repeats` runs, per sample per signal).
Part 2 (skipped with `--skip-nab`) evaluates the detectors on the NAB corpus with the one
default configuration and prints the corpus and industrial-file scores beside Numenta HTM.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

from edge_agent.detectors import DetectorConfig, SignalMonitor

GOAL_US = 5.0
INDUSTRIAL = (
    "realKnownCause/machine_temperature_system_failure.csv",
    "realKnownCause/ambient_temperature_system_failure.csv",
)


def make_signals(signals: int, samples: int, seed: int) -> list[list[float]]:
    """Noise around a per-signal level with rare spikes, level steps and stuck stretches."""
    rng = random.Random(seed)
    out = []
    for _ in range(signals):
        level = rng.uniform(-50, 150)
        sd = rng.uniform(0.1, 5.0)
        values: list[float] = []
        stuck = 0
        for _ in range(samples):
            roll = rng.random()
            if roll < 0.0005:
                level += rng.choice((-1, 1)) * 6 * sd
            if stuck:
                stuck -= 1
                values.append(values[-1])
                continue
            if roll > 0.9995:
                stuck = 60
            value = level + rng.gauss(0.0, sd)
            if roll < 0.001:
                value += 20 * sd
            values.append(value)
        out.append(values)
    return out


def run_once(
    data: list[list[float]], config: DetectorConfig, interval_ms: int = 100
) -> tuple[float, float, int]:
    """Feed every signal's samples round-robin; returns (wall s, CPU s, anomalies)."""
    monitors = [SignalMonitor(f"s{i}", config) for i in range(len(data))]
    samples = len(data[0])
    events = 0
    wall = time.perf_counter()
    cpu = time.process_time()
    for t in range(samples):
        ts = t * interval_ms
        for monitor, values in zip(monitors, data, strict=True):
            events += len(monitor.update(ts, values[t]))
    return time.perf_counter() - wall, time.process_time() - cpu, events


def bench_cost(args: argparse.Namespace) -> None:
    """Part 1: microseconds per sample per signal, with and without the time-of-day model."""
    data = make_signals(args.signals, args.samples, args.seed)
    configs = {
        "default": DetectorConfig(),
        "season off": DetectorConfig().merged({"baseline": {"season_slots": 0}}),
    }
    total = args.signals * args.samples
    walls: dict[str, list[float]] = {name: [] for name in configs}
    cpus: dict[str, list[float]] = {name: [] for name in configs}
    events = 0
    for repeat in range(args.repeats):
        order = list(configs) if repeat % 2 == 0 else list(reversed(configs))
        for name in order:
            wall, cpu, found = run_once(data, configs[name], args.interval_ms)
            walls[name].append(wall / total * 1e6)
            cpus[name].append(cpu / total * 1e6)
            events = found if name == "default" else events
    print(
        f"detector cost, {args.signals} signals x {args.samples} samples every "
        f"{args.interval_ms} ms, {args.repeats} runs:"
    )
    for name in configs:
        wall_us = statistics.median(walls[name])
        cpu_us = statistics.median(cpus[name])
        print(f"  [{name}]")
        print(f"    wall median {wall_us:.2f} us/sample/signal (runs: {_runs(walls[name])})")
        print(f"    CPU  median {cpu_us:.2f} us/sample/signal (runs: {_runs(cpus[name])})")
        print(
            f"    ratio to the {GOAL_US:.0f} us goal: {cpu_us / GOAL_US:.2f} (CPU), "
            f"{wall_us / GOAL_US:.2f} (wall)"
        )
        print(
            f"    200 signals x 10 Hz = 2000 samples/s -> {cpu_us * 2000 / 1e6 * 100:.2f} % of one core"
        )
    ratios = [d / o for d, o in zip(cpus["default"], cpus["season off"], strict=True)]
    print(
        f"  CPU ratio default / season off, median of paired runs: {statistics.median(ratios):.3f}"
    )
    print(f"  anomalies raised or cleared in the last default run: {events}")


def bench_bank(args: argparse.Namespace) -> None:
    """Part 3: the state-aware `DetectorBank` on simulated machines, per sample per signal."""
    from edge_agent.detection import DetectorBank
    from firmware_sim.machine import MACHINE_SIGNALS, Machine, MachineParams

    machines = max(1, args.signals // len(MACHINE_SIGNALS))
    params = MachineParams(step_s=args.interval_ms / 1000.0, free_running=True)
    rows: list[list[tuple[str, float]]] = []
    for index in range(machines):
        machine = Machine(seed=args.seed * 1000 + index, params=params)
        prefix = f"m{index:02d}."
        for t in range(args.samples):
            machine.advance_to((t + 1) * args.interval_ms / 1000.0)
            if index == 0:
                rows.append([])
            rows[t] += [(prefix + k, v) for k, v in machine.readings().items()]
    signals = [name for name, _ in rows[0]]
    stepped = frozenset(n for n in signals if n.endswith((".state", ".part_count")))
    modes = {n: n.rpartition(".")[0] + ".state" for n in signals if n not in stepped}
    cpus = []
    incidents = 0
    for _ in range(args.repeats):
        bank = DetectorBank({}, signals, stepped=stepped, modes=modes)
        cpu = time.process_time()
        for t, row in enumerate(rows):
            bank.observe_modes(row)
            ts = t * args.interval_ms
            for name, value in row:
                found = bank.update(name, ts, value)
                if found:
                    incidents += len(bank.events(found))
        cpus.append((time.process_time() - cpu) / (len(rows) * len(signals)) * 1e6)
    cpu_us = statistics.median(cpus)
    print(
        f"DetectorBank, {machines} machines x {len(MACHINE_SIGNALS)} signals x "
        f"{args.samples} samples every {args.interval_ms} ms, {args.repeats} runs:"
    )
    print(f"  CPU median {cpu_us:.2f} us/sample/signal (runs: {_runs(cpus)})")
    print(f"  ratio to the {GOAL_US:.0f} us goal: {cpu_us / GOAL_US:.2f}")
    print(f"  incident events in all runs: {incidents}")


def _runs(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def bench_nab(args: argparse.Namespace) -> None:
    """Part 2: NAB corpus scores with the default configuration."""
    from flexfleet.nab import evaluate_corpus
    from flexfleet.nab.corpus import default_nab_dir, published_scores

    nab = Path(args.nab_dir) if args.nab_dir else default_nab_dir()
    if not (nab / "data").is_dir():
        print(f"NAB corpus not found at {nab}; skipping part 2")
        return
    start = time.perf_counter()
    evaluation = evaluate_corpus(nab, DetectorConfig())
    elapsed = time.perf_counter() - start
    htm = published_scores(nab)["numenta"]
    print(
        f"NAB corpus, {len(evaluation.files)} files, one default configuration ({elapsed:.1f} s):"
    )
    for profile in ("standard", "reward_low_FP_rate", "reward_low_FN_rate"):
        print(
            f"  {profile:20s} raw {evaluation.raw(profile):8.2f}  normalised {evaluation.normalised(profile):6.2f}"
        )
    for result in evaluation.files:
        if result.name in INDUSTRIAL:
            ours = result.scores["standard"].score
            theirs = htm[result.name].score
            verdict = "above" if ours > theirs else "below"
            print(f"  {result.name}: {ours:.3f} vs HTM {theirs:.3f} ({verdict})")


def main() -> int:
    """Parse arguments and run the benchmark parts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=200)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--interval-ms", type=int, default=100, help="sampling interval")
    parser.add_argument("--nab-dir", default=None, help="NAB directory (default: shared data)")
    parser.add_argument("--skip-nab", action="store_true")
    parser.add_argument("--bank", action="store_true", help="also time the DetectorBank path")
    args = parser.parse_args()
    print("command: " + " ".join([Path(sys.executable).name, *sys.argv]))
    bench_cost(args)
    if args.bank:
        bench_bank(args)
    if not args.skip_nab:
        bench_nab(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
