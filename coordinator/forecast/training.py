"""Train the global demand model and export it to ONNX with its model card.

Two model kinds share the feature rows: `mlp` (default; a numpy-trained network, see
`mlp`) and `gbm` (four LightGBM boosters: mean with L2, 10/50/90 % quantiles with
pinball loss). LightGBM and onnx come from the optional `train` extra and are imported
only here and in `onnx_export`; serving needs neither.

Hyperparameters were chosen on validation windows that end before the backtest's first
origin (see docs/adr/0009-forecast-model-and-serving.md), never on the backtest windows.
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from coordinator.forecast.errors import DataError
from coordinator.forecast.features import WINDOW_DAYS, feature_names
from coordinator.forecast.mlp import MlpConfig, fit_mlp
from coordinator.forecast.model_card import CARD_FILE, MODEL_FILE, ModelCard
from coordinator.forecast.panel import SeriesPanel
from coordinator.forecast.training_rows import training_rows

OBJECTIVES: tuple[tuple[str, float | None], ...] = (
    ("regression", None),
    ("quantile", 0.1),
    ("quantile", 0.5),
    ("quantile", 0.9),
)


@dataclass(frozen=True)
class TrainConfig:
    """Training settings; the defaults are the ones chosen on pre-backtest windows."""

    horizon_days: int = 28
    seed: int = 0
    model_kind: str = "mlp"
    mean_blend: float = 0.5
    hidden_units: int = 64
    epochs: int = 10
    mlp_learning_rate: float = 2e-3
    num_rounds: int = 300
    learning_rate: float = 0.03
    num_leaves: int = 7
    min_data_in_leaf: int = 500
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    origin_stride_days: int = 3
    min_history_days: int = 56
    num_threads: int = 1

    def __post_init__(self) -> None:
        if not 0.0 <= self.mean_blend <= 1.0:
            raise DataError(f"mean_blend must be in [0, 1], got {self.mean_blend}")
        if self.model_kind not in ("mlp", "gbm"):
            raise DataError(f"model kind must be 'mlp' or 'gbm', got {self.model_kind!r}")
        if not 1 <= self.horizon_days <= 366:
            raise DataError(f"horizon must be 1..366 days, got {self.horizon_days}")
        if self.num_rounds < 1 or self.origin_stride_days < 1 or self.min_history_days < 28:
            raise DataError("num_rounds, origin_stride_days ≥ 1 and min_history_days ≥ 28")


@dataclass(frozen=True)
class ExportedModel:
    """An ONNX model in memory with its card, ready to be written or served."""

    onnx_bytes: bytes
    card: ModelCard


def fit_boosters(x: np.ndarray, target: np.ndarray, config: TrainConfig) -> list[Any]:
    """The four LightGBM boosters (mean, P10, P50, P90) fitted on the same rows."""
    import lightgbm as lgb

    boosters = []
    for objective, alpha in OBJECTIVES:
        params: dict[str, Any] = {
            "objective": objective,
            "learning_rate": config.learning_rate,
            "num_leaves": config.num_leaves,
            "min_data_in_leaf": config.min_data_in_leaf,
            "feature_fraction": config.feature_fraction,
            "bagging_fraction": config.bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": 1.0,
            "seed": config.seed,
            "num_threads": config.num_threads,
            "deterministic": True,
            "force_col_wise": True,
            "verbose": -1,
        }
        if alpha is not None:
            params["alpha"] = alpha
        data = lgb.Dataset(x, target, free_raw_data=True, params={"verbose": -1})
        boosters.append(lgb.train(params, data, num_boost_round=config.num_rounds))
    return boosters


def train_model(
    panel: SeriesPanel,
    config: TrainConfig,
    *,
    fallback_baseline: str = "MA28",
    metrics: dict[str, Any] | None = None,
) -> ExportedModel:
    """Fit on the whole panel and export to ONNX with a card (no holdout, see `train_with_holdout`)."""
    from coordinator.forecast.onnx_export import boosters_to_onnx, mlp_to_onnx

    x, target = training_rows(
        panel,
        horizon=config.horizon_days,
        origin_stride_days=config.origin_stride_days,
        min_history_days=config.min_history_days,
    )
    names = feature_names(panel.exog_names)
    if config.model_kind == "gbm":
        boosters = fit_boosters(x, target, config)
        dumps = [b.dump_model() for b in boosters]
        onnx_bytes = boosters_to_onnx(dumps, n_features=len(names), mean_blend=config.mean_blend)
    else:
        w = fit_mlp(x, target, mlp_config(config))
        onnx_bytes = mlp_to_onnx(
            mean=w.mean,
            scale=w.scale,
            w1=w.w1,
            b1=w.b1,
            w2=w.w2,
            b2=w.b2,
            mean_blend=config.mean_blend,
        )
    card = ModelCard(
        model_version="fc-" + hashlib.sha256(onnx_bytes).hexdigest()[:12],
        horizon_days=config.horizon_days,
        window_days=WINDOW_DAYS,
        min_history_days=config.min_history_days,
        feature_names=names,
        exog_names=panel.exog_names,
        fallback_baseline=fallback_baseline,
        seed=config.seed,
        training_window=_window(panel, n_rows=len(target)),
        metrics=metrics or {},
        config=asdict(config),
        versions=_versions(),
    )
    return ExportedModel(onnx_bytes=onnx_bytes, card=card)


def train_with_holdout(panel: SeriesPanel, config: TrainConfig) -> ExportedModel:
    """Score a model fitted without the last horizon days, then refit on everything.

    The holdout scores (model and every baseline) go into the card, and the baseline
    with the lowest holdout RMSSE becomes the fallback for short series.
    """
    from coordinator.forecast.evaluation import evaluate_window

    h = config.horizon_days
    metrics: dict[str, Any] = {}
    fallback = "MA28"
    if panel.n_days - h >= config.min_history_days + h and bool((panel.lengths > h).all()):
        cut = panel.n_days - h
        early = train_model(panel.head(cut), config)
        window = evaluate_window(panel, cut=cut, horizon=h, model=early)
        metrics = {"holdout": window.summary()}
        fallback = window.best_baseline()
    return train_model(panel, config, fallback_baseline=fallback, metrics=metrics)


def write_model(model: ExportedModel, out_dir: Path) -> Path:
    """Write `model.onnx` and `model_card.json` into `out_dir` (created if needed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MODEL_FILE).write_bytes(model.onnx_bytes)
    (out_dir / CARD_FILE).write_text(model.card.to_json(), encoding="utf-8")
    return out_dir


def mlp_config(config: TrainConfig) -> MlpConfig:
    """The network settings inside a training config."""
    return MlpConfig(
        hidden_units=config.hidden_units,
        epochs=config.epochs,
        learning_rate=config.mlp_learning_rate,
        seed=config.seed,
    )


def with_seed(config: TrainConfig, seed: int) -> TrainConfig:
    """The same config with another seed."""
    return replace(config, seed=seed)


def _window(panel: SeriesPanel, *, n_rows: int) -> dict[str, Any]:
    from coordinator.forecast.csv_input import day_to_iso

    first = int((panel.end_days - panel.lengths + 1).min())
    return {
        "first_day": day_to_iso(first),
        "last_day": day_to_iso(int(panel.end_days.max())),
        "n_series": panel.n_series,
        "n_training_rows": n_rows,
    }


def _versions() -> dict[str, str]:
    import lightgbm as lgb
    import onnx

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "lightgbm": str(lgb.__version__),
        "onnx": str(onnx.__version__),
    }
