"""`flexfleet forecast`: train, predict and evaluate demand forecasts.

    flexfleet forecast train   --data CSV --horizon H --out DIR [--seed N] [--max-rows N]
                               [--networks N]
    flexfleet forecast predict --model DIR --data CSV --horizon H --out preds.csv
    flexfleet forecast eval    [--data CSV] [--horizon 28] [--windows 4] [--seed N]
                               [--drop-last DAYS] [--max-rows N] [--networks N]

Each takes `--negatives zero|error`: a negative `y` (a day of net returns in retail data)
is read as 0 and counted on stderr (default), or refused with its line.

Heavy libraries (numpy, onnx, onnxruntime) are imported inside the commands.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from flexfleet.commands.outputs import can_write

DEFAULT_EVAL_FILE = Path("demand") / "m5_sales_exog_small.csv"


def shared_data_dir() -> Path:
    """`$FLEXFLEET_DATA`, else `../shared/data` beside the repository root."""
    env = os.environ.get("FLEXFLEET_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def register(parser: argparse.ArgumentParser) -> None:
    """Add the train / predict / eval subcommands."""
    sub = parser.add_subparsers(dest="forecast_command", metavar="ACTION", required=True)
    train = sub.add_parser("train", help="train the global model and export it to ONNX")
    train.add_argument("--data", type=Path, required=True, help="long-format CSV")
    train.add_argument("--horizon", type=int, default=28, help="days ahead (default 28)")
    train.add_argument("--out", type=Path, required=True, help="model directory to write")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--no-holdout", action="store_true", help="skip the holdout scoring")
    _add_max_rows(train)
    _add_negatives(train)
    train.set_defaults(run=run_train)
    predict = sub.add_parser("predict", help="forecast the days after each series' last row")
    predict.add_argument("--model", type=Path, required=True, help="model directory")
    predict.add_argument("--data", type=Path, required=True, help="long-format CSV")
    predict.add_argument("--horizon", type=int, default=28)
    predict.add_argument("--out", type=Path, required=True, help="CSV to write")
    predict.add_argument(
        "--with-mean", action="store_true", help="also write mean, method and fallback columns"
    )
    _add_negatives(predict)
    predict.set_defaults(run=run_predict)
    ev = sub.add_parser("eval", help="M5 protocol: final window and rolling-origin backtest")
    ev.add_argument("--data", type=Path, default=None, help="default: shared M5 subset")
    ev.add_argument("--horizon", type=int, default=28)
    ev.add_argument("--windows", type=int, default=4, help="backtest windows (default 4)")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--json", type=Path, default=None, help="also write the scores as JSON")
    ev.add_argument(
        "--drop-last",
        type=int,
        default=0,
        metavar="DAYS",
        help="evaluate as if the data ended DAYS earlier (e.g. 112 --windows 6: the six"
        " validation windows before the default backtest)",
    )
    ev.add_argument("--baselines-only", action="store_true")
    _add_max_rows(ev)
    _add_negatives(ev)
    ev.set_defaults(run=run_eval)


def _add_max_rows(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-rows",
        type=int,
        default=None,
        help="training row budget (default 400,000): larger panels train on a seeded"
        " sample of (series, origin) windows",
    )
    parser.add_argument(
        "--networks",
        type=int,
        default=None,
        help="networks averaged into the model, each with its own seed (default: the"
        " training default)",
    )


def _config(args: argparse.Namespace) -> Any:
    from coordinator.forecast.training.fit import TrainConfig

    config = TrainConfig(horizon_days=args.horizon, seed=args.seed)
    if args.max_rows is not None:
        config = replace(config, max_training_rows=args.max_rows)
    if args.networks is not None:
        config = replace(config, networks=args.networks)
    return config


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _add_negatives(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--negatives",
        choices=("zero", "error"),
        default="zero",
        help="a negative y (a day of net returns): read as 0 and counted (default), or an error",
    )


def _read(path: Path, negatives: str) -> Any:
    from coordinator.forecast.model.csv_input import read_csv

    _progress(f"reading {path}")
    panel = read_csv(path, negatives="error" if negatives == "error" else "zero", note=_progress)
    _progress(f"  {panel.n_series:,} series, up to {panel.n_days:,} days")
    return panel


def _fail(exc: Exception) -> int:
    print(f"flexfleet forecast: error: {exc}", file=sys.stderr)
    return 2


def run_train(args: argparse.Namespace) -> int:
    """Train on `--data`, write model.onnx and model_card.json into `--out`."""
    from coordinator.forecast.errors import ForecastError
    from coordinator.forecast.training.fit import (
        train_model,
        train_with_holdout,
        write_model,
    )

    try:
        can_write(args.out, directory=True)
        panel = _read(args.data, args.negatives)
        config = _config(args)
        if args.no_holdout:
            model = train_model(panel, config, progress=_progress)
        else:
            model = train_with_holdout(panel, config, _progress)
        write_model(model, args.out)
    except (ForecastError, OSError) as exc:
        return _fail(exc)
    card = model.card
    print(f"model {card.model_version} written to {args.out}")
    holdout = card.metrics.get("holdout")
    if holdout:
        print(f"holdout (last {card.horizon_days} days) mean RMSSE:")
        for name, scores in holdout.items():
            print(f"  {name:8s} {scores['rmsse']:.3f}")
    head = card.metrics.get("calibration", {})
    if head.get("windows"):
        factors = ", ".join(f"{v:.2f}" for v in head["quantile_scale"])
        print(
            f"inner validation ({head['windows']} windows): mean blend {head['mean_blend']}, "
            f"quantile blend {head['quantile_blend']}, P10/P50/P90 factors {factors}"
        )
    print(f"fallback for short series: {card.fallback_baseline}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    """Forecast `--horizon` days after each series' last row into `--out`."""
    from coordinator.forecast.errors import ForecastError
    from coordinator.forecast.serving.model_store import newest_model_dir
    from coordinator.forecast.serving.predict_csv import write_predictions
    from coordinator.forecast.serving.predictor import forecast_with_model
    from coordinator.forecast.serving.runtime import OnnxModel

    try:
        can_write(args.out)
        model = OnnxModel.load(newest_model_dir(args.model))
        panel = _read(args.data, args.negatives)
        result = forecast_with_model(model, panel, horizon=args.horizon)
        write_predictions(result, args.out, with_mean=args.with_mean)
    except (ForecastError, OSError) as exc:
        return _fail(exc)
    fallback = [uid for uid, f in zip(result.ids, result.fallback, strict=True) if f]
    print(f"{len(result.ids)} series x {args.horizon} days written to {args.out}")
    if fallback:
        shown = ", ".join(fallback[:10]) + (" ..." if len(fallback) > 10 else "")
        method = result.method[result.ids.index(fallback[0])]
        print(f"{len(fallback)} series too short for the model, forecast by {method}: {shown}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    """Score the model and every baseline on the final window and a rolling backtest."""
    from coordinator.forecast.errors import ForecastError
    from coordinator.forecast.training.evaluation import backtest
    from coordinator.forecast.training.fit import train_model
    from coordinator.forecast.training.report import format_report, report_json

    path = args.data or shared_data_dir() / DEFAULT_EVAL_FILE
    if not path.is_file():
        return _fail(FileNotFoundError(f"{path} not found (set FLEXFLEET_DATA or --data)"))
    try:
        if args.json is not None:
            can_write(args.json)
        panel = _read(path, args.negatives)
        if args.drop_last:
            panel = panel.head(panel.n_days - args.drop_last)
        config = _config(args)
        trainer: Any = (
            None if args.baselines_only else (lambda h: train_model(h, config, progress=_progress))
        )
        results = backtest(
            panel, horizon=args.horizon, n_windows=args.windows, train=trainer, progress=_progress
        )
    except (ForecastError, OSError) as exc:
        return _fail(exc)
    print(format_report(results, data_path=str(path)))
    if args.json is not None:
        import json

        try:
            args.json.write_text(json.dumps(report_json(results), indent=2) + "\n", "utf-8")
        except OSError as exc:
            return _fail(exc)
    return 0
