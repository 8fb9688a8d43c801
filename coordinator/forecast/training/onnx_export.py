"""Export the demand network to one ONNX graph.

The graph takes `features` `[n, n_features]` and `level` `[n, 1]` (float32) and returns
`forecast` `[n, 4]`: the network (standardise → dense → ReLU → dense) gives the mean and
P10/P50/P90 as ratios to the level; each output is scaled and mixed with statistical
forecasts among the features (`_head_nodes`), multiplied by the level (the model learns
`y / level`) and clipped at 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from coordinator.forecast.errors import ModelError
from coordinator.forecast.model.mlp import MlpWeights

INPUT_FEATURES = "features"
INPUT_LEVEL = "level"
OUTPUT_FORECAST = "forecast"
ONNX_OPSET = 17


def _head_nodes(
    net_weight: np.ndarray | None,
    feature_mix: np.ndarray | None,
    feature_gain: np.ndarray | None,
    n_features: int,
    n_out: int,
    feature_gate: np.ndarray | None = None,
) -> tuple[list[Any], list[Any]]:
    """`ratio` → `combined` = (ratio · net_weight + (features · feature_mix) ⊙ gain) · gate.

    `net_weight` `[n_out]` scales each learned output (the quantile calibration, the
    network's share of the mean); `feature_mix` `[n_features, n_out]` adds feature
    columns, which are ratios to the level too (the statistical forecasts in the mean);
    `feature_gain` `[n_features, n_out]` multiplies that mix by `features · feature_gain`
    (the weekday shape, read from the target's weekday one-hot columns); `feature_gate`
    `[n_features]` multiplies every output by `features · feature_gate` (the closure
    calendar's `target_open`: 0 on an expected closure). Defaults: weight 1, nothing
    mixed in, gain 1 and gate 1 (no gain or gate nodes)."""
    weights = np.ones(n_out, np.float32) if net_weight is None else net_weight
    mix = np.zeros((n_features, n_out), np.float32) if feature_mix is None else feature_mix
    if weights.shape != (n_out,) or mix.shape != (n_features, n_out):
        raise ModelError(f"output head shapes {weights.shape}, {mix.shape} do not fit")
    if feature_gain is not None and feature_gain.shape != (n_features, n_out):
        raise ModelError(f"output gain shape {feature_gain.shape} does not fit")
    if feature_gate is not None and feature_gate.shape != (n_features,):
        raise ModelError(f"output gate shape {feature_gate.shape} does not fit")
    inits = [
        helper.make_tensor("head_w", TensorProto.FLOAT, [n_out], weights.astype(np.float32)),
        helper.make_tensor(
            "head_mix", TensorProto.FLOAT, [n_features, n_out], mix.astype(np.float32).ravel()
        ),
    ]
    nodes = [
        helper.make_node("Mul", ["ratio", "head_w"], ["ratio_w"]),
        helper.make_node("MatMul", [INPUT_FEATURES, "head_mix"], ["mixed"]),
    ]
    mixed = "mixed"
    if feature_gain is not None:
        inits.append(
            helper.make_tensor(
                "head_gain",
                TensorProto.FLOAT,
                [n_features, n_out],
                feature_gain.astype(np.float32).ravel(),
            )
        )
        nodes += [
            helper.make_node("MatMul", [INPUT_FEATURES, "head_gain"], ["gain"]),
            helper.make_node("Mul", ["mixed", "gain"], ["mixed_gained"]),
        ]
        mixed = "mixed_gained"
    if feature_gate is None:
        nodes.append(helper.make_node("Add", ["ratio_w", mixed], ["combined"]))
        return nodes, inits
    inits.append(
        helper.make_tensor(
            "head_gate", TensorProto.FLOAT, [n_features, 1], feature_gate.astype(np.float32)
        )
    )
    nodes += [
        helper.make_node("Add", ["ratio_w", mixed], ["ungated"]),
        helper.make_node("MatMul", [INPUT_FEATURES, "head_gate"], ["gate"]),
        helper.make_node("Mul", ["ungated", "gate"], ["combined"]),
    ]
    return nodes, inits


def mlp_to_onnx(
    weights: MlpWeights,
    *,
    net_weight: np.ndarray | None = None,
    feature_mix: np.ndarray | None = None,
    feature_gain: np.ndarray | None = None,
    feature_gate: np.ndarray | None = None,
    producer_version: str = "0",
) -> bytes:
    """Serialised ONNX of the standardise → dense → ReLU → dense network, combined with
    the features (`_head_nodes`), times level, ≥ 0."""
    w = weights
    n_features, n_out = w.w1.shape[0], w.w2.shape[1]
    consts = {"mu": w.mean, "sd": w.scale, "w1": w.w1, "b1": w.b1, "w2": w.w2, "b2": w.b2}
    initializers = [
        helper.make_tensor(k, TensorProto.FLOAT, v.shape, np.asarray(v, np.float32).ravel())
        for k, v in consts.items()
    ]
    head, head_inits = _head_nodes(
        net_weight, feature_mix, feature_gain, n_features, n_out, feature_gate
    )
    initializers += head_inits
    nodes = [
        helper.make_node("Sub", [INPUT_FEATURES, "mu"], ["centred"]),
        helper.make_node("Div", ["centred", "sd"], ["standard"]),
        helper.make_node("MatMul", ["standard", "w1"], ["pre1"]),
        helper.make_node("Add", ["pre1", "b1"], ["pre2"]),
        helper.make_node("Relu", ["pre2"], ["hidden"]),
        helper.make_node("MatMul", ["hidden", "w2"], ["out1"]),
        helper.make_node("Add", ["out1", "b2"], ["ratio"]),
        *head,
        helper.make_node("Mul", ["combined", INPUT_LEVEL], ["scaled"]),
        helper.make_node("Relu", ["scaled"], [OUTPUT_FORECAST]),
    ]
    graph = helper.make_graph(
        nodes,
        "flexfleet_demand",
        [
            helper.make_tensor_value_info(INPUT_FEATURES, TensorProto.FLOAT, ["n", n_features]),
            helper.make_tensor_value_info(INPUT_LEVEL, TensorProto.FLOAT, ["n", 1]),
        ],
        [helper.make_tensor_value_info(OUTPUT_FORECAST, TensorProto.FLOAT, ["n", n_out])],
        initializer=initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
        producer_name="flexfleet",
        producer_version=producer_version,
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())
