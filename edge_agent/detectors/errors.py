"""Errors raised by the streaming detectors.

    DetectorError
    ├── DetectorConfigError   (a configuration value is missing, of the wrong type or out of range)
    └── DetectorInputError    (a sample is not a number or its timestamp is not an integer)

Out-of-order timestamps and non-finite values are not errors: a monitor drops the
former (counting them) and reports the latter as an `out_of_range` anomaly.
"""

from __future__ import annotations


class DetectorError(Exception):
    """Base of every error raised by `edge_agent.detectors`."""


class DetectorConfigError(DetectorError, ValueError):
    """A detector configuration value is invalid; `field` names it (dotted path)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class DetectorInputError(DetectorError, ValueError):
    """A sample could not be used: `signal` is the monitor's signal, `reason` says why."""

    def __init__(self, signal: str, reason: str) -> None:
        super().__init__(f"signal {signal!r}: {reason}")
        self.signal = signal
        self.reason = reason
