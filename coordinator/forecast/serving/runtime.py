"""The one module that talks to onnxruntime: load, validate and run a forecast model.

A model directory holds `model.onnx` and `model_card.json`. Loading creates a single
`InferenceSession`, checks the graph's inputs and outputs against the card (names,
element types, widths) and runs one probe row; any failure is a `ModelError`, never an
onnxruntime exception.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import onnxruntime as ort

from coordinator.forecast.errors import ModelLoadError, ModelSignatureError
from coordinator.forecast.model.features import feature_names
from coordinator.forecast.model.model_card import MODEL_FILE, ModelCard, read_card

INPUT_FEATURES = "features"
INPUT_LEVEL = "level"
OUTPUT_FORECAST = "forecast"
_FLOAT = "tensor(float)"
MAX_MODEL_BYTES = 256 * 1024 * 1024


@contextlib.contextmanager
def _translated(reason: str, path: Path | None) -> Iterator[None]:
    try:
        yield
    except (ModelLoadError, ModelSignatureError):
        raise
    except Exception as exc:  # onnxruntime raises its own pybind exception types
        raise ModelLoadError(f"{reason}: {exc}", path=path) from exc


class OnnxModel:
    """A validated model with one onnxruntime session, shared by every forecast call."""

    def __init__(self, session: ort.InferenceSession, card: ModelCard, path: Path | None) -> None:
        self._session = session
        self.card = card
        self.path = path

    @classmethod
    def load(cls, model_dir: Path, *, intra_op_threads: int = 0) -> OnnxModel:
        """Load and validate the model in `model_dir` (its card must list the features this
        version of the code builds, so a model from an older feature set is refused)."""
        card = read_card(model_dir)
        path = model_dir / MODEL_FILE
        own = feature_names(())  # the history and calendar features, before exogenous ones
        if card.feature_names[: len(own)] != own:
            raise ModelSignatureError(
                "model was trained on a different feature set than this version builds: retrain it",
                path=model_dir,
            )
        try:
            size = path.stat().st_size
            if size > MAX_MODEL_BYTES:
                raise ModelLoadError(f"model is {size} bytes, limit {MAX_MODEL_BYTES}", path=path)
            data = path.read_bytes()
        except OSError as exc:
            raise ModelLoadError(f"cannot read model: {exc}", path=path) from exc
        return cls.from_bytes(data, card, path=model_dir, intra_op_threads=intra_op_threads)

    @classmethod
    def from_bytes(
        cls,
        onnx_bytes: bytes,
        card: ModelCard,
        *,
        path: Path | None = None,
        intra_op_threads: int = 0,
    ) -> OnnxModel:
        """Create the session from serialised ONNX and validate it against `card`."""
        with _translated("onnxruntime cannot load the model", path):
            options = ort.SessionOptions()
            options.intra_op_num_threads = intra_op_threads
            options.log_severity_level = 3
            session = ort.InferenceSession(
                onnx_bytes, sess_options=options, providers=["CPUExecutionProvider"]
            )
        model = cls(session, card, path)
        model._validate()
        return model

    def _validate(self) -> None:
        n_features = len(self.card.feature_names)
        inputs = {i.name: i for i in self._session.get_inputs()}
        outputs = {o.name: o for o in self._session.get_outputs()}
        expected_in = {INPUT_FEATURES: n_features, INPUT_LEVEL: 1}
        if set(inputs) != set(expected_in):
            raise ModelSignatureError(
                f"inputs {sorted(inputs)} differ from {sorted(expected_in)}", path=self.path
            )
        for name, width in expected_in.items():
            _check_tensor(inputs[name].type, inputs[name].shape, name, width, self.path)
        if set(outputs) != {OUTPUT_FORECAST}:
            raise ModelSignatureError(
                f"outputs {sorted(outputs)} are not ['forecast']", path=self.path
            )
        out = outputs[OUTPUT_FORECAST]
        _check_tensor(out.type, out.shape, OUTPUT_FORECAST, len(self.card.outputs), self.path)
        probe = self.run(np.zeros((1, n_features), np.float32), np.ones((1, 1), np.float32))
        if probe.shape != (1, len(self.card.outputs)) or not np.isfinite(probe).all():
            raise ModelSignatureError(f"probe run returned {probe.shape}", path=self.path)

    def run(self, features: np.ndarray, level: np.ndarray) -> np.ndarray:
        """Forecast rows `[n, outputs]` from features `[n, f]` and levels `[n, 1]`."""
        with _translated("inference failed", self.path):
            result = self._session.run(
                [OUTPUT_FORECAST],
                {
                    INPUT_FEATURES: np.ascontiguousarray(features, dtype=np.float32),
                    INPUT_LEVEL: np.ascontiguousarray(level, dtype=np.float32).reshape(-1, 1),
                },
            )[0]
        return np.asarray(result, dtype=np.float32)


def _check_tensor(kind: str, shape: list[object], name: str, width: int, path: Path | None) -> None:
    if kind != _FLOAT:
        raise ModelSignatureError(f"{name} has type {kind}, expected {_FLOAT}", path=path)
    if len(shape) != 2 or shape[1] != width:
        raise ModelSignatureError(f"{name} has shape {shape}, expected [n, {width}]", path=path)


EVENT_HEAD_FILE = "event_head.onnx"
EVENT_HEAD_INPUTS = {"base": 4, "events": 6, "params": 4}
EVENT_HEAD_OUTPUT = "head"


class EventHeadModel:
    """The event head (`coordinator.forecast.events.head`) in one onnxruntime session."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self._session = session

    @classmethod
    def load(cls, onnx_bytes: bytes | None = None, *, intra_op_threads: int = 1) -> EventHeadModel:
        """Load the head shipped with the package (or `onnx_bytes`) and check its signature."""
        with _translated("onnxruntime cannot load the event head", None):
            data = onnx_bytes
            if data is None:
                data = (
                    resources.files("coordinator.forecast.events") / EVENT_HEAD_FILE
                ).read_bytes()
            options = ort.SessionOptions()
            options.intra_op_num_threads = intra_op_threads
            options.log_severity_level = 3
            session = ort.InferenceSession(
                data, sess_options=options, providers=["CPUExecutionProvider"]
            )
        inputs = {i.name: i for i in session.get_inputs()}
        if set(inputs) != set(EVENT_HEAD_INPUTS):
            raise ModelSignatureError(f"event head inputs {sorted(inputs)}", path=None)
        for name, width in EVENT_HEAD_INPUTS.items():
            _check_tensor(inputs[name].type, inputs[name].shape, name, width, None)
        outputs = [o.name for o in session.get_outputs()]
        if outputs != [EVENT_HEAD_OUTPUT]:
            raise ModelSignatureError(f"event head outputs {outputs}", path=None)
        return cls(session)

    def run(self, base: np.ndarray, events: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Rows `[n, 6]` (`HEAD_OUTPUTS`) from `base` `[n, 4]`, `events` `[n, 6]`, `params` `[1, 4]`."""
        with _translated("event head inference failed", None):
            result = self._session.run(
                [EVENT_HEAD_OUTPUT],
                {
                    "base": np.ascontiguousarray(base, dtype=np.float32),
                    "events": np.ascontiguousarray(events, dtype=np.float32),
                    "params": np.ascontiguousarray(params, dtype=np.float32).reshape(1, -1),
                },
            )[0]
        return np.asarray(result, dtype=np.float32)
