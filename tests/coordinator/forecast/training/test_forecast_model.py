"""Training, ONNX export, serving through onnxruntime, fallback and determinism."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from coordinator.forecast.errors import DataError, ModelLoadError, ModelSignatureError
from coordinator.forecast.model.baselines import moving_average, ses, tsb
from coordinator.forecast.model.csv_input import read_csv
from coordinator.forecast.model.features import (
    ERROR_QUANTILE_FEATURES,
    OPEN_FEATURE,
    STAT_FEATURES,
    WINSORISED_FEATURE,
    build_features,
    feature_names,
)
from coordinator.forecast.model.mlp import MlpConfig, average_networks, fit_mlp
from coordinator.forecast.model.model_card import ModelCard
from coordinator.forecast.model.panel import SeriesPanel
from coordinator.forecast.serving.model_store import ModelStore, OnnxForecaster
from coordinator.forecast.serving.predictor import forecast_with_model
from coordinator.forecast.serving.runtime import OnnxModel
from coordinator.forecast.training.fit import (
    ExportedModel,
    OutputHead,
    blind_to,
    train_model,
    with_seed,
    write_model,
)
from coordinator.forecast.training.onnx_export import mlp_to_onnx
from coordinator.forecast.training.training_rows import training_rows
from tests.coordinator.forecast.forecast_support import TINY_CONFIG, write_csv


def _card(n_features: int) -> ModelCard:
    return ModelCard(
        model_version="t",
        horizon_days=7,
        window_days=364,
        min_history_days=28,
        feature_names=tuple(f"f{i}" for i in range(n_features)),
        exog_names=(),
        fallback_baseline="MA28",
    )


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory) -> SeriesPanel:
    """Five synthetic series, the last one only 20 days long."""
    return read_csv(write_csv(tmp_path_factory.mktemp("data") / "d.csv"))


@pytest.fixture(scope="module")
def model(panel: SeriesPanel) -> ExportedModel:
    """A tiny model trained on the synthetic panel."""
    return train_model(panel, TINY_CONFIG)


def test_mlp_onnx_matches_numpy_network(panel: SeriesPanel) -> None:
    """The exported network reproduces the numpy forward pass times the level."""
    rows = training_rows(panel, horizon=7, origin_stride_days=4, min_history_days=28)
    x = rows.x
    w = fit_mlp(x, rows.target, MlpConfig(hidden_units=8, epochs=2, seed=1))
    data = mlp_to_onnx(w)
    level = np.linspace(0.5, 3.0, len(x)).astype(np.float32)[:, None]
    card = _card(x.shape[1])
    served = OnnxModel.from_bytes(data, card).run(x, level)
    expected = np.maximum(w.predict(x) * level, 0)
    np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-4)
    assert np.ptp(expected[:, 0]) > 0


def test_output_head_mixes_statistical_forecasts_and_scales_quantiles(panel: SeriesPanel) -> None:
    """The graph's mean is w·model + (1 − w)·mean(MA28, TSB, fitted SES) and each quantile
    is multiplied by its calibration factor, all times the level."""
    rows = training_rows(panel, horizon=7, origin_stride_days=4, min_history_days=28)
    x = rows.x
    w = fit_mlp(x, rows.target, MlpConfig(hidden_units=8, epochs=2, seed=1))
    names = feature_names(panel.exog_names)
    head = OutputHead(mean_blend=0.3, quantile_scale=(0.8, 1.0, 1.5))
    net_weight, mix = head.arrays(names)
    data = mlp_to_onnx(w, net_weight=net_weight, feature_mix=mix)
    level = np.full((len(x), 1), 2.0, np.float32)
    served = OnnxModel.from_bytes(data, _card(x.shape[1])).run(x, level)
    raw = w.predict(x)
    stat = np.mean([x[:, names.index(n)] for n in STAT_FEATURES], axis=0)
    np.testing.assert_allclose(
        served[:, 0], np.maximum((0.3 * raw[:, 0] + 0.7 * stat) * 2, 0), rtol=1e-4, atol=1e-4
    )
    expected_q = np.maximum(raw[:, 1:] * np.array([0.8, 1.0, 1.5]) * 2, 0)
    np.testing.assert_allclose(served[:, 1:], expected_q, rtol=1e-4, atol=1e-4)


def test_winsorised_head_mixes_the_winsorised_level(panel: SeriesPanel) -> None:
    """With the winsorised statistical part, the graph's mean is w·model + (1 − w)·wins28
    (times the weekday shape when on), exactly as numpy computes it, times the level."""
    rows = training_rows(panel, horizon=7, origin_stride_days=4, min_history_days=28)
    x = rows.x
    w = fit_mlp(x, rows.target, MlpConfig(hidden_units=8, epochs=2, seed=1))
    names = feature_names(panel.exog_names)
    shape = (1.2, 1.1, 1.0, 1.3, 1.4, 0.0, 1.0)
    head = OutputHead(
        mean_blend=0.25, stat_part="winsorised", weekday_shape=shape, mean_weekday=True
    )
    net_weight, mix = head.arrays(names)
    data = mlp_to_onnx(w, net_weight=net_weight, feature_mix=mix, feature_gain=head.gain(names))
    level = np.full((len(x), 1), 2.0, np.float32)
    served = OnnxModel.from_bytes(data, _card(x.shape[1])).run(x, level)
    factor = np.asarray(shape)[x[:, names.index("target_dow")].astype(int)]
    wins = x[:, names.index(WINSORISED_FEATURE)]
    expected = (0.25 * w.predict(x)[:, 0] + 0.75 * wins * factor) * 2
    np.testing.assert_allclose(served[:, 0], np.maximum(expected, 0), rtol=1e-4, atol=1e-4)
    assert np.ptp(wins) > 0


def test_the_network_is_blind_to_head_only_columns(panel: SeriesPanel) -> None:
    """A network fitted without the winsorised column, widened by `blind_to`, gives the
    same outputs whatever that column holds, in numpy and through onnxruntime."""
    rows = training_rows(panel, horizon=7, origin_stride_days=4, min_history_days=28)
    names = feature_names(panel.exog_names)
    seen = np.array([n != WINSORISED_FEATURE for n in names])
    narrow = fit_mlp(rows.x[:, seen], rows.target, MlpConfig(hidden_units=8, epochs=2, seed=1))
    wide = blind_to(narrow, seen)
    x = rows.x.copy()
    moved = x.copy()
    moved[:, names.index(WINSORISED_FEATURE)] += 5.0
    np.testing.assert_allclose(wide.predict(x), narrow.predict(x[:, seen]), rtol=1e-6)
    np.testing.assert_allclose(wide.predict(moved), wide.predict(x), rtol=1e-6)
    level = np.ones((len(x), 1), np.float32)
    runner = OnnxModel.from_bytes(mlp_to_onnx(wide), _card(x.shape[1]))
    np.testing.assert_allclose(runner.run(moved, level), runner.run(x, level), rtol=1e-6)


def test_weekday_head_shapes_the_statistical_part_only(panel: SeriesPanel) -> None:
    """With the weekday shape on, the graph multiplies the statistical mean (and the MA28
    quantiles) by the shape at the target's weekday; the network's share is untouched."""
    rows = training_rows(panel, horizon=7, origin_stride_days=4, min_history_days=28)
    x = rows.x
    w = fit_mlp(x, rows.target, MlpConfig(hidden_units=8, epochs=2, seed=1))
    names = feature_names(panel.exog_names)
    shape = (1.2, 1.1, 1.0, 1.3, 1.4, 0.0, 1.0)
    head = OutputHead(
        mean_blend=0.25,
        quantile_blend=0.5,
        weekday_shape=shape,
        mean_weekday=True,
        quantile_weekday=True,
    )
    net_weight, mix = head.arrays(names)
    data = mlp_to_onnx(w, net_weight=net_weight, feature_mix=mix, feature_gain=head.gain(names))
    level = np.full((len(x), 1), 2.0, np.float32)
    served = OnnxModel.from_bytes(data, _card(x.shape[1])).run(x, level)
    raw = w.predict(x)
    factor = np.asarray(shape)[x[:, names.index("target_dow")].astype(int)]
    stat = np.mean([x[:, names.index(n)] for n in STAT_FEATURES], axis=0)
    np.testing.assert_allclose(
        served[:, 0],
        np.maximum((0.25 * raw[:, 0] + 0.75 * stat * factor) * 2, 0),
        rtol=1e-4,
        atol=1e-4,
    )
    ma28 = x[:, names.index("ma28_rel")]
    errs = np.stack([x[:, names.index(n)] for n in ERROR_QUANTILE_FEATURES], axis=1)
    expected_q = (0.5 * raw[:, 1:] + 0.5 * (ma28[:, None] + errs) * factor[:, None]) * 2
    np.testing.assert_allclose(served[:, 1:], np.maximum(expected_q, 0), rtol=1e-4, atol=1e-4)
    assert len(set(factor.tolist())) > 1  # the rows cover several weekdays


def test_closure_gate_zeroes_every_output_on_an_expected_closure(panel: SeriesPanel) -> None:
    """With `closures` on, the graph multiplies all four outputs by `target_open`: 0 on
    rows marked closed, the ungated head's output elsewhere; off, it exports no gate."""
    rows = training_rows(panel, horizon=7, origin_stride_days=4, min_history_days=28)
    x = rows.x.copy()
    w = fit_mlp(x, rows.target, MlpConfig(hidden_units=8, epochs=2, seed=1))
    names = feature_names(panel.exog_names)
    col = names.index(OPEN_FEATURE)
    assert (x[:, col] == 1).all()  # training rows expect no closure
    x[::5, col] = 0.0
    head = OutputHead(mean_blend=0.25, stat_part="winsorised", quantile_blend=0.5)
    gated = replace(head, closures=True)
    assert head.gate(names) is None
    level = np.full((len(x), 1), 2.0, np.float32)
    card = _card(x.shape[1])
    served = {}
    for h in (head, gated):
        net_weight, mix = h.arrays(names)
        data = mlp_to_onnx(w, net_weight=net_weight, feature_mix=mix, feature_gate=h.gate(names))
        served[h.closures] = OnnxModel.from_bytes(data, card).run(x, level)
    closed = x[:, col] == 0
    assert (served[True][closed] == 0).all()
    assert (served[False][closed] > 0).any()
    np.testing.assert_allclose(served[True][~closed], served[False][~closed], rtol=1e-6)


def test_a_flat_head_exports_no_gain() -> None:
    """Without the weekday shape the graph is the flat head's, node for node."""
    names = feature_names(())
    assert OutputHead(mean_blend=0.5).gain(names) is None
    gain = OutputHead(0.5, weekday_shape=(2.0,) * 7, mean_weekday=True).gain(names)
    assert gain is not None
    assert gain[:, 1:].sum(axis=0) == pytest.approx([7.0, 7.0, 7.0])  # quantiles: gain 1


def test_averaged_networks_serve_as_one_network(panel: SeriesPanel) -> None:
    """Networks of several seeds average into one wider network whose ONNX output is the
    mean of theirs; networks with another standardisation are refused."""
    rows = training_rows(panel, horizon=7, origin_stride_days=4, min_history_days=28)
    x = rows.x
    nets = [fit_mlp(x, rows.target, MlpConfig(hidden_units=8, epochs=1, seed=s)) for s in (1, 2, 3)]
    joined = average_networks(nets)
    assert joined.w1.shape == (x.shape[1], 24)
    expected = np.mean([n.predict(x) for n in nets], axis=0)
    np.testing.assert_allclose(joined.predict(x), expected, rtol=1e-4, atol=1e-5)
    level = np.ones((len(x), 1), np.float32)
    served = OnnxModel.from_bytes(mlp_to_onnx(joined), _card(x.shape[1])).run(x, level)
    np.testing.assert_allclose(served, np.maximum(expected, 0), rtol=1e-4, atol=1e-4)
    other = fit_mlp(x[:50], rows.target[:50], MlpConfig(hidden_units=8, epochs=1, seed=4))
    with pytest.raises(DataError):
        average_networks([nets[0], other])
    with pytest.raises(DataError):
        average_networks([])


def test_statistical_features_match_the_baselines(panel: SeriesPanel) -> None:
    """The TSB and SES columns the graph mixes in equal the harness's baselines."""
    names = feature_names(panel.exog_names)
    rows = build_features(
        panel.y[:4, -364:],
        panel.end_days[:4],
        1,
        np.zeros((4, 364, 2)),
        np.zeros((4, 1, 2)),
    )
    y = panel.y[:4]
    np.testing.assert_allclose(
        rows.x[:, names.index("tsb_rel")] * rows.level, tsb(y, 1).point[:, 0], rtol=1e-5
    )
    np.testing.assert_allclose(
        rows.x[:, names.index("ses0.1_rel")] * rows.level, ses(y, 1).point[:, 0], rtol=1e-5
    )
    np.testing.assert_allclose(
        rows.x[:, names.index("ma28_rel")] * rows.level, moving_average(y, 1).point[:, 0], rtol=1e-5
    )


def test_loss_weights_follow_the_accuracy_scales(panel: SeriesPanel) -> None:
    """Row weights turn ratio losses back into RMSSE / scaled pinball terms: a series ten
    times the volume of another (same pattern) gets the same weights, and rows after a
    quiet spell (low level) weigh far less than ordinary rows."""
    base = np.nan_to_num(panel.y[0, -120:])
    base[60:80] = 0.0  # three weeks without sales
    y = np.stack([base, 10 * base])
    two = SeriesPanel(
        ids=("a", "b"),
        y=y,
        exog=np.zeros((2, y.shape[1], 0)),
        exog_names=(),
        end_days=np.array([20000, 20000]),
        lengths=np.array([y.shape[1], y.shape[1]]),
    )
    rows = training_rows(two, horizon=7, origin_stride_days=1, min_history_days=28)
    assert rows.mse_weight.mean() == pytest.approx(1.0)
    assert rows.pinball_weight.mean() == pytest.approx(1.0)
    per_series = rows.mse_weight.reshape(-1, 2, 7)  # origin-major, then series, then day
    np.testing.assert_allclose(per_series[:, 0], per_series[:, 1], rtol=1e-6)
    pin = rows.pinball_weight.reshape(-1, 2, 7)
    np.testing.assert_allclose(pin[:, 0], pin[:, 1], rtol=1e-6)
    assert rows.mse_weight.min() < 0.2 * np.median(rows.mse_weight)


def test_mlp_training_lowers_its_losses(panel: SeriesPanel) -> None:
    """After training, the mean head beats the constant mean and P90 covers about 90 %."""
    rows = training_rows(panel, horizon=7, origin_stride_days=2, min_history_days=28)
    w = fit_mlp(rows.x, rows.target, MlpConfig(hidden_units=16, epochs=8, seed=0))
    out = w.predict(rows.x)
    r = np.clip(rows.target, 0, 20)
    assert np.mean((out[:, 0] - r) ** 2) < np.var(r)
    assert 0.8 <= float(np.mean(r <= out[:, 3])) <= 0.97


def test_model_card_describes_the_model(model: ExportedModel, tmp_path: Path) -> None:
    """The card beside the model lists features, window, seed and library versions."""
    write_model(model, tmp_path / "m")
    card = json.loads((tmp_path / "m" / "model_card.json").read_text())
    assert card["model_version"] == model.card.model_version
    assert "sell_price_target" in card["feature_names"]
    assert "event_flag_target" in card["feature_names"]
    assert card["exog_names"] == ["sell_price", "event_flag"]
    assert card["training_window"]["n_series"] == 5
    assert {"onnx", "numpy"} <= set(card["versions"])
    assert card["outputs"] == ["mean", "p10", "p50", "p90"]


def test_short_series_fall_back_and_say_so(panel: SeriesPanel, model: ExportedModel) -> None:
    """The 20-day series is forecast by the fallback baseline and flagged; others by the model."""
    runner = OnnxModel.from_bytes(model.onnx_bytes, model.card)
    result = forecast_with_model(runner, panel, horizon=7)
    assert result.fallback == (False, False, False, False, True)
    assert result.method[4] == "MA28"
    assert result.method[0] == model.card.model_version
    last28 = panel.y[4, -28:]
    assert result.mean[4] == pytest.approx([np.nanmean(last28)] * 7)
    assert (np.diff(result.quantiles, axis=2) >= 0).all()
    assert result.first_days.tolist() == (panel.end_days + 1).tolist()


def test_horizon_beyond_training_is_refused(panel: SeriesPanel, model: ExportedModel) -> None:
    """A model trained for 7 days refuses to forecast 8."""
    runner = OnnxModel.from_bytes(model.onnx_bytes, model.card)
    with pytest.raises(DataError, match="horizon"):
        forecast_with_model(runner, panel, horizon=8)


def test_same_seed_same_model(panel: SeriesPanel, model: ExportedModel) -> None:
    """Training twice with the same seed gives byte-identical ONNX."""
    again = train_model(panel, TINY_CONFIG)
    assert again.onnx_bytes == model.onnx_bytes
    other = train_model(panel, with_seed(TINY_CONFIG, 99))
    assert other.card.seed == 99


def _bad_signature_model(n_features: int) -> bytes:
    node = helper.make_node("Identity", ["features"], ["forecast"])
    graph = helper.make_graph(
        [node],
        "bad",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", n_features])],
        [helper.make_tensor_value_info("forecast", TensorProto.FLOAT, ["n", n_features])],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return bytes(m.SerializeToString())


def test_store_rejects_bad_model_and_keeps_last_good(model: ExportedModel, tmp_path: Path) -> None:
    """A new model with the wrong signature raises and the previous one keeps serving."""
    root = tmp_path / "models"
    write_model(model, root / "v1")
    store = ModelStore(root)
    assert store.reload()
    assert not store.reload()  # unchanged: nothing to do
    good = store.current.card.model_version
    bad_dir = write_model(model, root / "v2")
    (bad_dir / "model.onnx").write_bytes(_bad_signature_model(len(model.card.feature_names)))
    with pytest.raises(ModelSignatureError, match="inputs"):
        store.reload()
    assert store.current.card.model_version == good
    assert isinstance(store.last_error, ModelSignatureError)
    (bad_dir / "model.onnx").write_bytes(b"not an onnx file at all")
    assert store.poll() is False
    assert isinstance(store.last_error, ModelLoadError)
    assert OnnxForecaster(store).model_version == good


def test_store_hot_reloads_a_new_good_model(
    panel: SeriesPanel, model: ExportedModel, tmp_path: Path
) -> None:
    """Writing a new valid version makes the store serve it on the next reload."""
    root = tmp_path / "models"
    write_model(model, root / "v1")
    store = ModelStore(root)
    store.reload()
    newer = train_model(panel, with_seed(TINY_CONFIG, 5))
    write_model(newer, root / "v2")
    os.utime(root / "v2" / "model_card.json", ns=(2**62, 2**62))
    assert store.reload()
    assert store.current.card.model_version == newer.card.model_version
    result = OnnxForecaster(store).forecast(panel, horizon=7)
    assert result.model_version == newer.card.model_version


def test_wrong_feature_width_is_a_signature_error(model: ExportedModel) -> None:
    """A card whose feature list does not match the graph's input width is refused."""
    card = replace(model.card, feature_names=(*model.card.feature_names, "extra"))
    with pytest.raises(ModelSignatureError, match="features"):
        OnnxModel.from_bytes(model.onnx_bytes, card)


def test_model_from_another_feature_set_is_refused(model: ExportedModel, tmp_path: Path) -> None:
    """A model directory whose card lists other features (an older version) is refused on
    load with a signature error, so the store keeps its last good model."""
    d = write_model(model, tmp_path / "m")
    card = json.loads((d / "model_card.json").read_text())
    card["feature_names"].remove("ses_fit_rel")  # as a model from before that feature
    (d / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelSignatureError, match="retrain"):
        OnnxModel.load(d)


def test_corrupt_card_is_a_load_error(model: ExportedModel, tmp_path: Path) -> None:
    """A model card that is not valid JSON is a ModelLoadError."""
    d = write_model(model, tmp_path / "m")
    (d / "model_card.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="card"):
        OnnxModel.load(d)
    assert onnx.load_from_string(model.onnx_bytes).graph.name == "flexfleet_demand"
