"""What a forecast is made of: the series panel and sales history, features, the MLP,
the statistical baselines, quantile calibration and the model card.

Pure numpy; nothing here imports onnxruntime or onnx.
"""

from coordinator.forecast.model.baselines import (
    BASELINES,
    QUANTILES,
    BaselineForecast,
    baseline_quantiles,
)
from coordinator.forecast.model.calibration import pinball_scale
from coordinator.forecast.model.csv_input import day_to_iso, parse_csv_text, read_csv
from coordinator.forecast.model.features import FeatureRows, build_features, feature_names
from coordinator.forecast.model.history import DailySales, panel_from_sales, split_series_id
from coordinator.forecast.model.mlp import MlpConfig, MlpWeights, fit_mlp
from coordinator.forecast.model.model_card import CARD_FILE, MODEL_FILE, ModelCard, read_card
from coordinator.forecast.model.panel import SeriesPanel

__all__ = [
    "BASELINES",
    "CARD_FILE",
    "MODEL_FILE",
    "QUANTILES",
    "BaselineForecast",
    "DailySales",
    "FeatureRows",
    "MlpConfig",
    "MlpWeights",
    "ModelCard",
    "SeriesPanel",
    "baseline_quantiles",
    "build_features",
    "day_to_iso",
    "feature_names",
    "fit_mlp",
    "panel_from_sales",
    "parse_csv_text",
    "pinball_scale",
    "read_card",
    "read_csv",
    "split_series_id",
]
