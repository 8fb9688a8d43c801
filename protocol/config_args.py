"""The arguments of the `config` command: which settings a node takes live, and their bounds.

Both sides check them with `check_config_args`: the coordinator before it sends a command
(`POST /api/v1/nodes/{node}/config`), the edge agent before it applies one. What only the
node can judge (whether a signal named in `deadbands` exists, whether detector settings
make sense for it) the agent checks on top and answers with a nack.

    {"sampling_interval_ms": 200,                          # integer, 10..3,600,000
     "default_deadband": 0.1,                              # number, 0..1e12
     "deadbands": {"spindle_temp_c": 0.5},                 # signal -> number, 0..1e12
     "detectors": {"baseline": {"raise_score": 8.0}}}      # object, merged over the current
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from protocol import checks
from protocol.errors import InvalidMessage
from protocol.messages import MAX_SIGNALS
from protocol.topics import NAME_PATTERN

CONFIG_COMMAND: Final = "config"
CONFIG_KEYS: Final = ("sampling_interval_ms", "default_deadband", "deadbands", "detectors")
MIN_INTERVAL_MS: Final = 10
MAX_INTERVAL_MS: Final = 3_600_000
MAX_DEADBAND: Final = 1e12

_signal = checks.text(max_len=64, pattern=NAME_PATTERN)
_deadband = checks.number(0.0, MAX_DEADBAND)


def _reject(reason: str, field: str) -> InvalidMessage:
    return InvalidMessage(reason, field=field)


def check_config_args(args: object) -> None:
    """Raise `InvalidMessage` (naming the field) unless `args` is a well-formed `config`
    command argument object: at least one known key, each of the right type and in bounds."""
    if not isinstance(args, Mapping):
        raise _reject("config arguments must be an object", "args")
    if not args:
        raise _reject(f"no settings given; expected some of {', '.join(CONFIG_KEYS)}", "args")
    unknown = sorted(str(key) for key in args if key not in CONFIG_KEYS)
    if unknown:
        raise _reject(f"unknown setting {unknown[0][:64]!r}", unknown[0][:64])
    if "sampling_interval_ms" in args:
        value = args["sampling_interval_ms"]
        if type(value) is not int or not MIN_INTERVAL_MS <= value <= MAX_INTERVAL_MS:
            raise _reject(
                f"sampling_interval_ms must be an integer in {MIN_INTERVAL_MS}..{MAX_INTERVAL_MS}",
                "sampling_interval_ms",
            )
    if "default_deadband" in args:
        _bounded(args["default_deadband"], "default_deadband")
    if "deadbands" in args:
        bands = args["deadbands"]
        if not isinstance(bands, Mapping):
            raise _reject("deadbands must be an object {signal: number}", "deadbands")
        if len(bands) > MAX_SIGNALS:
            raise _reject(f"deadbands: more than {MAX_SIGNALS} signals", "deadbands")
        for signal, band in bands.items():
            try:
                _signal(signal, "deadbands")
            except InvalidMessage:
                raise _reject(
                    f"deadbands: {str(signal)[:64]!r} is not a signal name", "deadbands"
                ) from None
            _bounded(band, f"deadbands.{signal}")
    if "detectors" in args and not isinstance(args["detectors"], Mapping):
        raise _reject("detectors must be an object", "detectors")


def _bounded(value: object, name: str) -> None:
    try:
        _deadband(value, name)
    except InvalidMessage:
        raise _reject(f"{name} must be a number in 0.0..{MAX_DEADBAND}", name) from None


__all__ = [
    "CONFIG_COMMAND",
    "CONFIG_KEYS",
    "MAX_DEADBAND",
    "MAX_INTERVAL_MS",
    "MIN_INTERVAL_MS",
    "check_config_args",
]
