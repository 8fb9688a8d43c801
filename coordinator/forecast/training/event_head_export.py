"""Build the event head's ONNX graph (`coordinator.forecast.events.head` in numpy).

The graph takes `base` `[n, 4]` (mean, P10, P50, P90 without streams), `events` `[n, 6]`
(`EVENT_FEATURES`) and `params` `[1, 4]` (`PARAM_NAMES`), all float32, and returns
`head` `[n, 6]` (`HEAD_OUTPUTS`). Its parameters are an input, not weights, so one graph
serves whatever past streams taught; it ships with the package
(`coordinator/forecast/events/event_head.onnx`) and a test pins the file to this builder.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from coordinator.forecast.events.features import EVENT_FEATURES
from coordinator.forecast.events.head import HEAD_OUTPUTS, PARAM_NAMES, Z90

INPUT_BASE = "base"
INPUT_EVENTS = "events"
INPUT_PARAMS = "params"
OUTPUT_HEAD = "head"
ONNX_OPSET = 17


def _const(name: str, value: Any) -> Any:
    array = np.asarray(value, np.float32)
    return helper.make_tensor(name, TensorProto.FLOAT, array.shape, array.ravel())


def event_head_onnx() -> bytes:
    """Serialised ONNX of the event head."""
    n = helper.make_node
    events = list(EVENT_FEATURES)
    inits = [
        _const("zero", 0.0),
        _const("one", 1.0),
        _const("tiny", 1e-6),
        _const("two_z90", 2 * Z90),
        _const("z", [[-Z90, 0.0, Z90]]),
        helper.make_tensor("split4", TensorProto.INT64, [4], [1, 1, 1, 1]),
        helper.make_tensor("split6", TensorProto.INT64, [6], [1] * 6),
        helper.make_tensor("split_p", TensorProto.INT64, [4], [1] * len(PARAM_NAMES)),
    ]
    nodes = [
        n("Split", [INPUT_BASE, "split4"], ["mean", "p10", "p50", "p90"], axis=1),
        n("Split", [INPUT_EVENTS, "split6"], events, axis=1),
        n("Split", [INPUT_PARAMS, "split_p"], list(PARAM_NAMES), axis=1),
        # past = uplift_sku, else uplift_family
        n("IsNaN", ["uplift_sku"], ["sku_nan"]),
        n("Where", ["sku_nan", "uplift_family", "uplift_sku"], ["past"]),
        n("IsNaN", ["past"], ["past_nan"]),
        n("Where", ["past_nan", "zero", "past"], ["past0"]),
        # stream = stream_on · (announced, or α·mean·past + (1 − α)·announced)
        n("Mul", ["mean", "past0"], ["mean_past"]),
        n("Mul", ["mean_past", "past_weight"], ["from_past"]),
        n("Sub", ["one", "past_weight"], ["announced_weight"]),
        n("Mul", ["audience_units_h", "announced_weight"], ["from_announced"]),
        n("Add", ["from_past", "from_announced"], ["blend"]),
        n("Where", ["past_nan", "audience_units_h", "blend"], ["per_hour"]),
        n("Mul", ["stream_on", "per_hour"], ["stream"]),
        # pre = featured · [0 < hours ≤ pre_hours] · pre_uplift · mean
        n("Greater", ["hours_to_stream", "zero"], ["after_now"]),
        n("LessOrEqual", ["hours_to_stream", "pre_hours"], ["soon"]),
        n("And", ["after_now", "soon"], ["gate_b"]),
        n("Cast", ["gate_b"], ["gate"], to=TensorProto.FLOAT),
        n("Mul", ["gate", "featured"], ["pre1"]),
        n("Mul", ["pre1", "pre_uplift"], ["pre2"]),
        n("Mul", ["pre2", "mean"], ["pre"]),
        n("Add", ["stream", "pre"], ["delta"]),
        # σ from the P10–P90 range, φ = max(σ²/mean, 1), v = |Δ|·φ + (cv·stream)²
        n("Sub", ["p90", "p10"], ["range"]),
        n("Div", ["range", "two_z90"], ["sigma"]),
        n("Mul", ["sigma", "sigma"], ["var_b"]),
        n("Max", ["mean", "tiny"], ["mean_pos"]),
        n("Div", ["var_b", "mean_pos"], ["phi0"]),
        n("Max", ["phi0", "one"], ["phi"]),
        n("Abs", ["delta"], ["abs_delta"]),
        n("Mul", ["abs_delta", "phi"], ["var_count"]),
        n("Mul", ["stream", "uplift_cv"], ["spread"]),
        n("Mul", ["spread", "spread"], ["var_spread"]),
        n("Add", ["var_count", "var_spread"], ["var_e"]),
        n("Add", ["var_b", "var_e"], ["var_all"]),
        n("Sqrt", ["var_all"], ["sd_all"]),
        n("Sub", ["sd_all", "sigma"], ["widen"]),
        # mean' and q' (clipped at 0)
        n("Add", ["mean", "delta"], ["mean_e"]),
        n("Relu", ["mean_e"], ["mean_out"]),
        n("Concat", ["p10", "p50", "p90"], ["q"], axis=1),
        n("Add", ["q", "delta"], ["q_shift"]),
        n("Mul", ["z", "widen"], ["q_widen"]),
        n("Add", ["q_shift", "q_widen"], ["q_e"]),
        n("Relu", ["q_e"], ["q_out"]),
        n("Concat", ["mean_out", "q_out", "delta", "var_e"], [OUTPUT_HEAD], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "flexfleet_event_head",
        [
            helper.make_tensor_value_info(INPUT_BASE, TensorProto.FLOAT, ["n", 4]),
            helper.make_tensor_value_info(INPUT_EVENTS, TensorProto.FLOAT, ["n", len(events)]),
            helper.make_tensor_value_info(INPUT_PARAMS, TensorProto.FLOAT, [1, len(PARAM_NAMES)]),
        ],
        [helper.make_tensor_value_info(OUTPUT_HEAD, TensorProto.FLOAT, ["n", len(HEAD_OUTPUTS)])],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
        producer_name="flexfleet",
        producer_version="event-head-1",
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


__all__ = ["INPUT_BASE", "INPUT_EVENTS", "INPUT_PARAMS", "OUTPUT_HEAD", "event_head_onnx"]
