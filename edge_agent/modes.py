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

`StateDurations` judges the mode signal itself: it learns how long the stays in each state
last (a distribution) and raises `state_duration` when the machine stays in one far longer
than nearly all of them (planned states, such as idle, are exempt: a long idle night is
planned downtime).

Each moded signal also keeps its rate of rise against the state's usual at its level
(`RiseRate`, `edge_agent.rise_rate`; `rise_enabled` in the range settings), measured from
each stay's first sample.

`relearn` (called by `DetectorBank` when a machine leaves a `relearn_after` state) forgets what
the statistical detectors learnt per mode and re-opens the ranges' learning: worn parts
replaced change what is normal.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Final, Literal

from edge_agent.detectors import Anomaly, DetectorConfig, SignalMonitor
from edge_agent.rise_rate import RiseRate, rise_anomaly
from edge_agent.state_range import RangeChange, RangeSettings, StateRange
from edge_agent.stay_shift import StayShift, shift_anomaly

MAX_MODES: Final = 16
_MODE_CHANGED: Final = "operating mode changed"
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
StateKey = tuple[ModeKey, str]
"""What a moded signal's normal is learnt per: the mode and the product family of the
machine's running operation ("" when unknown)."""
_OVERFLOW: Final[StateKey] = (None, "")


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
        families: dict[str, str] | None = None,
    ) -> None:
        self.signal = signal
        self.mode_signal = mode_signal
        self._modes = modes
        self._families = families if families is not None else {}
        self._config = config
        self.range_settings = ranges if ranges is not None else RangeSettings()
        self.ranges: dict[StateKey, StateRange] = {}
        self._range: StateRange | None = None
        self._fallback: StateRange | None = None  # the mode's range, while the family's learns
        self.mode: ModeKey = None
        self._key: StateKey | None = None
        self.always = SignalMonitor(signal, config.merged(_STATISTICAL_OFF))
        self.per_mode: dict[StateKey, SignalMonitor] = {}
        self._current: SignalMonitor | None = None
        self.shift = StayShift()
        self.rise = RiseRate()
        self._settle_until_ms = 0
        self._resume = False
        self._relearn = False

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
        if self._relearn:
            self._relearn = False
            found += self._forget(ts_ms)
        key = (self._modes.get(self.mode_signal), self._families.get(self.mode_signal, ""))
        monitor = self._monitor(key)
        if self.range_settings.enabled:
            found += self._judge_range(key, ts_ms, value)
        if monitor is not self._current:
            if self._current is not None:
                found += _release(self._current, ts_ms)
            self._current = monitor
            self._settle_until_ms = ts_ms + round(self._config.settle_s * 1000.0)
            self._resume = True
            if self.shift.enter(key, MAX_MODES):
                window = self.always.recent_values()
                found.append(
                    shift_anomaly(
                        self.signal, self.shift, "cleared", ts_ms, window, 1.0, _MODE_CHANGED
                    )
                )
            if self.rise.enter(key, MAX_MODES):
                window = self.always.recent_values()
                found.append(
                    rise_anomaly(self.signal, self.rise, "cleared", ts_ms, window, _MODE_CHANGED)
                )
        # the shift within the stay is measured from its first sample: whether a signal
        # settles after a change of mode is for its learnt usual shifts to tell
        self.shift.update(value, monitor.typical_step)
        if self.range_settings.rise_enabled:
            # the rate of rise against the state's usual at its level (edge_agent.rise_rate)
            change = self.rise.update(ts_ms, value, self._range)
            if change is not None:
                window = self.always.recent_values()
                found.append(rise_anomaly(self.signal, self.rise, change, ts_ms, window))
        if ts_ms < self._settle_until_ms:
            self._resume = True
            return found  # settling after a change of mode
        if self._resume:
            self._resume = False
            monitor.resume(value)
        return found + monitor.update(ts_ms, value)

    def relearn(self) -> None:
        """Re-learn what is normal from the next sample on: the per-mode statistics start
        afresh and the ranges re-open their learning (after a repair)."""
        self._relearn = True

    def _forget(self, ts_ms: int) -> list[Anomaly]:
        found = _release(self._current, ts_ms) if self._current is not None else []
        self.per_mode.clear()
        self._current = None
        for state_range in self.ranges.values():
            change = state_range.relearn()
            if change is not None:
                found.append(self._range_anomaly(change, ts_ms, "re-learning after a repair"))
        return found

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

    def _judge_range(self, key: StateKey, ts_ms: int, value: float) -> list[Anomaly]:
        """The value against the learnt range of the current mode and family (see
        `edge_agent.state_range`); while a family's own range is still learning, the
        mode's range (learnt over every family) judges."""
        found = []
        if key != self._key or self._range is None:
            for old in (self._range, self._fallback):
                change = old.release() if old is not None else None
                if change is not None:
                    found.append(self._range_anomaly(change, ts_ms, "operating mode changed"))
            self.mode, self._key = key[0], key
            window = self.always.recent_values()
            previous = window[-2] if len(window) > 1 else math.nan
            follows = key[0] in self.range_settings.drift_states
            self._range = self._range_for(key)
            self._range.enter(previous, follows=follows)
            self._fallback = self._range_for((key[0], "")) if key[1] else None
            if self._fallback is not None:
                self._fallback.enter(previous, follows=follows)
        current = self.per_mode.get(key)
        noise = current.typical_step if current is not None else 0.0
        sensitivity = self._config.sensitivity
        change = self._range.update(value, noise, sensitivity, ts_ms)
        fallback = self._fallback
        if fallback is not None:
            if not self._range.learnt:
                change = fallback.update(value, noise, sensitivity, ts_ms)
            elif change is None:
                change = fallback.release()  # the family's own range takes over
        if change is not None:
            found.append(self._range_anomaly(change, ts_ms, ""))
        return found

    def _range_for(self, key: StateKey) -> StateRange:
        if key not in self.ranges and len(self.ranges) >= MAX_MODES:
            key = _OVERFLOW
        return self.ranges.setdefault(key, StateRange(self.range_settings))

    def _range_anomaly(self, change: RangeChange, ts_ms: int, why: str) -> Anomaly:
        current = self.per_mode.get(self._key) if self._key is not None else None
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
                f"..{change.high:.4g} in state {_code(self.mode)}{_family(self._key)}"
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
        if self.rise.raised and not settings.rise_enabled:
            self.rise.raised = False
            window = self.always.recent_values()
            cleared.append(
                rise_anomaly(self.signal, self.rise, "cleared", ts_ms, window, "switched off")
            )
        return cleared

    def _monitor(self, key: StateKey) -> SignalMonitor:
        monitor = self.per_mode.get(key)
        if monitor is None:
            if len(self.per_mode) >= MAX_MODES:
                key = _OVERFLOW
                monitor = self.per_mode.get(key)
            if monitor is None:
                monitor = SignalMonitor(self.signal, self._config.merged(_EVERY_MODE_OFF))
                self.per_mode[key] = monitor
        return monitor


class StayDistribution:
    """How long the stays in one state last: a histogram on a log scale (`BINS_PER_OCTAVE`
    bins an octave from 1 s to about 48 days), each stay's weight decaying by `DECAY` with
    every later stay, so the distribution follows a plant that changes and a rare state
    keeps what it learnt. O(BINS) memory, O(BINS) time per stay (stays are rare)."""

    BINS_PER_OCTAVE: Final = 4
    BINS: Final = 4 * 22
    DECAY: Final = 0.99
    __slots__ = ("stays", "total", "weights")

    def __init__(self) -> None:
        self.weights = [0.0] * self.BINS
        self.total = 0.0
        self.stays = 0

    def add(self, stay_ms: float) -> None:
        """Count one finished stay."""
        decay = self.DECAY
        self.weights = [w * decay for w in self.weights]
        seconds = stay_ms / 1000.0
        index = 0 if seconds <= 1.0 else int(math.log2(seconds) * self.BINS_PER_OCTAVE) + 1
        self.weights[min(index, self.BINS - 1)] += 1.0
        self.total = self.total * decay + 1.0
        self.stays += 1

    def quantile_ms(self, q: float) -> float:
        """The stay length that a share `q` of the (weighted) stays do not exceed: the
        upper edge of its bin (at most a fifth above the true value)."""
        need = q * self.total
        seen = 0.0
        for index, weight in enumerate(self.weights):
            seen += weight
            if seen >= need and weight > 0.0:
                return 1000.0 * math.pow(2.0, index / self.BINS_PER_OCTAVE)
        return 1000.0 * math.pow(2.0, (self.BINS - 1) / self.BINS_PER_OCTAVE)


class StateDurations:
    """How long a state signal's states usually last, and a stay far longer than that.

    Each finished stay in a state is counted in that state's `StayDistribution`. After
    `min_stays` stays of a state, a stay longer than `factor` times the state's `quantile`
    of stay lengths (the 99th percentile by default: a learnt distribution, not the longest
    stay, so a long-tailed state such as a repair is judged by its tail) and than `min_s`
    raises `state_duration` once; leaving the state clears it. States in `planned` (idle,
    planned downtime) are never judged.
    """

    def __init__(
        self,
        signal: str,
        *,
        planned: frozenset[float] = frozenset({0.0}),
        factor: float = 3.0,
        min_stays: int = 20,
        min_s: float = 300.0,
        quantile: float = 0.99,
    ) -> None:
        self.signal = signal
        self.planned = planned
        self.factor = factor
        self.min_stays = min_stays
        self.min_s = min_s
        self.quantile = quantile
        self.state: ModeKey = None
        self.since_ms = 0
        self.stays: dict[ModeKey, StayDistribution] = {}
        self._usual: float | None = None  # the current state's usual stay, taken at its start
        self.raised = False

    def usual_ms(self, state: ModeKey) -> float | None:
        """The `quantile` of the stays in `state`, once `min_stays` have been seen."""
        found = self.stays.get(state)
        if found is None or found.stays < self.min_stays:
            return None
        return found.quantile_ms(self.quantile)

    def update(self, ts_ms: int, value: float) -> list[Anomaly]:
        """Feed one reading of the state signal; returns a raise or clear (usually none)."""
        key = mode_key(value)
        found: list[Anomaly] = []
        if key != self.state:
            if self.state is not None:
                if self.state not in self.stays and len(self.stays) >= MAX_MODES:
                    self.stays.pop(next(iter(self.stays)))
                stays = self.stays.setdefault(self.state, StayDistribution())
                stays.add(float(ts_ms - self.since_ms))
            if self.raised:
                self.raised = False
                found.append(self.cleared(ts_ms, "the state changed"))
            self.state = key
            self.since_ms = ts_ms
            self._usual = self.usual_ms(key)  # once a stay: the quantile walks the bins
            return found
        usual = self._usual
        if self.raised or key in self.planned or usual is None:
            return found
        elapsed = ts_ms - self.since_ms
        limit = max(self.factor * usual, self.min_s * 1000.0)
        if elapsed > limit:
            self.raised = True
            reason = (
                f"in state {_code(key)} for {elapsed / 60000.0:.0f} min,"
                f" {elapsed / usual:.1f} times as long as {self.quantile:.0%} of its stays"
                f" ({usual / 60000.0:.0f} min)"
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


def _family(key: StateKey | None) -> str:
    return f" making {key[1]}" if key is not None and key[1] else ""


def _release(monitor: SignalMonitor, ts_ms: int) -> list[Anomaly]:
    """Clear whatever `monitor` has raised (its mode was left), keeping what it learnt."""
    if not monitor.alerting:
        return []
    config = monitor.config
    cleared = monitor.reconfigure(config.merged(_STATISTICAL_OFF))
    monitor.reconfigure(config)
    return [dataclasses.replace(a, reason="operating mode changed", ts_ms=ts_ms) for a in cleared]


__all__ = [
    "MAX_MODES",
    "ModeKey",
    "ModedMonitor",
    "StateDurations",
    "StayDistribution",
    "mode_key",
]
