"""Train the global demand model and export it to ONNX with its model card.

The model is a numpy-trained network (see `mlp`: a mean and 10/50/90 % quantiles of the
ratio to each series' level) with an output head that mixes in the statistical
baselines. onnx comes from the optional `train` extra and is imported only here and in
`onnx_export`; serving needs neither.

Hyperparameters were chosen on validation windows that end before the backtest's first
origin (see docs/adr/0006-forecast-model-and-serving.md), never on the backtest windows.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from coordinator.forecast.errors import DataError
from coordinator.forecast.model.calibration import pinball_scale
from coordinator.forecast.model.features import (
    ERROR_QUANTILE_FEATURES,
    HEAD_ONLY_FEATURES,
    OPEN_FEATURE,
    STAT_FEATURES,
    WINDOW_DAYS,
    WINSORISED_FEATURE,
    feature_names,
)
from coordinator.forecast.model.mlp import (
    QUANTILE_LEVELS,
    MlpConfig,
    MlpWeights,
    average_networks,
    fit_mlp,
)
from coordinator.forecast.model.model_card import CARD_FILE, MODEL_FILE, ModelCard
from coordinator.forecast.model.panel import FloatArray, SeriesPanel
from coordinator.forecast.model.weekday import FLAT, pooled_weekday_shape
from coordinator.forecast.serving.predictor import panel_features
from coordinator.forecast.training.metrics import mase_scale, rmsse_scale
from coordinator.forecast.training.training_rows import TrainingRows, sample_windows, training_rows

Progress = Callable[[str], None]

# The statistical parts the head may mix into the mean, each the average of these
# feature columns (ratios to the level): the ensemble of MA28, TSB and least-squares SES
# (the head until 2026-12-06), and the winsorised 28-day mean
# (`features.winsorised_mean`), the default.
STAT_PARTS: dict[str, tuple[str, ...]] = {
    "ensemble": STAT_FEATURES,
    "winsorised": (WINSORISED_FEATURE,),
}


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class TrainConfig:
    """Training settings; the defaults are the ones chosen on pre-backtest windows."""

    horizon_days: int = 28
    seed: int = 0
    mean_blend: float = 0.5
    calibration_windows: int = 4
    hidden_units: int = 64
    epochs: int = 10
    mlp_learning_rate: float = 2e-3
    origin_stride_days: int = 3
    max_training_rows: int = 400_000
    min_history_days: int = 56
    networks: int = 1
    # chosen on the validation windows of both data sets (BENCHMARKS.md, Forecasting)
    stat_parts: tuple[str, ...] = ("winsorised",)

    def __post_init__(self) -> None:
        unknown = [p for p in self.stat_parts if p not in STAT_PARTS]
        if not self.stat_parts or unknown:
            raise DataError(
                f"stat_parts must name some of {sorted(STAT_PARTS)}, got {self.stat_parts}"
            )
        if not 0.0 <= self.mean_blend <= 1.0:
            raise DataError(f"mean_blend must be in [0, 1], got {self.mean_blend}")
        if not 1 <= self.horizon_days <= 366:
            raise DataError(f"horizon must be 1..366 days, got {self.horizon_days}")
        if self.origin_stride_days < 1 or self.min_history_days < 28:
            raise DataError("origin_stride_days must be ≥ 1 and min_history_days ≥ 28")
        if self.max_training_rows < self.horizon_days:
            raise DataError(
                f"max_training_rows must hold one window of {self.horizon_days} days,"
                f" got {self.max_training_rows}"
            )
        if not 1 <= self.networks <= 16:
            raise DataError(f"networks must be 1..16, got {self.networks}")
        if self.calibration_windows < 0:
            raise DataError(f"calibration_windows must be ≥ 0, got {self.calibration_windows}")


@dataclass(frozen=True)
class ExportedModel:
    """An ONNX model in memory with its card, ready to be written or served."""

    onnx_bytes: bytes
    card: ModelCard


def blind_to(weights: MlpWeights, seen: np.ndarray) -> MlpWeights:
    """The network fitted on the columns `seen` (a boolean mask over all feature
    columns) as one over all of them: the other columns get first-layer weights 0 (and
    standardisation 0 / 1), so they cannot change its outputs."""
    n = len(seen)
    mean = np.zeros(n, np.float32)
    scale = np.ones(n, np.float32)
    w1 = np.zeros((n, weights.w1.shape[1]), np.float32)
    mean[seen], scale[seen], w1[seen] = weights.mean, weights.scale, weights.w1
    return MlpWeights(mean, scale, w1, weights.b1, weights.w2, weights.b2)


class _Fitted:
    """The fitted network: raw ratio outputs `[m, 4]` and the ONNX export.

    The network sees every feature column except `HEAD_ONLY_FEATURES`."""

    def __init__(self, rows: TrainingRows, config: TrainConfig, names: tuple[str, ...]) -> None:
        seen = np.array([n not in HEAD_ONLY_FEATURES for n in names])
        networks = [
            fit_mlp(
                rows.x[:, seen],
                rows.target,
                mlp_config(with_seed(config, config.seed + k)),
                mse_weight=rows.mse_weight,
                pinball_weight=rows.pinball_weight,
            )
            for k in range(config.networks)
        ]
        net = networks[0] if len(networks) == 1 else average_networks(networks)
        self.weights = blind_to(net, seen)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The learned ratios to the level: mean, P10, P50, P90."""
        return self.weights.predict(x)

    def to_onnx(self, head: OutputHead, names: tuple[str, ...]) -> bytes:
        """The serialised graph with `head` applied to its outputs."""
        from coordinator.forecast.training.onnx_export import mlp_to_onnx

        net_weight, feature_mix = head.arrays(names)
        return mlp_to_onnx(
            self.weights,
            net_weight=net_weight,
            feature_mix=feature_mix,
            feature_gain=head.gain(names),
            feature_gate=head.gate(names),
        )


BLEND_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class OutputHead:
    """What the graph does with the learned ratios.

    Mean: `mean_blend` × the model plus the rest spread equally over the feature columns
    of `STAT_PARTS[stat_part]` (by default MA28, TSB, least-squares SES). Quantile k: `quantile_scale[k]` × (`quantile_blend`
    × the model's quantile + the rest × the MA28 baseline's quantile, i.e. MA28 plus
    its one-step error quantile, `ERROR_QUANTILE_FEATURES`). With `mean_weekday`
    (`quantile_weekday`) the statistical part of the mean (of the quantiles) is
    multiplied by `weekday_shape` at the target's weekday: flat forecasts, weekly shape.
    With `closures` every output is multiplied by the feature `target_open` (0 on a day
    the panel is expected to be closed, `model.closures`).
    """

    mean_blend: float
    stat_part: str = "ensemble"
    quantile_blend: float = 1.0
    quantile_scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    weekday_shape: tuple[float, ...] = FLAT
    mean_weekday: bool = False
    quantile_weekday: bool = False
    closures: bool = False

    def gate(self, names: tuple[str, ...]) -> np.ndarray | None:
        """`feature_gate` `[n_features]` for the exporter, or None without closures."""
        if not self.closures:
            return None
        gate = np.zeros(len(names), np.float32)
        gate[names.index(OPEN_FEATURE)] = 1.0
        return gate

    def gain(self, names: tuple[str, ...]) -> np.ndarray | None:
        """`feature_gain` `[n_features, 4]` for the exporter, or None when flat."""
        if not (self.mean_weekday or self.quantile_weekday):
            return None
        gain = np.zeros((len(names), 4))
        for d, value in enumerate(self.weekday_shape):
            row = names.index(f"target_is_dow{d}")
            gain[row, 0] = value if self.mean_weekday else 1.0
            gain[row, 1:] = value if self.quantile_weekday else 1.0
        return gain.astype(np.float32)

    def arrays(self, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """`net_weight` `[4]` and `feature_mix` `[n_features, 4]` for the exporter."""
        b = self.quantile_blend
        net_weight = np.array([self.mean_blend, *(b * c for c in self.quantile_scale)])
        mix = np.zeros((len(names), 4))
        stat = STAT_PARTS[self.stat_part]
        for name in stat:
            mix[names.index(name), 0] = (1.0 - self.mean_blend) / len(stat)
        for k, (name, c) in enumerate(
            zip(ERROR_QUANTILE_FEATURES, self.quantile_scale, strict=True)
        ):
            mix[names.index("ma28_rel"), k + 1] += (1.0 - b) * c
            mix[names.index(name), k + 1] += (1.0 - b) * c
        return net_weight.astype(np.float32), mix.astype(np.float32)


@dataclass(frozen=True)
class _InnerWindows:
    """Out-of-sample forecasts of the last windows of a training panel (flattened rows)."""

    actual: FloatArray  # [m]
    window_of: np.ndarray  # [m] window index, for per-window RMSSE scales
    series_of: np.ndarray  # [m]
    level: FloatArray  # [m]
    raw: np.ndarray  # [m, 4] learned ratios
    stat_means: dict[str, FloatArray]  # [m] ratio of each of `STAT_PARTS`
    stat_quantiles: FloatArray  # [m, 3] ratios of the MA28 baseline quantiles
    inv_rmsse_scale: FloatArray  # [m]
    inv_mase_scale: FloatArray  # [m]
    weekday: np.ndarray  # [m] the target's weekday, Monday = 0
    shape: tuple[float, ...]  # the pooled weekday shape of the early panel
    target_open: FloatArray  # [m] 0 on an expected closure (`OPEN_FEATURE`), else 1

    def gated(self, on: bool) -> FloatArray:
        """Per row: the closure calendar's factor (1 when `on` is false)."""
        return self.target_open if on else np.ones(len(self.target_open))

    def shaped(self, on: bool) -> FloatArray:
        """Per row: the weekday shape's factor on its target day (1 when `on` is false)."""
        return (
            np.asarray(np.asarray(self.shape)[self.weekday]) if on else np.ones(len(self.weekday))
        )


def _inner_windows(
    panel: SeriesPanel, config: TrainConfig, progress: Progress
) -> _InnerWindows | None:
    h, k = config.horizon_days, config.calibration_windows
    cut = panel.n_days - k * h
    if k == 0 or cut < config.min_history_days + h or not bool((panel.lengths > k * h).any()):
        return None
    progress(f"inner validation: fit on the days before the last {k} x {h}")
    names = feature_names(panel.exog_names)
    early = _Fitted(_rows(panel.head(cut), config, progress), config, names)
    shape = pooled_weekday_shape(panel.head(cut))
    # the forecasts of the inner windows stay within the row budget too
    pick = sample_windows(panel.n_series, config.max_training_rows // (k * h), config.seed)
    if len(pick) < panel.n_series:
        panel = panel.select(pick)
    progress(f"inner validation: forecast {k} windows of {panel.n_series} series")
    stat_cols = {part: [names.index(n) for n in cols] for part, cols in STAT_PARTS.items()}
    ma28 = names.index("ma28_rel")
    err_cols = [names.index(n) for n in ERROR_QUANTILE_FEATURES]
    dow_col = names.index("target_dow")
    open_col = names.index(OPEN_FEATURE)
    parts: list[list[np.ndarray]] = [[] for _ in range(10 + len(STAT_PARTS))]
    for j in range(k):
        origin = cut + j * h
        history = panel.head(origin)
        ok = np.repeat(history.lengths >= config.min_history_days, h)
        rows = panel_features(
            history,
            horizon=h,
            window_days=WINDOW_DAYS,
            exog_names=panel.exog_names,
            future=panel.future_exog(origin, h),
        )
        x = rows.x[ok].astype(np.float64)
        series = np.repeat(np.arange(panel.n_series), h)[ok]
        values = (
            panel.y[:, origin : origin + h].reshape(-1)[ok],
            np.full(len(x), j),
            series,
            rows.level[ok],
            early.predict(rows.x[ok]),
            x[:, [ma28]] + x[:, err_cols],
            _inverse(rmsse_scale(history.y))[series],
            _inverse(mase_scale(history.y))[series],
            x[:, dow_col].astype(np.int64),
            x[:, open_col],
            *(x[:, cols].mean(axis=1) for cols in stat_cols.values()),
        )
        for store, value in zip(parts, values, strict=True):
            store.append(np.asarray(value))
    joined = [np.concatenate(p) for p in parts]
    keep = np.isfinite(joined[0]) & (joined[7] > 0)
    if not keep.any():
        return None
    a = [column[keep] for column in joined]
    return _InnerWindows(
        actual=a[0],
        window_of=a[1],
        series_of=a[2],
        level=a[3],
        raw=a[4],
        stat_quantiles=a[5],
        inv_rmsse_scale=a[6],
        inv_mase_scale=a[7],
        weekday=a[8],
        target_open=a[9],
        stat_means=dict(zip(stat_cols, a[10:], strict=True)),
        shape=shape,
    )


def _inverse(scale: FloatArray) -> FloatArray:
    s = np.nan_to_num(scale)
    return np.where(s > 0, 1.0 / np.where(s > 0, s, 1.0), 0.0)


def _mean_rmsse(inner: _InnerWindows, forecast: FloatArray) -> float:
    """Mean over windows and series of RMSSE, as the harness scores a window."""
    sq = (inner.actual - forecast) ** 2 * inner.inv_rmsse_scale
    key = inner.window_of * (int(inner.series_of.max()) + 1) + inner.series_of
    sums = np.bincount(key, weights=sq)
    counts = np.bincount(key)
    used = counts > 0
    return float(np.sqrt(sums[used] / counts[used]).mean())


def _pinball(inner: _InnerWindows, quantiles: FloatArray) -> float:
    err = inner.actual[:, None] - quantiles
    q = np.asarray(QUANTILE_LEVELS)[None, :]
    return float((np.maximum(q * err, (q - 1) * err) * inner.inv_mase_scale[:, None]).sum())


def fit_head(
    panel: SeriesPanel, config: TrainConfig, progress: Progress = _quiet
) -> tuple[OutputHead, dict[str, Any]]:
    """The output head chosen on the panel's last windows (inner validation).

    The model is fitted on the history before the last `calibration_windows` windows of
    `horizon_days` and forecasts each of them from the actual history before it
    (`choose_head` then picks the head on those forecasts). Without enough history:
    `config.mean_blend` with the first of `config.stat_parts`, the model's own
    quantiles, factors 1.
    """
    inner = _inner_windows(panel, config, progress)
    if inner is None:
        return OutputHead(config.mean_blend, config.stat_parts[0]), {"windows": 0}
    return choose_head(inner, panel, config)


def choose_head(
    inner: _InnerWindows, panel: SeriesPanel, config: TrainConfig
) -> tuple[OutputHead, dict[str, Any]]:
    """The head that scores best on the inner windows' forecasts.

    The mean's statistical part (one of `config.stat_parts`), its weekday shape, the
    closure calendar (on or off) and the blend (grid `BLEND_GRID`) minimise the mean
    RMSSE there; the quantile blend the scaled pinball loss, and each quantile's factor
    its pinball loss (`calibration`). Ties go to the earlier statistical part, the flat
    shape, the calendar on (it changes nothing where no closure is expected) and the
    blend nearest `config.mean_blend`."""
    level = inner.level
    mean_scores = {
        (part, on, closures, w): _mean_rmsse(
            inner,
            level
            * inner.gated(closures)
            * (w * inner.raw[:, 0] + (1 - w) * inner.stat_means[part] * inner.shaped(on)),
        )
        for part in config.stat_parts
        for on in (False, True)
        for closures in (True, False)
        for w in BLEND_GRID
    }
    stat_part, mean_weekday, closures, mean_blend = min(
        mean_scores,
        key=lambda k: (
            mean_scores[k],
            config.stat_parts.index(k[0]),
            k[1],
            not k[2],
            abs(k[3] - config.mean_blend),
        ),
    )
    gate = inner.gated(closures)[:, None]

    def blended(on: bool, b: float) -> FloatArray:
        stat = inner.stat_quantiles * inner.shaped(on)[:, None]
        mixed = level[:, None] * gate * (b * inner.raw[:, 1:] + (1 - b) * stat)
        return np.asarray(np.maximum(mixed, 0))

    q_scores = {
        (on, b): _pinball(inner, blended(on, b)) for on in (False, True) for b in BLEND_GRID
    }
    quantile_weekday, quantile_blend = min(q_scores, key=lambda k: (q_scores[k], k[0], -k[1]))
    chosen = blended(quantile_weekday, quantile_blend)
    scales = tuple(
        pinball_scale(inner.actual, chosen[:, i], q, inner.inv_mase_scale)
        for i, q in enumerate(QUANTILE_LEVELS)
    )
    weekday = mean_weekday or quantile_weekday
    head = OutputHead(
        mean_blend,
        stat_part,
        quantile_blend,
        (scales[0], scales[1], scales[2]),
        weekday_shape=pooled_weekday_shape(panel) if weekday else FLAT,
        mean_weekday=mean_weekday,
        quantile_weekday=quantile_weekday,
        closures=closures,
    )
    info = {
        "windows": config.calibration_windows,
        "rows": len(inner.actual),
        "stat_part": stat_part,
        "mean_blend": mean_blend,
        "mean_rmsse_by_blend": {
            f"{part} {w}": round(v, 5)
            for (part, on, c, w), v in mean_scores.items()
            if not on and c == closures
        },
        "mean_rmsse_by_blend_weekday": {
            f"{part} {w}": round(v, 5)
            for (part, on, c, w), v in mean_scores.items()
            if on and c == closures
        },
        "mean_weekday": mean_weekday,
        "closures": closures,
        "closed_inner_rows": int((inner.target_open == 0).sum()),
        "quantile_blend": quantile_blend,
        "quantile_weekday": quantile_weekday,
        "quantile_scale": list(scales),
        "weekday_shape": [round(v, 5) for v in head.weekday_shape],
    }
    return head, info


def _rows(panel: SeriesPanel, config: TrainConfig, progress: Progress) -> TrainingRows:
    rows = training_rows(
        panel,
        horizon=config.horizon_days,
        origin_stride_days=config.origin_stride_days,
        min_history_days=config.min_history_days,
        max_rows=config.max_training_rows,
        seed=config.seed,
    )
    n = len(rows.target)
    sampled = (
        f", a seeded sample of {rows.available_rows:,} (row budget {config.max_training_rows:,})"
        if n < rows.available_rows
        else ""
    )
    progress(f"  {n:,} training rows from {panel.n_series:,} series{sampled}")
    return rows


def train_model(
    panel: SeriesPanel,
    config: TrainConfig,
    *,
    fallback_baseline: str = "MA28",
    metrics: dict[str, Any] | None = None,
    progress: Progress = _quiet,
) -> ExportedModel:
    """Calibrate on inner windows, fit on the whole panel and export to ONNX with a card
    (no holdout scoring, see `train_with_holdout`); `progress` hears each step."""
    head, calibration = fit_head(panel, config, progress)
    progress("final fit on all days")
    rows = _rows(panel, config, progress)
    names = feature_names(panel.exog_names)
    onnx_bytes = _Fitted(rows, config, names).to_onnx(head, names)
    card = ModelCard(
        model_version="fc-" + hashlib.sha256(onnx_bytes).hexdigest()[:12],
        horizon_days=config.horizon_days,
        window_days=WINDOW_DAYS,
        min_history_days=config.min_history_days,
        feature_names=names,
        exog_names=panel.exog_names,
        fallback_baseline=fallback_baseline,
        seed=config.seed,
        training_window=_window(panel, rows),
        metrics={**(metrics or {}), "calibration": calibration},
        config=asdict(config),
        versions=_versions(),
    )
    return ExportedModel(onnx_bytes=onnx_bytes, card=card)


def train_with_holdout(
    panel: SeriesPanel, config: TrainConfig, progress: Progress = _quiet
) -> ExportedModel:
    """Score a model fitted without the last horizon days, then refit on everything.

    The holdout scores (model and every baseline) go into the card, and the baseline
    with the lowest holdout RMSSE becomes the fallback for short series. Series shorter
    than the holdout window are left out of its scores (`evaluate_window`).
    """
    from coordinator.forecast.training.evaluation import evaluate_window

    h = config.horizon_days
    metrics: dict[str, Any] = {}
    fallback = "MA28"
    if panel.n_days - h >= config.min_history_days + h and bool((panel.lengths > h).any()):
        cut = panel.n_days - h
        progress(f"holdout: a model without the last {h} days")
        early = train_model(panel.head(cut), config, progress=progress)
        progress(f"holdout: scoring the model and the baselines on the last {h} days")
        window = evaluate_window(panel, cut=cut, horizon=h, model=early)
        metrics = {"holdout": window.summary()}
        fallback = window.best_baseline()
    progress("model on all days")
    return train_model(
        panel, config, fallback_baseline=fallback, metrics=metrics, progress=progress
    )


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


def _window(panel: SeriesPanel, rows: TrainingRows) -> dict[str, Any]:
    from coordinator.forecast.model.csv_input import day_to_iso

    first = int((panel.end_days - panel.lengths + 1).min())
    return {
        "first_day": day_to_iso(first),
        "last_day": day_to_iso(int(panel.end_days.max())),
        "n_series": panel.n_series,
        "n_training_rows": len(rows.target),
        "n_available_rows": rows.available_rows,
    }


def _versions() -> dict[str, str]:
    import onnx

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "onnx": str(onnx.__version__),
    }
