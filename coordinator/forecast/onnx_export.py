"""Export LightGBM boosters to one ONNX graph (ai.onnx.ml TreeEnsembleRegressor).

The graph takes `features` `[n, n_features]` and `level` `[n, 1]` (float32) and returns
`forecast` `[n, n_outputs]`: each booster is one target of the tree ensemble; each
output is scaled and the mean mixed with statistical forecasts among the features
(`_head_nodes`), multiplied by the level (the model learns `y / level`) and clipped at 0. `mlp_to_onnx` builds the same
signature for the network model. Trees are read from `Booster.dump_model()`; only numerical `<=` splits are used
(the trainer never declares categorical features). LightGBM compares a float32 input
with a float64 threshold, so each threshold is rounded *down* to float32, which keeps
`x <= t` identical for every float32 `x`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from coordinator.forecast.errors import ModelError
from coordinator.forecast.mlp import MlpWeights

INPUT_FEATURES = "features"
INPUT_LEVEL = "level"
OUTPUT_FORECAST = "forecast"
ML_OPSET = 3
ONNX_OPSET = 17


def _head_nodes(
    net_weight: np.ndarray | None, feature_mix: np.ndarray | None, n_features: int, n_out: int
) -> tuple[list[Any], list[Any]]:
    """`ratio` → `combined` = ratio · net_weight + features · feature_mix.

    `net_weight` `[n_out]` scales each learned output (the quantile calibration, the
    network's share of the mean); `feature_mix` `[n_features, n_out]` adds feature
    columns, which are ratios to the level too (the statistical forecasts in the mean).
    Defaults: weight 1, nothing mixed in."""
    weights = np.ones(n_out, np.float32) if net_weight is None else net_weight
    mix = np.zeros((n_features, n_out), np.float32) if feature_mix is None else feature_mix
    if weights.shape != (n_out,) or mix.shape != (n_features, n_out):
        raise ModelError(f"output head shapes {weights.shape}, {mix.shape} do not fit")
    inits = [
        helper.make_tensor("head_w", TensorProto.FLOAT, [n_out], weights.astype(np.float32)),
        helper.make_tensor(
            "head_mix", TensorProto.FLOAT, [n_features, n_out], mix.astype(np.float32).ravel()
        ),
    ]
    nodes = [
        helper.make_node("Mul", ["ratio", "head_w"], ["ratio_w"]),
        helper.make_node("MatMul", [INPUT_FEATURES, "head_mix"], ["mixed"]),
        helper.make_node("Add", ["ratio_w", "mixed"], ["combined"]),
    ]
    return nodes, inits


def _float32_floor(value: float) -> float:
    f = np.float32(value)
    if float(f) > value:
        f = np.nextafter(f, np.float32(-np.inf))
    return float(f)


class _TreeTables:
    """Flat node and leaf tables in the layout TreeEnsembleRegressor expects."""

    def __init__(self) -> None:
        self.nodes: dict[str, list[Any]] = {
            k: []
            for k in (
                "nodes_treeids",
                "nodes_nodeids",
                "nodes_featureids",
                "nodes_values",
                "nodes_modes",
                "nodes_truenodeids",
                "nodes_falsenodeids",
                "nodes_missing_value_tracks_true",
                "nodes_hitrates",
            )
        }
        self.targets: dict[str, list[Any]] = {
            k: [] for k in ("target_treeids", "target_nodeids", "target_ids", "target_weights")
        }

    def add_tree(self, tree_id: int, root: dict[str, Any], target: int) -> None:
        counter = [0]

        def visit(node: dict[str, Any]) -> int:
            node_id = counter[0]
            counter[0] += 1
            n = self.nodes
            n["nodes_treeids"].append(tree_id)
            n["nodes_nodeids"].append(node_id)
            n["nodes_hitrates"].append(1.0)
            if "leaf_value" in node or "split_feature" not in node:
                n["nodes_featureids"].append(0)
                n["nodes_values"].append(0.0)
                n["nodes_modes"].append("LEAF")
                n["nodes_truenodeids"].append(0)
                n["nodes_falsenodeids"].append(0)
                n["nodes_missing_value_tracks_true"].append(0)
                t = self.targets
                t["target_treeids"].append(tree_id)
                t["target_nodeids"].append(node_id)
                t["target_ids"].append(target)
                t["target_weights"].append(float(node.get("leaf_value", 0.0)))
                return node_id
            if node.get("decision_type", "<=") != "<=":
                raise ModelError(f"unsupported split {node.get('decision_type')!r}")
            slot = len(n["nodes_nodeids"]) - 1
            n["nodes_featureids"].append(int(node["split_feature"]))
            n["nodes_values"].append(_float32_floor(float(node["threshold"])))
            n["nodes_modes"].append("BRANCH_LEQ")
            n["nodes_truenodeids"].append(0)
            n["nodes_falsenodeids"].append(0)
            missing_left = node.get("missing_type") == "NaN" and bool(node.get("default_left"))
            n["nodes_missing_value_tracks_true"].append(int(missing_left))
            left = visit(node["left_child"])
            right = visit(node["right_child"])
            n["nodes_truenodeids"][slot] = left
            n["nodes_falsenodeids"][slot] = right
            return node_id

        visit(root)


def boosters_to_onnx(
    dumps: list[dict[str, Any]],
    *,
    n_features: int,
    net_weight: np.ndarray | None = None,
    feature_mix: np.ndarray | None = None,
    producer_version: str = "0",
) -> bytes:
    """Serialised ONNX model computing all dumped boosters at once (one output column each),
    combined with the features as `_head_nodes` describes."""
    tables = _TreeTables()
    tree_id = 0
    for target, dump in enumerate(dumps):
        if int(dump.get("num_class", 1)) != 1:
            raise ModelError("only single-output boosters can be exported")
        for info in dump["tree_info"]:
            tables.add_tree(tree_id, info["tree_structure"], target)
            tree_id += 1
    n_out = len(dumps)
    attributes: dict[str, Any] = {
        "n_targets": n_out,
        "aggregate_function": "SUM",
        "post_transform": "NONE",
        "base_values": [0.0] * n_out,
        **tables.nodes,
        **tables.targets,
    }
    ensemble = helper.make_node(
        "TreeEnsembleRegressor", [INPUT_FEATURES], ["ratio"], domain="ai.onnx.ml", **attributes
    )
    head, head_inits = _head_nodes(net_weight, feature_mix, n_features, n_out)
    scale = helper.make_node("Mul", ["combined", INPUT_LEVEL], ["scaled"])
    clip = helper.make_node("Relu", ["scaled"], [OUTPUT_FORECAST])
    graph = helper.make_graph(
        [ensemble, *head, scale, clip],
        "flexfleet_demand",
        [
            helper.make_tensor_value_info(INPUT_FEATURES, TensorProto.FLOAT, ["n", n_features]),
            helper.make_tensor_value_info(INPUT_LEVEL, TensorProto.FLOAT, ["n", 1]),
        ],
        [helper.make_tensor_value_info(OUTPUT_FORECAST, TensorProto.FLOAT, ["n", n_out])],
        initializer=head_inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[
            helper.make_opsetid("", ONNX_OPSET),
            helper.make_opsetid("ai.onnx.ml", ML_OPSET),
        ],
        producer_name="flexfleet",
        producer_version=producer_version,
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def mlp_to_onnx(
    weights: MlpWeights,
    *,
    net_weight: np.ndarray | None = None,
    feature_mix: np.ndarray | None = None,
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
    head, head_inits = _head_nodes(net_weight, feature_mix, n_features, n_out)
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
