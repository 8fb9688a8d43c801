"""The model card: a JSON file beside `model.onnx` saying what the model is and expects.

The server reads the card to build the same features the model was trained on and to
validate the graph's signature; it is written by the trainer and never by hand.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from coordinator.forecast.errors import ModelLoadError

CARD_FILE = "model_card.json"
MODEL_FILE = "model.onnx"
CARD_FORMAT = 1
OUTPUTS = ("mean", "p10", "p50", "p90")


@dataclass(frozen=True)
class ModelCard:
    """Everything needed to serve a model, plus how it was trained and how well it did."""

    model_version: str
    horizon_days: int
    window_days: int
    min_history_days: int
    feature_names: tuple[str, ...]
    exog_names: tuple[str, ...]
    fallback_baseline: str
    outputs: tuple[str, ...] = OUTPUTS
    seed: int = 0
    training_window: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    format_version: int = CARD_FORMAT

    def to_json(self) -> str:
        """The card as indented JSON text."""
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, *, path: Path | None = None) -> ModelCard:
        """Parse and check a card; raises `ModelLoadError` on anything unexpected."""
        try:
            raw = json.loads(text)
            if not isinstance(raw, dict):
                raise TypeError("card is not a JSON object")
            if raw.get("format_version") != CARD_FORMAT:
                raise ValueError(f"unsupported card format {raw.get('format_version')!r}")
            card = cls(
                model_version=str(raw["model_version"]),
                horizon_days=_positive(raw["horizon_days"]),
                window_days=_positive(raw["window_days"]),
                min_history_days=_positive(raw["min_history_days"]),
                feature_names=tuple(str(x) for x in raw["feature_names"]),
                exog_names=tuple(str(x) for x in raw["exog_names"]),
                fallback_baseline=str(raw["fallback_baseline"]),
                outputs=tuple(str(x) for x in raw["outputs"]),
                seed=int(raw.get("seed", 0)),
                training_window=dict(raw.get("training_window", {})),
                metrics=dict(raw.get("metrics", {})),
                config=dict(raw.get("config", {})),
                versions={str(k): str(v) for k, v in dict(raw.get("versions", {})).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(f"invalid model card: {exc}", path=path) from exc
        if card.outputs != OUTPUTS:
            raise ModelLoadError(f"card outputs {card.outputs} are not {OUTPUTS}", path=path)
        return card


def _positive(value: Any) -> int:
    number = int(value)
    if number < 1 or number != value:
        raise ValueError(f"expected a positive integer, got {value!r}")
    return number


def read_card(model_dir: Path) -> ModelCard:
    """Read `model_card.json` from a model directory."""
    path = model_dir / CARD_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"cannot read model card: {exc}", path=path) from exc
    return ModelCard.from_json(text, path=path)
