"""Judging a signal per operating mode of its machine.

A machine's signals have one normal per mode: motor current and vibration near zero while
it idles, high and steady while it runs. One baseline across modes calls every start and
stop an anomaly, and a novelty gate that learns those jumps grows blind to real incidents
of the same size. For a signal the driver declares mode-dependent (`Driver.mode_signals`:
the signal and the state code that selects its mode, such as the simulated machine's motor
current and `state`), `ModedMonitor` keeps one `SignalMonitor` per mode value for the statistical
detectors (baseline, rate of change, flatline), each learning only from its own mode, and
one for what holds in every mode (hard limits and missing data, which must see every
sample). When the mode changes, whatever the left mode's monitor had raised is cleared (it
can no longer be judged); a mode seen for the first time warms up like a new signal. At
most `MAX_MODES` mode values get a monitor of their own; further ones share one.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Final

from edge_agent.detectors import Anomaly, DetectorConfig, SignalMonitor

MAX_MODES: Final = 8
_STATISTICAL_OFF: Final = {
    "baseline": {"enabled": False},
    "rate_of_change": {"enabled": False},
    "flatline": {"enabled": False},
}
_EVERY_MODE_OFF: Final = {
    "out_of_range": {"min_value": None, "max_value": None},
    "missing": {"enabled": False},
}

ModeKey = float | None
"""A mode value (the mode signal's reading); None before the first reading, for a
non-finite one and for the values past `MAX_MODES`."""


def mode_key(value: float) -> ModeKey:
    """The key of a mode signal's reading."""
    return value if math.isfinite(value) else None


class ModedMonitor:
    """One signal, its statistical detectors kept per mode of `modes[mode_signal]`."""

    def __init__(
        self, signal: str, config: DetectorConfig, mode_signal: str, modes: dict[str, ModeKey]
    ) -> None:
        self.signal = signal
        self.mode_signal = mode_signal
        self._modes = modes
        self._config = config
        self.always = SignalMonitor(signal, config.merged(_STATISTICAL_OFF))
        self.per_mode: dict[ModeKey, SignalMonitor] = {}
        self._current: SignalMonitor | None = None

    @property
    def config(self) -> DetectorConfig:
        """The signal's configuration (split between the monitors)."""
        return self._config

    def update(self, ts_ms: int, value: float) -> list[Anomaly]:
        """Feed one sample to the every-mode monitor and to the current mode's (a
        non-finite value only to the former, which reports it)."""
        found = self.always.update(ts_ms, value)
        if not math.isfinite(value):
            return found
        monitor = self._monitor(self._modes.get(self.mode_signal))
        if monitor is not self._current:
            if self._current is not None:
                found += _release(self._current, ts_ms)
            self._current = monitor
        return found + monitor.update(ts_ms, value)

    def check_missing(self, now_ms: int) -> list[Anomaly]:
        """See `SignalMonitor.check_missing` (missing data is judged across modes)."""
        return self.always.check_missing(now_ms)

    def reconfigure(self, config: DetectorConfig) -> list[Anomaly]:
        """Apply a new configuration to every monitor of the signal, keeping what they learnt."""
        self._config = config
        cleared = self.always.reconfigure(config.merged(_STATISTICAL_OFF))
        for monitor in self.per_mode.values():
            cleared += monitor.reconfigure(config.merged(_EVERY_MODE_OFF))
        return cleared

    def _monitor(self, key: ModeKey) -> SignalMonitor:
        monitor = self.per_mode.get(key)
        if monitor is None:
            if len(self.per_mode) >= MAX_MODES:
                key = None
                monitor = self.per_mode.get(None)
            if monitor is None:
                monitor = SignalMonitor(self.signal, self._config.merged(_EVERY_MODE_OFF))
                self.per_mode[key] = monitor
        return monitor


def _release(monitor: SignalMonitor, ts_ms: int) -> list[Anomaly]:
    """Clear whatever `monitor` has raised (its mode was left), keeping what it learnt."""
    if not monitor.alerting:
        return []
    config = monitor.config
    cleared = monitor.reconfigure(config.merged(_STATISTICAL_OFF))
    monitor.reconfigure(config)
    return [dataclasses.replace(a, reason="operating mode changed", ts_ms=ts_ms) for a in cleared]


__all__ = ["MAX_MODES", "ModeKey", "ModedMonitor", "mode_key"]
