"""The event head: how announced streams move a forecast step (pure numpy reference).

The served head is an ONNX graph run by onnxruntime (`EventHeadModel` in
`coordinator.forecast.serving.runtime`, built by
`coordinator.forecast.training.event_head_export`); this module is its definition in
numpy, which the graph must match, and its parameters.

Per row (a series at one step) with the no-stream forecast `mean, p10, p50, p90` and the
event features of `coordinator.forecast.events.features`:

    past    = uplift_sku, else uplift_family (NaN when neither was ever measured)
    stream  = stream_on · (audience_units_h                       if past is NaN
                           α · mean · past + (1 − α) · audience_units_h  otherwise)
    pre     = featured · [0 < hours_to_stream ≤ pre_hours] · pre_uplift · mean
    Δ       = stream + pre                                   (the event units of the step)
    σ       = (p90 − p10) / (2 · z90),  φ = max(σ² / mean, 1)  (the step's dispersion)
    v       = |Δ| · φ + (cv · stream)²                       (the extra variance)
    mean'   = max(mean + Δ, 0),  q' = max(q + Δ + z_q · (√(σ² + v) − σ), 0)

`α` weighs what the SKU sold in past streams against what this one announces; `cv` is the
relative uncertainty of a stream's uplift. A row without a stream featuring its SKU
(stream_on 0, featured 0) keeps its forecast exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from coordinator.forecast.errors import DataError
from coordinator.forecast.events.features import (
    AUDIENCE_UNITS_H,
    EVENT_FEATURES,
    FEATURED,
    HOURS_TO_STREAM,
    STREAM_ON,
    UPLIFT_FAMILY,
    UPLIFT_SKU,
)
from coordinator.forecast.model.panel import FloatArray

Z90: Final = 1.2815516
HEAD_OUTPUTS: Final = ("mean", "p10", "p50", "p90", "event_units", "event_var")
PARAM_NAMES: Final = ("past_weight", "pre_uplift", "pre_hours", "uplift_cv")


@dataclass(frozen=True, slots=True)
class EventHeadParams:
    """The head's parameters (see the module); `pre_uplift` comes from past streams."""

    past_weight: float = 0.5
    pre_uplift: float = 0.0
    pre_hours: float = 6.0
    uplift_cv: float = 0.5

    def __post_init__(self) -> None:
        checks = {
            "past_weight": 0.0 <= self.past_weight <= 1.0,
            "pre_uplift": -1.0 <= self.pre_uplift <= 100.0,
            "pre_hours": 0.0 <= self.pre_hours <= 72.0,
            "uplift_cv": 0.0 <= self.uplift_cv <= 10.0,
        }
        for name, ok in checks.items():
            if not (ok and math.isfinite(getattr(self, name))):
                raise DataError(f"event head parameter {name} out of range: {getattr(self, name)}")

    def as_row(self) -> FloatArray:
        """The parameters as the graph's `params` input `[1, 4]`."""
        return np.array([[getattr(self, n) for n in PARAM_NAMES]], np.float32)


def check_inputs(base: np.ndarray, events: np.ndarray) -> None:
    """Raise `DataError` unless `base` is `[n, 4]` and `events` `[n, 6]`."""
    if base.ndim != 2 or base.shape[1] != 4:
        raise DataError(f"event head base must be [n, 4], got {base.shape}")
    if events.shape != (base.shape[0], len(EVENT_FEATURES)):
        raise DataError(f"event head features must be [n, 6], got {events.shape}")


def apply_event_head(base: np.ndarray, events: np.ndarray, params: EventHeadParams) -> FloatArray:
    """The head in numpy: `[n, 6]` rows of `HEAD_OUTPUTS` (float64)."""
    check_inputs(base, events)
    b = base.astype(np.float64)
    e = events.astype(np.float64)
    mean = b[:, 0]
    past = np.where(np.isnan(e[:, UPLIFT_SKU]), e[:, UPLIFT_FAMILY], e[:, UPLIFT_SKU])
    announced = e[:, AUDIENCE_UNITS_H]
    w = params.past_weight
    per_hour = np.where(
        np.isnan(past), announced, w * mean * np.nan_to_num(past) + (1 - w) * announced
    )
    stream = e[:, STREAM_ON] * per_hour
    hours = e[:, HOURS_TO_STREAM]
    gate = (hours > 0) & (hours <= params.pre_hours)
    pre = e[:, FEATURED] * gate * params.pre_uplift * mean
    delta = stream + pre
    sigma = (b[:, 3] - b[:, 1]) / (2 * Z90)
    phi = np.maximum(sigma**2 / np.maximum(mean, 1e-6), 1.0)
    var = np.abs(delta) * phi + (params.uplift_cv * stream) ** 2
    widen = np.sqrt(sigma**2 + var) - sigma
    z = np.array([-Z90, 0.0, Z90])
    q = np.maximum(b[:, 1:4] + delta[:, None] + z[None, :] * widen[:, None], 0.0)
    out = np.empty((len(b), len(HEAD_OUTPUTS)))
    out[:, 0] = np.maximum(mean + delta, 0.0)
    out[:, 1:4] = q
    out[:, 4] = delta
    out[:, 5] = var
    return out


__all__ = [
    "HEAD_OUTPUTS",
    "PARAM_NAMES",
    "Z90",
    "EventHeadParams",
    "apply_event_head",
    "check_inputs",
]
