"""Report by exception: a sample is sent only when it moved past its signal's deadband.

A signal whose value stays inside ±deadband of the last *reported* value is not reported,
except that at least one sample goes out every `max_silence_ms` (a heartbeat, so the
coordinator can tell a steady signal from a dead one). A deadband of 0 reports every
change; non-finite values are always reported. The detectors see every raw sample
before this filter (the data flow in README.md), so bandwidth saving never hides an anomaly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping


class DeadbandFilter:
    """Per-signal absolute deadband with a heartbeat."""

    def __init__(
        self,
        *,
        default_deadband: float = 0.0,
        deadbands: Mapping[str, float] | None = None,
        max_silence_ms: int = 60_000,
    ) -> None:
        self._last: dict[str, tuple[int, float]] = {}
        self.passed = 0
        self.suppressed = 0
        self.configure(
            default_deadband=default_deadband,
            deadbands=deadbands or {},
            max_silence_ms=max_silence_ms,
        )

    def configure(
        self, *, default_deadband: float, deadbands: Mapping[str, float], max_silence_ms: int
    ) -> None:
        """Change the deadbands live; what was last reported is kept."""
        for name, band in {"": default_deadband, **deadbands}.items():
            if not (math.isfinite(band) and band >= 0):
                raise ValueError(f"deadband of {name or 'default'!r} must be >= 0, got {band}")
        if max_silence_ms <= 0:
            raise ValueError(f"max_silence_ms must be > 0, got {max_silence_ms}")
        self.default_deadband = default_deadband
        self.deadbands = dict(deadbands)
        self.max_silence_ms = max_silence_ms

    def admit(self, signal: str, ts_ms: int, value: float) -> bool:
        """Whether this sample should be reported (and remember it if so)."""
        last = self._last.get(signal)
        if last is not None:
            last_ts, last_value = last
            band = self.deadbands.get(signal, self.default_deadband)
            if (
                ts_ms - last_ts < self.max_silence_ms
                and math.isfinite(value)
                and abs(value - last_value) <= band
                and (band > 0 or value == last_value)
            ):
                self.suppressed += 1
                return False
        self._last[signal] = (ts_ms, value)
        self.passed += 1
        return True
