"""The seam between the sampling loop and the streaming detectors.

`DetectorBank` keeps one `SignalMonitor` per signal, feeds it every raw sample (before
the deadband, so bandwidth saving never hides an anomaly) and turns its raises and
clears into protocol `Event` fields. Settings are the detector dict of the TOML file or
of a live `config` command: shared keys for every signal, plus `per_signal.<name>`
overrides. Signals the driver declares stepped (state codes, counters, stock totals) start
from `STEPPED_DEFAULTS`; those it declares mode-dependent are judged per operating mode
(`edge_agent.modes`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any

from edge_agent.detectors import Anomaly, DetectorConfig, DetectorError, SignalMonitor
from edge_agent.errors import ConfigError
from edge_agent.modes import ModedMonitor, ModeKey, mode_key

log = logging.getLogger("edge_agent")

_SEVERITY = {
    "out_of_range": "MAJOR",
    "baseline": "MINOR",
    "rate_of_change": "MINOR",
    "flatline": "WARNING",
    "missing": "WARNING",
}


def _split(settings: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    shared = {k: v for k, v in settings.items() if k != "per_signal"}
    per_signal = settings.get("per_signal", {})
    if not isinstance(per_signal, dict):
        raise ConfigError("detectors.per_signal", "must be a table of signal tables")
    return shared, per_signal


STEPPED_DEFAULTS: dict[str, Any] = {
    "baseline": {"enabled": False},
    "rate_of_change": {"enabled": False},
    "flatline": {"enabled": False},
}
"""Detector defaults of a stepped signal (a state code, a counter, a stock total): it moves
in whole steps and rests for long spells by nature, so level, rate and flatline detectors
would call every step or pause an anomaly; hard limits and missing data still apply.
`per_signal` settings go on top of these."""


def build_configs(
    settings: Mapping[str, Any],
    signals: list[str] | None = None,
    stepped: frozenset[str] = frozenset(),
) -> tuple[DetectorConfig, dict[str, DetectorConfig]]:
    """The shared configuration and the per-signal ones (stepped signals start from
    `STEPPED_DEFAULTS`); raises `ConfigError`."""
    shared, per_signal = _split(settings)
    try:
        base = DetectorConfig.from_dict(shared)
    except DetectorError as exc:
        raise ConfigError(f"detectors.{getattr(exc, 'field', '')}", str(exc)) from None
    configs = {name: base.merged(STEPPED_DEFAULTS) for name in stepped}
    for name, overrides in per_signal.items():
        if signals is not None and name not in signals:
            raise ConfigError(f"detectors.per_signal.{name}", "no such signal")
        try:
            configs[name] = configs.get(name, base).merged(overrides)
        except DetectorError as exc:
            field = getattr(exc, "field", "")
            raise ConfigError(f"detectors.per_signal.{name}.{field}", str(exc)) from None
    return base, configs


def check_detector_settings(settings: Mapping[str, Any]) -> None:
    """Validate a detector settings dict (raises `ConfigError`)."""
    build_configs(settings)


class DetectorBank:
    """One monitor per signal (per operating mode for the signals in `modes`, see
    `edge_agent.modes`); `update` returns anomalies as they happen."""

    def __init__(
        self,
        settings: Mapping[str, Any],
        signals: list[str],
        *,
        stepped: frozenset[str] = frozenset(),
        modes: Mapping[str, str] | None = None,
    ) -> None:
        self._signals = list(signals)
        self._stepped = stepped & frozenset(signals)
        names = frozenset(signals)
        self._mode_of = {
            s: m for s, m in (modes or {}).items() if s in names and m in names and s != m
        }
        self._mode_signals = frozenset(self._mode_of.values())
        self._modes: dict[str, ModeKey] = {}
        base, per_signal = build_configs(settings, self._signals, self._stepped)
        self.monitors: dict[str, SignalMonitor | ModedMonitor] = {
            s: (
                ModedMonitor(s, per_signal.get(s, base), self._mode_of[s], self._modes)
                if s in self._mode_of
                else SignalMonitor(s, per_signal.get(s, base))
            )
            for s in self._signals
        }
        self.errors = 0
        self._failed: set[str] = set()

    def observe_modes(self, values: Iterable[tuple[str, float]]) -> None:
        """Take the current modes from one poll's values, before any is fed (a sample
        belongs to the mode its own poll reports)."""
        if self._mode_signals:
            for name, value in values:
                if name in self._mode_signals:
                    self._modes[name] = mode_key(value)

    def reconfigure(self, settings: Mapping[str, Any]) -> list[Anomaly]:
        """Apply new settings live (learnt state kept); returns anomalies cleared by it."""
        base, per_signal = build_configs(settings, self._signals, self._stepped)
        cleared: list[Anomaly] = []
        for name, monitor in self.monitors.items():
            cleared += monitor.reconfigure(per_signal.get(name, base))
        return cleared

    def update(self, signal: str, ts_ms: int, value: float) -> list[Anomaly]:
        """Feed one raw sample of a known signal.

        A detector failure must never stop data collection: the error is counted in
        `errors`, logged once per signal, and the sample still goes on to telemetry.
        """
        monitor = self.monitors.get(signal)
        if monitor is None:
            return []
        try:
            return monitor.update(ts_ms, value)
        except Exception:
            self.errors += 1
            if signal not in self._failed:
                self._failed.add(signal)
                log.exception("detector failed on signal %s; data collection continues", signal)
            return []

    def check_missing(self, now_ms: int) -> list[Anomaly]:
        """Raise `missing` on every signal that went quiet."""
        found: list[Anomaly] = []
        for monitor in self.monitors.values():
            found += monitor.check_missing(now_ms)
        return found


def event_fields(anomaly: Anomaly) -> dict[str, Any]:
    """Keyword arguments of a protocol `Event` describing one anomaly raise/clear."""
    return {
        "name": "anomaly",
        "severity": _SEVERITY.get(anomaly.detector, "INDETERMINATE"),
        "state": anomaly.state,
        "signal": anomaly.signal,
        "detector": anomaly.detector,
        "score": _finite(anomaly.score),
        "window": tuple(v for v in anomaly.window[-512:] if _is_finite(v)),
        "reason": anomaly.reason[:1000],
    }


def _is_finite(value: float) -> bool:
    return math.isfinite(value) and abs(value) <= 1e15  # the protocol's value range


def _finite(value: float) -> float:
    return value if _is_finite(value) else 1e15
