"""Settings that can change while the agent runs (through the `config` command).

`LiveSettings` holds the sampling interval, deadbands and detector settings in force.
`apply_config_args` validates a `config` command's arguments completely before anything
changes, so a command is applied whole or not at all; the result is persisted in the
outbox database and reapplied over the TOML file at the next start.

Accepted arguments (all optional, at least one; shape and bounds in
`protocol.config_args`, shared with the coordinator)::

    {"sampling_interval_ms": 200,
     "default_deadband": 0.1,
     "deadbands": {"spindle_temp_c": 0.5},
     "detectors": {"baseline": {"raise_score": 8.0}}}      # merged over the current ones
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from edge_agent.config import AgentConfig
from edge_agent.detection import check_detector_settings
from edge_agent.errors import CommandRejected, ConfigError
from protocol import InvalidMessage
from protocol.config_args import CONFIG_KEYS, check_config_args


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


def apply_config_args(
    current: LiveSettings, args: Mapping[str, Any], signals: frozenset[str]
) -> LiveSettings:
    """The settings after a `config` command; raises `CommandRejected` with the reason.

    The shape and bounds are `protocol.config_args`'s (the coordinator checks the same
    before sending); what only this node knows (its signals, its detectors) is checked here.
    """
    try:
        check_config_args(args)
    except InvalidMessage as exc:
        raise CommandRejected("config", exc.reason) from None
    interval = int(args.get("sampling_interval_ms", current.interval_ms))
    default = float(args.get("default_deadband", current.default_deadband))
    deadbands = dict(current.deadbands)
    detectors = current.detectors
    for signal, band in args.get("deadbands", {}).items():
        if signal not in signals:
            raise CommandRejected("config", f"deadbands: no signal {str(signal)[:64]!r}")
        deadbands[signal] = float(band)
    if "detectors" in args:
        overrides = args["detectors"]
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
