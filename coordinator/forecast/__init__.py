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

from coordinator.forecast.errors import (
    CsvFormatError,
    DataError,
    ForecastError,
    ModelError,
    ModelLoadError,
    ModelSignatureError,
)
from coordinator.forecast.panel import SeriesPanel

__all__ = [
    "CsvFormatError",
    "DataError",
    "ForecastError",
    "ModelError",
    "ModelLoadError",
    "ModelSignatureError",
    "SeriesPanel",
]
