"""The seam between the sampling loop and the streaming detectors.

`DetectorBank` keeps one `SignalMonitor` per signal, feeds it every raw sample (before
the deadband, so bandwidth saving never hides an anomaly) and turns its raises and
clears into protocol `Event` fields. Settings are the detector dict of the TOML file or
of a live `config` command: shared keys for every signal, plus `per_signal.<name>`
overrides. Signals the driver declares stepped (state codes, counters, stock totals) start
from `STEPPED_DEFAULTS`; those it declares mode-dependent are judged per operating mode
(`edge_agent.modes`), and each state signal selecting a mode is watched for stays far longer
than usual (`StateDurations`, set by the `states` table: `planned` state codes never judged,
`duration_factor`, `duration_quantile`, `min_stays`, `min_duration_s`, `enabled`). When a
machine leaves a state of `relearn_after` (none by default; `[3]` for down: a repair) its
moded signals re-learn what is normal (`ModedMonitor.relearn`). It is off by default: on
the simulated plant, whose machines break down and are repaired several times a day, the
ranges re-opened after every repair took in overheats that began soon after, and the
false incidents after repairs were gone without it (BENCHMARKS.md).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any

from edge_agent.detectors import Anomaly, DetectorConfig, DetectorError, SignalMonitor
from edge_agent.errors import ConfigError
from edge_agent.incidents import (
    SEVERITY,
    IncidentBook,
    corroboration,
    incident_settings,
    machine_of,
    shift_settings,
)
from edge_agent.modes import ModedMonitor, ModeKey, StateDurations, mode_key
from edge_agent.rise_rate import IncidentFlag
from edge_agent.state_range import RangeSettings
from edge_agent.stay_shift import CLEAR_SHARE, joint_shift, shift_anomaly

log = logging.getLogger("edge_agent")


def _split(settings: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    shared = {k: v for k, v in settings.items() if k not in ("per_signal", "states", "incidents")}
    per_signal = settings.get("per_signal", {})
    if not isinstance(per_signal, dict):
        raise ConfigError("detectors.per_signal", "must be a table of signal tables")
    return shared, per_signal


_STATE_KEYS = {
    "enabled",
    "planned",
    "duration_factor",
    "min_stays",
    "min_duration_s",
    "duration_quantile",
    "relearn_after",
    "relearn_samples",
    "settle_min_s",
    "range_enabled",
    "range_margin",
    "range_learn_samples",
    "range_confirm_samples",
    "rise_enabled",
}


def range_settings(settings: Mapping[str, Any]) -> RangeSettings:
    """The per-state range settings from the `states` table; raises `ConfigError`."""
    raw = settings.get("states", {})
    if not isinstance(raw, dict):
        raise ConfigError("detectors.states", "must be a table")
    enabled = raw.get("range_enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError("detectors.states.range_enabled", "must be true or false")
    rise = raw.get("rise_enabled", True)
    if not isinstance(rise, bool):
        raise ConfigError("detectors.states.rise_enabled", "must be true or false")
    margin = raw.get("range_margin", 0.15)
    if not _number(margin) or not 0.0 <= margin <= 100.0:
        raise ConfigError("detectors.states.range_margin", "must be a number in 0..100")
    planned = raw.get("planned", [0])
    if not isinstance(planned, list):
        raise ConfigError("detectors.states.planned", "must be a list of at most 64 state codes")
    settle = raw.get("settle_min_s", 600.0)
    if not _number(settle) or not 0 <= settle <= 86400:
        raise ConfigError("detectors.states.settle_min_s", "must be a number in 0..86400")
    counts = {}
    for key, default, top in (
        ("range_learn_samples", 1800, 10_000_000),
        ("range_confirm_samples", 5, 100_000),
        ("relearn_samples", 150, 10_000_000),
    ):
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            raise ConfigError(f"detectors.states.{key}", f"must be an integer in 1..{top}")
        counts[key] = value
    return RangeSettings(
        enabled=enabled,
        margin=float(margin),
        learn_samples=counts["range_learn_samples"],
        confirm_samples=counts["range_confirm_samples"],
        relearn_samples=counts["relearn_samples"],
        settle_min_s=float(settle),
        drift_states=frozenset(float(v) for v in planned if _number(v)),
        rise_enabled=rise,
    )


def relearn_states(settings: Mapping[str, Any]) -> frozenset[float]:
    """The state codes after which a machine re-learns its normal (`relearn_after`);
    raises `ConfigError`."""
    raw = settings.get("states", {})
    if not isinstance(raw, dict):
        raise ConfigError("detectors.states", "must be a table")
    codes = raw.get("relearn_after", [])
    if not isinstance(codes, list) or len(codes) > 64 or not all(_number(v) for v in codes):
        raise ConfigError(
            "detectors.states.relearn_after", "must be a list of at most 64 state codes"
        )
    return frozenset(float(v) for v in codes)


def state_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of `StateDurations` from the `states` table (None: switched off);
    raises `ConfigError` naming the bad key."""
    raw = settings.get("states", {})
    if not isinstance(raw, dict):
        raise ConfigError("detectors.states", "must be a table")
    for key in raw:
        if key not in _STATE_KEYS:
            raise ConfigError(f"detectors.states.{key}", "unknown setting")
    planned = raw.get("planned", [0])
    if not isinstance(planned, list) or len(planned) > 64 or not all(_number(v) for v in planned):
        raise ConfigError("detectors.states.planned", "must be a list of at most 64 state codes")
    factor = raw.get("duration_factor", 3.0)
    if not _number(factor) or not 1.0 < factor <= 1000.0:
        raise ConfigError("detectors.states.duration_factor", "must be a number in (1, 1000]")
    quantile = raw.get("duration_quantile", 0.99)
    if not _number(quantile) or not 0.5 <= quantile <= 1.0:
        raise ConfigError("detectors.states.duration_quantile", "must be a number in 0.5..1")
    stays = raw.get("min_stays", 20)
    if isinstance(stays, bool) or not isinstance(stays, int) or not 1 <= stays <= 10_000:
        raise ConfigError("detectors.states.min_stays", "must be an integer in 1..10000")
    min_s = raw.get("min_duration_s", 300.0)
    if not _number(min_s) or not 0 <= min_s <= 30 * 86400:
        raise ConfigError("detectors.states.min_duration_s", "must be a number in 0..2592000")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError("detectors.states.enabled", "must be true or false")
    return {
        "enabled": enabled,
        "planned": frozenset(float(v) for v in planned),
        "factor": float(factor),
        "min_stays": stays,
        "min_s": float(min_s),
        "quantile": float(quantile),
    }


def _number(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


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
    state_settings(settings)
    range_settings(settings)
    relearn_states(settings)
    incident_settings(settings)


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
        units: Mapping[str, str] | None = None,
    ) -> None:
        self._signals = list(signals)
        self._units = dict(units or {})
        self._stepped = stepped & frozenset(signals)
        names = frozenset(signals)
        self._mode_of = {
            s: m for s, m in (modes or {}).items() if s in names and m in names and s != m
        }
        self._mode_signals = frozenset(self._mode_of.values())
        self._modes: dict[str, ModeKey] = {}
        self._families: dict[str, str] = {}
        base, per_signal = build_configs(settings, self._signals, self._stepped)
        ranges = range_settings(settings)
        self.monitors: dict[str, SignalMonitor | ModedMonitor] = {
            s: (
                ModedMonitor(
                    s,
                    per_signal.get(s, base),
                    self._mode_of[s],
                    self._modes,
                    ranges,
                    self._families,
                )
                if s in self._mode_of
                else SignalMonitor(s, per_signal.get(s, base))
            )
            for s in self._signals
        }
        self._moded_by: dict[str, list[ModedMonitor]] = {}
        for monitor in self.monitors.values():
            if isinstance(monitor, ModedMonitor):
                self._moded_by.setdefault(monitor.mode_signal, []).append(monitor)
        self._relearn_after = relearn_states(settings)
        self.durations = self._durations(settings)
        self.incidents = self._incidents(settings)
        self._shift_strong, self._shift_each = self._shifts(settings)
        by_machine: dict[str, list[tuple[str, ModedMonitor]]] = {}
        for name, monitor in self.monitors.items():
            if isinstance(monitor, ModedMonitor):
                by_machine.setdefault(machine_of(name), []).append((name, monitor))
        self._shift_peers = {
            name: (monitor, peers, machine_of(name))
            for peers in by_machine.values()
            if len(peers) > 1
            for name, monitor in peers
        }
        # a stay during an incident is no usual stay (edge_agent.rise_rate): each machine's
        # flag is kept when its incident events are made, not on every sample
        self._incident_flags = {machine: IncidentFlag() for machine in by_machine}
        for machine, moded in by_machine.items():
            for _, monitor in moded:
                monitor.rise.incident = self._incident_flags[machine]
        self._moded_of = by_machine
        self.errors = 0
        self._failed: set[str] = set()

    def _incidents(self, settings: Mapping[str, Any]) -> IncidentBook | None:
        """The incident book (None: per-signal anomalies are published instead)."""
        if not incident_settings(settings):
            return None
        old: IncidentBook | None = getattr(self, "incidents", None)
        if old is not None:
            old.corroborate = corroboration(settings)
            return old
        judged = [s for s in self._signals if s not in self._stepped]
        return IncidentBook(
            self._signals,
            judged=judged,
            units=self._units,
            state_of=self.state_of,
            corroborate=corroboration(settings),
        )

    def _shifts(self, settings: Mapping[str, Any]) -> tuple[float, float]:
        """(strong, each) of the joint stay-shift rule; strong 0 when off (also with
        incidents off: the rule is a machine's, not a signal's)."""
        strong, each = shift_settings(settings)
        return (strong if self.incidents is not None else 0.0), each

    def state_of(self, signal: str) -> ModeKey:
        """The operating state of the machine a signal belongs to (None if unknown)."""
        mode_signal = self._mode_of.get(signal)
        if mode_signal is None:
            machine = machine_of(signal)
            mode_signal = next((m for m in self._mode_signals if machine_of(m) == machine), "")
        return self._modes.get(mode_signal)

    def events(self, anomalies: list[Anomaly]) -> list[dict[str, Any]]:
        """The protocol `Event` fields for anomalies: machine-level incidents, or one event
        per anomaly when incidents are off."""
        if not anomalies:
            return []
        if self.incidents is None:
            return [event_fields(a) for a in anomalies]
        found = self.incidents.feed(anomalies)
        for machine in {machine_of(a.signal) for a in anomalies}:
            flag = self._incident_flags.get(machine)
            if flag is not None:
                flag.open = self.incidents.is_open(machine)
                if flag.open:
                    for _, monitor in self._moded_of[machine]:
                        monitor.rise.excused = True
        return found

    def _durations(self, settings: Mapping[str, Any]) -> dict[str, StateDurations]:
        """One `StateDurations` per state signal (none when switched off)."""
        kwargs = state_settings(settings)
        if not kwargs.pop("enabled"):
            return {}
        old = getattr(self, "durations", {})
        found = {}
        for signal in sorted(self._mode_signals):
            watch = old.get(signal) or StateDurations(signal, **kwargs)
            watch.planned, watch.factor = kwargs["planned"], kwargs["factor"]
            watch.min_stays, watch.min_s = kwargs["min_stays"], kwargs["min_s"]
            watch.quantile = kwargs["quantile"]
            found[signal] = watch
        return found

    def observe_modes(self, values: Iterable[tuple[str, float]]) -> None:
        """Take the current modes from one poll's values, before any is fed (a sample
        belongs to the mode its own poll reports)."""
        if self._mode_signals:
            for name, value in values:
                if name in self._mode_signals:
                    key, old = mode_key(value), self._modes.get(name)
                    if key != old and old in self._relearn_after:
                        for monitor in self._moded_by.get(name, ()):
                            monitor.relearn()
                    self._modes[name] = key

    def observe_family(self, machine: str, family: str) -> None:
        """The product family of the operation `machine` now runs ("" for none): its
        moded signals learn their normal per state and family from its next sample (a
        family's range, until learnt, is judged by its state's over every family)."""
        for mode_signal in self._mode_signals:
            if machine_of(mode_signal) == machine:
                self._families[mode_signal] = family[:64]

    def reconfigure(self, settings: Mapping[str, Any]) -> list[Anomaly]:
        """Apply new settings live (learnt state kept); returns anomalies cleared by it."""
        base, per_signal = build_configs(settings, self._signals, self._stepped)
        durations = self._durations(settings)
        ranges = range_settings(settings)
        self._relearn_after = relearn_states(settings)
        cleared: list[Anomaly] = []
        for name, monitor in self.monitors.items():
            cleared += monitor.reconfigure(per_signal.get(name, base))
            if isinstance(monitor, ModedMonitor) and monitor.range_settings != ranges:
                cleared += monitor.set_ranges(ranges, self._last_ts(name))
        for name, watch in self.durations.items():
            if name not in durations and watch.raised:
                watch.raised = False
                cleared.append(watch.cleared(self._last_ts(name), "detector switched off"))
        self.durations = durations
        self.incidents = self._incidents(settings)
        self._shift_strong, self._shift_each = self._shifts(settings)
        if not self._shift_strong:
            for name, (monitor, _, _) in self._shift_peers.items():
                if monitor.shift.raised:
                    monitor.shift.raised = False
                    cleared.append(self._shift_change(name, monitor, "cleared", "switched off"))
        return cleared

    def _last_ts(self, signal: str) -> int:
        monitor = self.monitors[signal]
        last = monitor.last_ts_ms
        return last if last is not None else 0

    def update(self, signal: str, ts_ms: int, value: float) -> list[Anomaly]:
        """Feed one raw sample of a known signal.

        A detector failure must never stop data collection: the error is counted in
        `errors`, logged once per signal, and the sample still goes on to telemetry.
        """
        monitor = self.monitors.get(signal)
        if monitor is None:
            return []
        try:
            found = monitor.update(ts_ms, value)
            watch = self.durations.get(signal)
            if watch is not None:
                found += watch.update(ts_ms, value)
            if self._shift_strong:
                peer = self._shift_peers.get(signal)
                if peer is not None:
                    monitor_, peers, machine = peer
                    if self.incidents is not None and self.incidents.is_open(machine):
                        monitor_.shift.excused = True
                    found += self._joint(signal, monitor_, peers)
            return found
        except Exception:
            self.errors += 1
            if signal not in self._failed:
                self._failed.add(signal)
                log.exception("detector failed on signal %s; data collection continues", signal)
            return []

    def _joint(
        self, signal: str, monitor: ModedMonitor, peers: list[tuple[str, ModedMonitor]]
    ) -> list[Anomaly]:
        """The joint stay-shift rule after a sample of `signal` (`edge_agent.stay_shift`)."""
        shift, each = monitor.shift, self._shift_each
        if shift.raised:
            if shift.z * shift.direction < CLEAR_SHARE * each:
                shift.raised = False
                return [self._shift_change(signal, monitor, "cleared")]
            return []
        if -each < shift.z < each:
            return []
        found = []
        pairs = [(name, peer.shift) for name, peer in peers]
        for name in joint_shift(pairs, strong=self._shift_strong, each=each):
            peer = next(p for n, p in peers if n == name)
            if not peer.shift.raised:
                peer.shift.raised = True
                peer.shift.direction = 1.0 if peer.shift.z > 0.0 else -1.0
                found.append(self._shift_change(name, peer, "raised"))
        return found

    def _shift_change(
        self,
        signal: str,
        monitor: ModedMonitor,
        state: str,
        why: str = "back near its level at the start of the stay",
    ) -> Anomaly:
        window = monitor.always.recent_values()
        return shift_anomaly(
            signal, monitor.shift, state, self._last_ts(signal), window, self._shift_each, why
        )

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
        "severity": SEVERITY.get(anomaly.detector, "INDETERMINATE"),
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
