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
can no longer be judged), and the new mode's monitor is not fed for the configuration's
`settle_s`: the spin-up, warm-up or run-down after a start, a changeover or a stop is
neither learnt as that mode's normal nor raised as an anomaly. A stuck sensor is stuck
whatever the mode: the flatline detector runs in the every-mode monitor. A mode seen for the first
time warms up like a new signal. At most `MAX_MODES` mode values get a monitor of their
own; further ones share one.

`StateDurations` judges the mode signal itself: it learns how long each state usually lasts
and raises `state_duration` when the machine stays in one far longer than it ever does
(planned states, such as idle, are exempt: a long idle night is planned downtime).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Final, Literal

from edge_agent.detectors import Anomaly, DetectorConfig, SignalMonitor
from edge_agent.state_range import RangeChange, RangeSettings, StateRange

MAX_MODES: Final = 8
_STATISTICAL_OFF: Final = {
    "baseline": {"enabled": False},
    "rate_of_change": {"enabled": False},
}
_EVERY_MODE_OFF: Final = {
    "out_of_range": {"min_value": None, "max_value": None},
    "missing": {"enabled": False},
    "flatline": {"enabled": False},
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
        self,
        signal: str,
        config: DetectorConfig,
        mode_signal: str,
        modes: dict[str, ModeKey],
        ranges: RangeSettings | None = None,
    ) -> None:
        self.signal = signal
        self.mode_signal = mode_signal
        self._modes = modes
        self._config = config
        self.range_settings = ranges if ranges is not None else RangeSettings()
        self.ranges: dict[ModeKey, StateRange] = {}
        self._range: StateRange | None = None
        self.mode: ModeKey = None
        self.always = SignalMonitor(signal, config.merged(_STATISTICAL_OFF))
        self.per_mode: dict[ModeKey, SignalMonitor] = {}
        self._current: SignalMonitor | None = None
        self._settle_until_ms = 0
        self._resume = False

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
        mode = self._modes.get(self.mode_signal)
        monitor = self._monitor(mode)
        if self.range_settings.enabled:
            found += self._judge_range(mode, ts_ms, value)
        if monitor is not self._current:
            if self._current is not None:
                found += _release(self._current, ts_ms)
            self._current = monitor
            self._settle_until_ms = ts_ms + round(self._config.settle_s * 1000.0)
            self._resume = True
        if ts_ms < self._settle_until_ms:
            self._resume = True
            return found  # settling after a change of mode
        if self._resume:
            self._resume = False
            monitor.resume(value)
        return found + monitor.update(ts_ms, value)

    @property
    def score(self) -> float:
        """The last sample's highest score relative to its raise threshold (see
        `SignalMonitor.score`), over the every-mode monitor and the current mode's."""
        current = self._current.score if self._current is not None and not self.settling else 0.0
        return max(self.always.score, current)

    @property
    def last_ts_ms(self) -> int | None:
        """The last sample's timestamp."""
        return self.always.last_ts_ms

    @property
    def settling(self) -> bool:
        """Whether the signal is settling after a change of mode (statistics paused)."""
        last = self.always.last_ts_ms
        return last is not None and last < self._settle_until_ms

    def _judge_range(self, mode: ModeKey, ts_ms: int, value: float) -> list[Anomaly]:
        """The value against the current mode's learnt range (see `edge_agent.state_range`)."""
        found = []
        if mode != self.mode or self._range is None:
            if self._range is not None:
                change = self._range.release()
                if change is not None:
                    found.append(self._range_anomaly(change, ts_ms, "operating mode changed"))
            self.mode = mode
            key = mode if mode in self.ranges or len(self.ranges) < MAX_MODES else None
            self._range = self.ranges.setdefault(key, StateRange(self.range_settings))
        current = self.per_mode.get(mode)
        noise = current.typical_step if current is not None else 0.0
        change = self._range.update(value, noise, self._config.sensitivity)
        if change is not None:
            found.append(self._range_anomaly(change, ts_ms, ""))
        return found

    def _range_anomaly(self, change: RangeChange, ts_ms: int, why: str) -> Anomaly:
        current = self.per_mode.get(self.mode)
        noise = current.typical_step if current is not None else 0.0
        width = change.high - change.low
        limit = max(self.range_settings.margin * width, self.range_settings.noise_margin * noise)
        limit /= self._config.sensitivity
        score = abs(change.excess) / limit if limit > 0.0 else 1.0
        where = "above" if change.excess > 0 else "below"
        if change.state == "cleared":
            reason = why or "back inside its normal range"
        else:
            reason = (
                f"{abs(change.excess):.4g} {where} its normal range {change.low:.4g}"
                f"..{change.high:.4g} in state {_code(self.mode)}"
            )
        return Anomaly(
            signal=self.signal,
            detector="state_range",
            state=change.state,
            score=score if change.state == "raised" else 0.0,
            window=self.always.recent_values(),
            reason=reason,
            ts_ms=ts_ms,
            low=change.low,
            high=change.high,
        )

    def normal_range(self) -> tuple[float, float] | None:
        """(low, high) of the current mode's learnt range, once it is learnt."""
        r = self._range
        return (r.low, r.high) if r is not None and r.learnt else None

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

    def set_ranges(self, settings: RangeSettings, ts_ms: int) -> list[Anomaly]:
        """Apply new range settings, keeping what the ranges learnt; a raise is cleared."""
        self.range_settings = settings
        cleared = []
        for state_range in self.ranges.values():
            state_range.settings = settings
            change = state_range.release()
            if change is not None:
                cleared.append(self._range_anomaly(change, ts_ms, "settings changed"))
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


class StateDurations:
    """How long a state signal's states usually last, and a stay far longer than that.

    Each finished stay in a state updates that state's longest recent stay, a peak that
    decays by `DECAY_PER_STAY` with every further stay in that state (so one long stay long
    ago does not blind it for ever, and a rare state keeps what it learnt). After `min_stays` stays of a state, a stay longer than `factor` times
    that peak (and than `min_s`) raises `state_duration` once; leaving the state clears it.
    States in `planned` (idle, planned downtime) are never judged.
    """

    DECAY_PER_STAY: Final = 0.98

    def __init__(
        self,
        signal: str,
        *,
        planned: frozenset[float] = frozenset({0.0}),
        factor: float = 3.0,
        min_stays: int = 5,
        min_s: float = 300.0,
    ) -> None:
        self.signal = signal
        self.planned = planned
        self.factor = factor
        self.min_stays = min_stays
        self.min_s = min_s
        self.state: ModeKey = None
        self.since_ms = 0
        self.longest_ms: dict[ModeKey, float] = {}
        self.stays: dict[ModeKey, int] = {}
        self.raised = False

    def usual_ms(self, state: ModeKey) -> float | None:
        """The longest recent stay in `state`, once enough stays have been seen."""
        if self.stays.get(state, 0) < self.min_stays:
            return None
        return self.longest_ms.get(state)

    def update(self, ts_ms: int, value: float) -> list[Anomaly]:
        """Feed one reading of the state signal; returns a raise or clear (usually none)."""
        key = mode_key(value)
        found: list[Anomaly] = []
        if key != self.state:
            if self.state is not None:
                stay = float(ts_ms - self.since_ms)
                longest = self.longest_ms.get(self.state, 0.0) * self.DECAY_PER_STAY
                self.longest_ms[self.state] = max(longest, stay)
                self.stays[self.state] = self.stays.get(self.state, 0) + 1
            if self.raised:
                self.raised = False
                found.append(self.cleared(ts_ms, "the state changed"))
            self.state = key
            self.since_ms = ts_ms
            return found
        usual = self.usual_ms(key)
        if self.raised or key in self.planned or usual is None:
            return found
        elapsed = ts_ms - self.since_ms
        limit = max(self.factor * usual, self.min_s * 1000.0)
        if elapsed > limit:
            self.raised = True
            reason = (
                f"in state {_code(key)} for {elapsed / 60000.0:.0f} min,"
                f" {elapsed / usual:.1f} times its longest usual stay ({usual / 60000.0:.0f} min)"
            )
            found.append(self._anomaly("raised", elapsed / limit, ts_ms, reason))
        return found

    def cleared(self, ts_ms: int, reason: str) -> Anomaly:
        """The clear of a raised stay (its state left, or the watch switched off)."""
        return self._anomaly("cleared", 0.0, ts_ms, reason)

    def _anomaly(
        self, state: Literal["raised", "cleared"], score: float, ts_ms: int, reason: str
    ) -> Anomaly:
        value = self.state if self.state is not None else math.nan
        return Anomaly(
            signal=self.signal,
            detector="state_duration",
            state=state,
            score=score,
            window=(value,),
            reason=reason,
            ts_ms=ts_ms,
        )


def _code(key: ModeKey) -> str:
    return "?" if key is None else f"{key:g}"


def _release(monitor: SignalMonitor, ts_ms: int) -> list[Anomaly]:
    """Clear whatever `monitor` has raised (its mode was left), keeping what it learnt."""
    if not monitor.alerting:
        return []
    config = monitor.config
    cleared = monitor.reconfigure(config.merged(_STATISTICAL_OFF))
    monitor.reconfigure(config)
    return [dataclasses.replace(a, reason="operating mode changed", ts_ms=ts_ms) for a in cleared]


__all__ = ["MAX_MODES", "ModeKey", "ModedMonitor", "StateDurations", "mode_key"]
