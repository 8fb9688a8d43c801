"""Making a model: training rows, fitting and calibrating the MLP, ONNX export, the
rolling-origin evaluation against the baselines and its report.

onnx is imported only inside `coordinator.forecast.training.onnx_export` (and lazily where
a model is written), so importing this package needs neither onnx nor onnxruntime.
"""

from coordinator.forecast.training.evaluation import WindowResult, backtest, evaluate_window
from coordinator.forecast.training.fit import (
    ExportedModel,
    TrainConfig,
    train_model,
    train_with_holdout,
    write_model,
)
from coordinator.forecast.training.metrics import coverage, mase, rmsse, scaled_pinball
from coordinator.forecast.training.report import format_report, report_json
from coordinator.forecast.training.training_rows import TrainingRows, training_rows

__all__ = [
    "ExportedModel",
    "TrainConfig",
    "TrainingRows",
    "WindowResult",
    "backtest",
    "coverage",
    "evaluate_window",
    "format_report",
    "mase",
    "report_json",
    "rmsse",
    "scaled_pinball",
    "train_model",
    "train_with_holdout",
    "training_rows",
    "write_model",
]
