"""Demand forecasting per SKU × location: baselines, a global ONNX model and its server.

By lifecycle:

    model/      the series panel and sales history, features, the MLP, the baselines,
                quantile calibration and the model card (pure numpy)
    training/   training rows, fitting, ONNX export, the backtest and its report
    serving/    the predictor, the model store and its onnxruntime adapter, the
                best-baseline fallback, the service, its store and the refresh job
                (with its event step: hourly forecasts and announced live streams)
    events/     live streams in the forecast: event features, the event head (an ONNX
                graph shipped in the package) and the hourly forecast (pure numpy)

Stock cover against these forecasts lives in `coordinator.stock`.

Exceptions (see `coordinator.forecast.errors`):

    CoordinatorError (coordinator.errors)
    └── ForecastError
        ├── DataError
        │   └── CsvFormatError
        ├── ModelError
        │   ├── ModelLoadError
        │   └── ModelSignatureError
        └── RefreshFailed

onnxruntime is imported only in `coordinator.forecast.serving.runtime`; onnx only in
`coordinator.forecast.training.onnx_export`, `training.event_head_export` and, lazily,
where `training.fit` writes a model (the optional `train` extra).
"""

from coordinator.forecast.errors import (
    CsvFormatError,
    DataError,
    ForecastError,
    ModelError,
    ModelLoadError,
    ModelSignatureError,
    RefreshFailed,
)
from coordinator.forecast.model.csv_input import read_csv
from coordinator.forecast.model.history import DailySales, panel_from_sales
from coordinator.forecast.model.panel import SeriesPanel
from coordinator.forecast.serving.baseline_choice import BestBaselineForecaster
from coordinator.forecast.serving.job import ForecastJob
from coordinator.forecast.serving.model_store import ModelStore, OnnxForecaster
from coordinator.forecast.serving.ports import Forecaster, InMemoryForecaster
from coordinator.forecast.serving.service import Forecast, ForecastService, RefreshSchedule
from coordinator.forecast.serving.store import ForecastStore

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
    "RefreshFailed",
    "RefreshSchedule",
    "SeriesPanel",
    "panel_from_sales",
    "read_csv",
]
