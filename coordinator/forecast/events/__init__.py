"""Live streams in the forecast: event features, the event head and hourly forecasts.

    features   announced streams → per series and hour: stream on, featured, hours to the
               stream, announced units per hour, past uplift of the SKU and its family
    head       the event head's definition in numpy and its parameters (the served graph,
               `event_head.onnx`, runs in onnxruntime and must match it)
    hourly     the daily forecast → hourly for the next 72 h, plus the streams, and the
               event-aware daily forecast

The graph is built by `coordinator.forecast.training.event_head_export` and loaded by
`coordinator.forecast.serving.runtime.EventHeadModel`.
"""

from coordinator.forecast.events.features import (
    EVENT_FEATURES,
    MAX_HOURS_TO_STREAM,
    StreamEvent,
    event_features,
)
from coordinator.forecast.events.head import (
    HEAD_OUTPUTS,
    PARAM_NAMES,
    EventHeadParams,
    apply_event_head,
)
from coordinator.forecast.events.hourly import (
    HOURLY_STEPS,
    DailyInput,
    EventContext,
    EventForecast,
    EventHeadRunner,
    NumpyEventHead,
    event_forecast,
    hourly_base,
)

__all__ = [
    "EVENT_FEATURES",
    "HEAD_OUTPUTS",
    "HOURLY_STEPS",
    "MAX_HOURS_TO_STREAM",
    "PARAM_NAMES",
    "DailyInput",
    "EventContext",
    "EventForecast",
    "EventHeadParams",
    "EventHeadRunner",
    "NumpyEventHead",
    "StreamEvent",
    "apply_event_head",
    "event_features",
    "event_forecast",
    "hourly_base",
]
