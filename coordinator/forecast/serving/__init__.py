"""Serving forecasts: the predictor, the model store and its onnxruntime adapter, the
best-baseline fallback, the service, its SQLite store and the scheduled refresh job.

onnxruntime is imported only in `coordinator.forecast.serving.runtime`, which this
package does not import eagerly: the model store loads it when a model is configured.
"""

from coordinator.forecast.serving.baseline_choice import BestBaselineForecaster
from coordinator.forecast.serving.job import ForecastJob
from coordinator.forecast.serving.model_store import ModelStore, OnnxForecaster
from coordinator.forecast.serving.ports import Forecaster, InMemoryForecaster
from coordinator.forecast.serving.predict_csv import write_predictions
from coordinator.forecast.serving.predictor import ModelRunner, PanelForecast, forecast_with_model
from coordinator.forecast.serving.service import Forecast, ForecastService, RefreshSchedule
from coordinator.forecast.serving.store import ForecastStore

__all__ = [
    "BestBaselineForecaster",
    "Forecast",
    "ForecastJob",
    "ForecastService",
    "ForecastStore",
    "Forecaster",
    "InMemoryForecaster",
    "ModelRunner",
    "ModelStore",
    "OnnxForecaster",
    "PanelForecast",
    "RefreshSchedule",
    "forecast_with_model",
    "write_predictions",
]
