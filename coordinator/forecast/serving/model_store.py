"""Versioned model directories, validated on load and hot-reloaded; the last good model
is kept when a new one is bad.

`root` is either one model directory (`model.onnx` + `model_card.json`) or a folder of
them, one per version; the newest valid-looking one (by modification time, then name)
is served. `reload()` loads it only when it changed, validates it, and swaps it in; on
failure it raises a `ModelError` and the previous model keeps serving.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from coordinator.forecast.errors import ModelError, ModelLoadError
from coordinator.forecast.model.model_card import CARD_FILE, MODEL_FILE
from coordinator.forecast.model.panel import SeriesPanel
from coordinator.forecast.serving.predictor import ModelRunner, PanelForecast, forecast_with_model

Loader = Callable[[Path], ModelRunner]


def _default_loader(path: Path) -> ModelRunner:
    from coordinator.forecast.serving.runtime import OnnxModel

    return OnnxModel.load(path)


def newest_model_dir(root: Path) -> Path:
    """`root` itself if it is a model directory, else its newest model subdirectory."""
    if (root / CARD_FILE).is_file():
        return root
    try:
        candidates = [p for p in root.iterdir() if (p / CARD_FILE).is_file()]
    except OSError as exc:
        raise ModelLoadError(f"cannot list model directory: {exc}", path=root) from exc
    if not candidates:
        raise ModelLoadError("no model directory (with model_card.json) found", path=root)
    return max(candidates, key=lambda p: ((p / CARD_FILE).stat().st_mtime_ns, p.name))


def _fingerprint(model_dir: Path) -> tuple[str, int, int]:
    try:
        stats = [(model_dir / f).stat() for f in (MODEL_FILE, CARD_FILE)]
    except OSError as exc:
        raise ModelLoadError(f"model files missing: {exc}", path=model_dir) from exc
    return (str(model_dir), stats[0].st_mtime_ns + stats[1].st_mtime_ns, stats[0].st_size)


class ModelStore:
    """Holds the model being served and swaps in a new one only once it validated."""

    def __init__(self, root: Path, *, loader: Loader = _default_loader) -> None:
        self.root = root
        self._loader = loader
        self._lock = threading.Lock()
        self._current: ModelRunner | None = None
        self._fingerprint: tuple[str, int, int] | None = None
        self.last_error: ModelError | None = None

    @property
    def current(self) -> ModelRunner:
        """The model in service; raises `ModelLoadError` if none ever loaded."""
        with self._lock:
            if self._current is None:
                raise ModelLoadError("no model loaded", path=self.root)
            return self._current

    def reload(self) -> bool:
        """Load the newest model if it changed; True when a new model was swapped in."""
        try:
            model_dir = newest_model_dir(self.root)
            fingerprint = _fingerprint(model_dir)
            if fingerprint == self._fingerprint:
                return False
            runner = self._loader(model_dir)
        except ModelError as exc:
            self.last_error = exc
            raise
        with self._lock:
            self._current = runner
            self._fingerprint = fingerprint
            self.last_error = None
        return True

    def poll(self) -> bool:
        """`reload()` for schedulers: errors are kept in `last_error` instead of raised."""
        try:
            return self.reload()
        except ModelError:
            return False


class OnnxForecaster:
    """The production `Forecaster`: the store's current model, through onnxruntime."""

    def __init__(self, store: ModelStore) -> None:
        self.store = store

    @property
    def model_version(self) -> str:
        """Version of the model in service."""
        return self.store.current.card.model_version

    def forecast(self, panel: SeriesPanel, *, horizon: int) -> PanelForecast:
        """Forecast every series in one batch (fallback baseline for short series)."""
        return forecast_with_model(self.store.current, panel, horizon=horizon)
