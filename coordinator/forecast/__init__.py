"""Demand forecasting per SKU × location: baselines, a global ONNX model and its server.

Exceptions (see `coordinator.forecast.errors`):

    ForecastError
    ├── DataError
    │   └── CsvFormatError
    └── ModelError
        ├── ModelLoadError
        └── ModelSignatureError

onnxruntime is imported only in `coordinator.forecast.runtime`; LightGBM and onnx only
in `coordinator.forecast.training` and `coordinator.forecast.onnx_export` (the optional
`train` extra).
"""

from coordinator.forecast.baseline_choice import BestBaselineForecaster
from coordinator.forecast.csv_input import read_csv
from coordinator.forecast.errors import (
    CsvFormatError,
    DataError,
    ForecastError,
    ModelError,
    ModelLoadError,
    ModelSignatureError,
)
from coordinator.forecast.history import DailySales, panel_from_sales
from coordinator.forecast.job import ForecastJob
from coordinator.forecast.model_store import ModelStore, OnnxForecaster
from coordinator.forecast.panel import SeriesPanel
from coordinator.forecast.ports import Forecaster, InMemoryForecaster
from coordinator.forecast.service import Forecast, ForecastService, RefreshSchedule
from coordinator.forecast.store import ForecastStore

__all__ = [
    "BestBaselineForecaster",
    "CsvFormatError",
    "DailySales",
    "DataError",
    "Forecast",
    "ForecastError",
    "ForecastJob",
    "ForecastService",
    "ForecastStore",
    "Forecaster",
    "InMemoryForecaster",
    "ModelError",
    "ModelLoadError",
    "ModelSignatureError",
    "ModelStore",
    "OnnxForecaster",
    "RefreshSchedule",
    "SeriesPanel",
    "panel_from_sales",
    "read_csv",
]
