"""Settings that can change while the agent runs (through the `config` command).

`LiveSettings` holds the sampling interval, deadbands and detector settings in force.
`apply_config_args` validates a `config` command's arguments completely before anything
changes, so a command is applied whole or not at all; the result is persisted in the
outbox database and reapplied over the TOML file at the next start.

Accepted arguments (all optional, at least one)::

    {"sampling_interval_ms": 200,
     "default_deadband": 0.1,
     "deadbands": {"spindle_temp_c": 0.5},
     "detectors": {"baseline": {"raise_score": 8.0}}}      # merged over the current ones
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from edge_agent.config import AgentConfig
from edge_agent.detection import check_detector_settings
from edge_agent.errors import CommandRejected, ConfigError

CONFIG_KEYS = ("sampling_interval_ms", "default_deadband", "deadbands", "detectors")


@dataclass(frozen=True, slots=True)
class LiveSettings:
    """The live-tunable part of the configuration."""

    interval_ms: int
    default_deadband: float
    deadbands: Mapping[str, float] = field(default_factory=dict)
    detectors: Mapping[str, Any] | None = None

    @classmethod
    def from_config(cls, config: AgentConfig) -> LiveSettings:
        """The settings a TOML configuration starts with."""
        return cls(
            interval_ms=config.sampling.interval_ms,
            default_deadband=config.sampling.default_deadband,
            deadbands=dict(config.sampling.deadbands),
            detectors=None if config.detectors is None else dict(config.detectors),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (persisted in the outbox database)."""
        return {
            "sampling_interval_ms": self.interval_ms,
            "default_deadband": self.default_deadband,
            "deadbands": dict(self.deadbands),
            "detectors": None if self.detectors is None else dict(self.detectors),
        }


def _merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = _merge(result[key], value)
        else:
            result[key] = value
    return result


def _number(value: Any, name: str, low: float, high: float) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not (ok and math.isfinite(value) and low <= value <= high):
        raise CommandRejected("config", f"{name} must be a number in {low}..{high}")
    return float(value)


def apply_config_args(
    current: LiveSettings, args: Mapping[str, Any], signals: frozenset[str]
) -> LiveSettings:
    """The settings after a `config` command; raises `CommandRejected` with the reason."""
    if not args:
        raise CommandRejected(
            "config", f"no settings given; expected some of {', '.join(CONFIG_KEYS)}"
        )
    unknown = sorted(set(args) - set(CONFIG_KEYS))
    if unknown:
        raise CommandRejected("config", f"unknown setting {unknown[0][:64]!r}")
    interval, default, deadbands = (
        current.interval_ms,
        current.default_deadband,
        dict(current.deadbands),
    )
    detectors = current.detectors
    if "sampling_interval_ms" in args:
        value = args["sampling_interval_ms"]
        if isinstance(value, bool) or not isinstance(value, int) or not 10 <= value <= 3_600_000:
            raise CommandRejected(
                "config", "sampling_interval_ms must be an integer in 10..3600000"
            )
        interval = value
    if "default_deadband" in args:
        default = _number(args["default_deadband"], "default_deadband", 0.0, 1e12)
    if "deadbands" in args:
        bands = args["deadbands"]
        if not isinstance(bands, Mapping):
            raise CommandRejected("config", "deadbands must be an object {signal: number}")
        for signal, band in bands.items():
            if signal not in signals:
                raise CommandRejected("config", f"deadbands: no signal {str(signal)[:64]!r}")
            deadbands[signal] = _number(band, f"deadbands.{signal}", 0.0, 1e12)
    if "detectors" in args:
        overrides = args["detectors"]
        if not isinstance(overrides, Mapping):
            raise CommandRejected("config", "detectors must be an object")
        if detectors is None:
            raise CommandRejected("config", "detectors are switched off on this node")
        merged = _merge(detectors, overrides)
        try:
            check_detector_settings(merged)
            unknown_signals = set(merged.get("per_signal", {})) - signals
            if unknown_signals:
                raise ConfigError(
                    f"detectors.per_signal.{sorted(unknown_signals)[0]}", "no such signal"
                )
        except ConfigError as exc:
            raise CommandRejected("config", str(exc)[:500]) from None
        detectors = merged
    return LiveSettings(interval, default, deadbands, detectors)


def restore(
    config: AgentConfig, persisted: Mapping[str, Any], signals: frozenset[str]
) -> LiveSettings:
    """Settings from the TOML file with the persisted live changes applied (if still valid)."""
    base = LiveSettings.from_config(config)
    saved = persisted.get("live")
    if not isinstance(saved, Mapping):
        return base
    args = {k: v for k, v in saved.items() if k in CONFIG_KEYS and v is not None}
    if "detectors" in args and base.detectors is not None:
        args["detectors"] = args["detectors"]
    elif "detectors" in args:
        del args["detectors"]
    try:
        return apply_config_args(base, args, signals) if args else base
    except CommandRejected:
        return base  # the file changed under the saved settings: the file wins
