"""A trained model forecasts 0 on a day its panel is expected to be closed."""

from __future__ import annotations

import datetime as dt

import numpy as np

from coordinator.forecast.model.panel import SeriesPanel
from coordinator.forecast.serving.predictor import forecast_with_model
from coordinator.forecast.serving.runtime import OnnxModel
from coordinator.forecast.training.fit import train_model
from tests.coordinator.forecast.forecast_support import TINY_CONFIG

_EPOCH = dt.date(1970, 1, 1)
# UK bank holidays and Christmas closures of a shop that trades on every other day of the week
CLOSED = (
    "2010-04-02",
    "2010-04-05",
    "2010-05-03",
    "2010-05-31",
    "2010-08-30",
    "2010-12-24",
    "2010-12-27",
    "2010-12-28",
    "2011-04-22",
    "2011-04-25",
    "2011-05-02",
)


def _day(iso: str) -> int:
    return (dt.date.fromisoformat(iso) - _EPOCH).days


def _panel() -> SeriesPanel:
    """20 series from 2010-03-01 to 2011-05-27, about 3 a day, 0 on every `CLOSED` day."""
    start, end = _day("2010-03-01"), _day("2011-05-27")
    rng = np.random.default_rng(11)
    y = rng.poisson(3.0, (20, end - start + 1)).astype(np.float64)
    for iso in CLOSED:
        y[:, _day(iso) - start] = 0.0
    return SeriesPanel(
        ids=tuple(f"s{i}" for i in range(20)),
        y=y,
        exog=np.zeros((20, y.shape[1], 0)),
        exog_names=(),
        end_days=np.full(20, end, dtype=np.int64),
        lengths=np.full(20, y.shape[1], dtype=np.int64),
    )


def test_served_forecast_is_zero_on_the_expected_bank_holiday() -> None:
    """The inner windows hold Easter and the May bank holiday, so the head keeps the
    calendar on; the week ahead holds 30 May 2011 (364 days after the last Monday of May
    2010), which onnxruntime forecasts as 0 in every output, the other days not."""
    panel = _panel()
    model = train_model(panel, TINY_CONFIG)
    assert model.card.metrics["calibration"]["closures"] is True
    runner = OnnxModel.from_bytes(model.onnx_bytes, model.card)
    result = forecast_with_model(runner, panel, horizon=7)
    holiday = _day("2011-05-30") - int(panel.end_days[0]) - 1
    assert (result.mean[:, holiday] == 0).all()
    assert (result.quantiles[:, holiday] == 0).all()
    others = np.delete(result.mean, holiday, axis=1)
    assert (others > 1).all()
