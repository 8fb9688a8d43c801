"""`flexfleet anomaly`: run the edge detectors over a CSV, or evaluate them on NAB.

    flexfleet anomaly detect CSV [--out FILE] [--signal-column NAME] [--config TOML]
    flexfleet anomaly eval [--data DIR] [--file CATEGORY/NAME.csv ...] [--config TOML]
    flexfleet anomaly simulate [--machines 12] [--days 30] [--seed N] [--interval-s 2]
        [--jobs 1] [--config TOML]

`detect` writes `timestamp,value,score,alert` rows (score is the highest detector score
relative to its raise threshold, 1.0 = at the threshold; alert is 1 on the sample where
the signal goes into alarm). `eval` prints per-file and corpus NAB scores beside the
published detectors' and the alert latency from each window's start. `simulate` runs
simulated machines with seeded faults among normal operation through the agent's detection
and incidents (`flexfleet.plant_simulation`) and prints, per fault kind, the faults caught
and the delay from onset, and the false incidents per machine per week.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from edge_agent.detectors import DetectorConfig


def register(parser: argparse.ArgumentParser) -> None:
    """Add the `detect` and `eval` subcommands."""
    sub = parser.add_subparsers(dest="anomaly_command", metavar="SUBCOMMAND", required=True)
    detect = sub.add_parser("detect", help="run the detectors over a timestamp,value CSV")
    detect.add_argument("csv", type=Path, help="input CSV with a header (timestamp,value)")
    detect.add_argument("--out", type=Path, default=None, help="output file (default: stdout)")
    detect.add_argument("--signal-column", default=None, help="value column of a wider file")
    detect.add_argument(
        "--timestamp-column", default="timestamp", help="time column (default: timestamp)"
    )
    detect.add_argument("--config", type=Path, default=None, help="detector settings (TOML)")
    detect.set_defaults(run=run_detect)
    evaluate = sub.add_parser("eval", help="score the detectors on the NAB corpus")
    evaluate.add_argument("--data", type=Path, default=None, help="NAB directory")
    evaluate.add_argument(
        "--file", action="append", default=None, help="only this corpus file (repeatable)"
    )
    evaluate.add_argument("--config", type=Path, default=None, help="detector settings (TOML)")
    evaluate.set_defaults(run=run_eval)
    simulate = sub.add_parser("simulate", help="faults and false incidents on a simulated plant")
    simulate.add_argument("--machines", type=int, default=12, help="machines (default 12)")
    simulate.add_argument("--days", type=float, default=30.0, help="simulated days (default 30)")
    simulate.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    simulate.add_argument(
        "--interval-s", type=float, default=2.0, help="sampling interval (default 2 s)"
    )
    simulate.add_argument("--jobs", type=int, default=1, help="processes (default 1)")
    simulate.add_argument(
        "--config", type=Path, default=None, help="the agent's [detectors] settings (TOML)"
    )
    simulate.set_defaults(run=run_simulate)


def _error(message: str) -> int:
    print(f"flexfleet anomaly: error: {message}", file=sys.stderr)
    return 2


def load_config(path: Path | None) -> DetectorConfig:
    """Detector settings from a TOML file (top level or a `[detectors]` table)."""
    import tomllib

    from edge_agent.detectors import DetectorConfig

    if path is None:
        return DetectorConfig()
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    table = data.get("detectors", data)
    return DetectorConfig.from_dict(table)


def _write_detections(series: Any, config: DetectorConfig, out: TextIO) -> None:
    from flexfleet.nab import run_detectors

    trace = run_detectors(series, config, signal=series.name)
    alerts = set(trace.alert_rows)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["timestamp", "value", "score", "alert"])
    for row, (text, value, score) in enumerate(
        zip(series.timestamp_texts, series.values, trace.scores, strict=True)
    ):
        shown = "" if value is None else repr(value)
        writer.writerow([text, shown, f"{score:.4f}", int(row in alerts)])


def run_detect(args: argparse.Namespace) -> int:
    """Run the detectors over one CSV file and write the scored rows."""
    import tomllib

    from edge_agent.detectors import DetectorConfigError
    from flexfleet.nab import SeriesError, read_series

    try:
        config = load_config(args.config)
        series = read_series(
            args.csv, signal_column=args.signal_column, timestamp_column=args.timestamp_column
        )
    except (SeriesError, DetectorConfigError) as exc:
        return _error(str(exc))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return _error(f"cannot read configuration {args.config}: {exc}")
    if args.out is None:
        _write_detections(series, config, sys.stdout)
        return 0
    try:
        with args.out.open("w", encoding="utf-8", newline="") as handle:
            _write_detections(series, config, handle)
    except OSError as exc:
        return _error(f"cannot write {args.out}: {exc.strerror or exc}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    """Evaluate the detectors on the NAB corpus and print the score tables."""
    import tomllib

    from edge_agent.detectors import DetectorConfigError
    from flexfleet.nab import NabError, evaluate_corpus
    from flexfleet.nab.corpus import default_nab_dir, published_normalised, published_scores
    from flexfleet.nab.report import corpus_table, file_table

    nab_dir = args.data if args.data is not None else default_nab_dir()
    try:
        config = load_config(args.config)
        evaluation = evaluate_corpus(nab_dir, config, files=args.file)
        published = published_scores(nab_dir)
        normalised = published_normalised(nab_dir)
    except (NabError, DetectorConfigError) as exc:
        return _error(str(exc))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return _error(f"cannot read configuration {args.config}: {exc}")
    for line in file_table(evaluation, published):
        print(line)
    print()
    for line in corpus_table(evaluation, published, normalised):
        print(line)
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    """Simulate the plant and print the fault and false-incident figures."""
    import time
    import tomllib

    from edge_agent.detection import check_detector_settings
    from edge_agent.errors import ConfigError
    from flexfleet.plant_simulation import SimulationSettings, report_lines, simulate

    detectors: dict[str, Any] = {}
    if args.config is not None:
        try:
            data = tomllib.loads(args.config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            return _error(f"cannot read configuration {args.config}: {exc}")
        table = data.get("detectors", data)
        if not isinstance(table, dict):
            return _error("[detectors] must be a table")
        detectors = table
    try:
        check_detector_settings(detectors)
        settings = SimulationSettings(
            machines=args.machines,
            days=args.days,
            seed=args.seed,
            interval_s=args.interval_s,
            detectors=detectors,
        )
    except ConfigError as exc:
        return _error(f"{exc.field}: {exc.reason}")
    except ValueError as exc:
        return _error(str(exc))
    if not 1 <= args.jobs <= 64:
        return _error("--jobs must be in 1..64")
    started = time.monotonic()
    report = simulate(settings, jobs=args.jobs)
    for line in report_lines(report):
        print(line)
    print(f"({time.monotonic() - started:.0f} s of wall time)")
    return 0
