"""`SignalMonitor`: every detector chained on one signal, with warm-up and hysteresis.

Pure and sans-I/O: feed it `(ts_ms, value)` samples and it returns the anomalies raised or
cleared on that sample. Memory and time per sample are O(1) (fixed-size buffers only).
"""

from __future__ import annotations

import math

from edge_agent.detectors.anomaly import Anomaly, AnomalyState
from edge_agent.detectors.baseline import BaselineDetector, half_life_alpha
from edge_agent.detectors.config import DetectorConfig, OutOfRangeConfig
from edge_agent.detectors.errors import DetectorInputError
from edge_agent.detectors.flatline import FlatlineDetector
from edge_agent.detectors.latch import CLEARED, RAISED, Latch
from edge_agent.detectors.rate import RateOfChangeDetector
from edge_agent.detectors.reasons import describe

# Values beyond this magnitude (and NaN, ±inf) are reported as out of range and never learnt
# from, so sums and differences of learnt values stay finite.
MAX_ABS_VALUE = 1e150
# Intervals longer than this many typical intervals are not learnt from (they are gaps).
_INTERVAL_CLIP = 3.0
_INTERVAL_HALF_LIFE_ALPHA = 0.05


def learnable(x: float) -> bool:
    """Whether a value is finite and small enough (|x| <= 1e150) for the running estimates."""
    return -MAX_ABS_VALUE <= x <= MAX_ABS_VALUE


def out_of_range_score(x: float, limits: OutOfRangeConfig) -> float:
    """0 inside the limits; 1 plus the relative excess outside them; 1 for unusable values."""
    if not learnable(x):
        return 1.0
    if limits.max_value is not None and x > limits.max_value:
        return 1.0 + (x - limits.max_value) / (abs(limits.max_value) + 1.0)
    if limits.min_value is not None and x < limits.min_value:
        return 1.0 + (limits.min_value - x) / (abs(limits.min_value) + 1.0)
    return 0.0


class SignalMonitor:
    """Runs the baseline, rate-of-change, flatline, out-of-range and missing-data detectors.

    Samples with a timestamp not after the previous one are dropped and counted in
    `dropped_samples`; a non-finite value raises `out_of_range` and is not learnt from.
    `score` is the last sample's highest score relative to its detector's raise threshold
    (1.0 = at the threshold), `active` the detectors currently raised.
    """

    def __init__(self, signal: str, config: DetectorConfig | None = None) -> None:
        self.signal = signal
        self._config = config if config is not None else DetectorConfig()
        cfg = self._config
        self._baseline = BaselineDetector(cfg.baseline)
        self._rate = RateOfChangeDetector(cfg.rate_of_change)
        self._flatline = FlatlineDetector(cfg.flatline)
        self._latches = {
            "baseline": Latch(),
            "rate_of_change": Latch(),
            "flatline": Latch(),
            "out_of_range": Latch(),
            "missing": Latch(),
        }
        self._window: list[float] = [math.nan] * cfg.window_samples
        self._window_pos = 0
        self._window_len = 0
        self.samples = 0
        self.dropped_samples = 0
        self.last_ts_ms: int | None = None
        self.typical_interval_ms = 0.0
        self._intervals = 0
        self._gap_peak_ms = 0.0
        self.score = 0.0

    @property
    def config(self) -> DetectorConfig:
        """The configuration in force."""
        return self._config

    @property
    def active(self) -> frozenset[str]:
        """Names of the detectors currently raised on this signal."""
        return frozenset(name for name, latch in self._latches.items() if latch.active)

    @property
    def alerting(self) -> bool:
        """True while at least one detector is raised on this signal."""
        return any(latch.active for latch in self._latches.values())

    def reconfigure(self, config: DetectorConfig) -> list[Anomaly]:
        """Apply a new configuration live, keeping what has been learnt.

        Detectors switched off while raised are cleared; those anomalies are returned.
        """
        self._config = config
        self._baseline.configure(config.baseline)
        self._rate.configure(config.rate_of_change)
        self._flatline.configure(config.flatline)
        if len(self._window) != config.window_samples:
            recent = self.recent_values()[-config.window_samples :]
            self._window = [math.nan] * config.window_samples
            self._window_pos = 0
            self._window_len = 0
            for value in recent:
                self._remember(value)
        switched_off = {
            "baseline": not config.baseline.enabled,
            "rate_of_change": not config.rate_of_change.enabled,
            "flatline": not config.flatline.enabled,
            "missing": not config.missing.enabled,
        }
        cleared = []
        for name, off in switched_off.items():
            latch = self._latches[name]
            if off and latch.active:
                latch.reset()
                ts = self.last_ts_ms if self.last_ts_ms is not None else 0
                cleared.append(self._anomaly(name, "cleared", 0.0, ts, "detector switched off"))
        return cleared

    def recent_values(self) -> tuple[float, ...]:
        """The last `window_samples` values, oldest first."""
        size = len(self._window)
        if self._window_len < size:
            return tuple(self._window[: self._window_len])
        pos = self._window_pos
        return tuple(self._window[pos:] + self._window[:pos])

    def _remember(self, value: float) -> None:
        pos = self._window_pos
        self._window[pos] = value
        pos += 1
        self._window_pos = pos if pos < len(self._window) else 0
        if self._window_len < len(self._window):
            self._window_len += 1

    def _anomaly(
        self, detector: str, state: AnomalyState, score: float, ts_ms: int, reason: str
    ) -> Anomaly:
        return Anomaly(
            signal=self.signal,
            detector=detector,
            state=state,
            score=score,
            window=self.recent_values(),
            reason=reason,
            ts_ms=ts_ms,
        )

    def _gap_limit_ms(self) -> float | None:
        cfg = self._config.missing
        if cfg.max_gap_ms is not None:
            return float(max(cfg.max_gap_ms, cfg.min_gap_ms))
        if self._intervals < 2 or self.samples <= self._config.warmup_samples:
            return None
        return max(
            float(cfg.min_gap_ms),
            cfg.gap_factor * self.typical_interval_ms,
            cfg.novelty_ratio * self._gap_peak_ms,
        )

    def check_missing(self, now_ms: int) -> list[Anomaly]:
        """Raise `missing` if no sample has arrived for longer than the gap limit by `now_ms`.

        Call it periodically (e.g. once a second); the anomaly clears once samples flow
        again at the normal rate.
        """
        if isinstance(now_ms, bool) or not isinstance(now_ms, int):
            raise DetectorInputError(self.signal, f"now_ms must be an integer, got {now_ms!r}")
        if not self._config.missing.enabled or self.last_ts_ms is None:
            return []
        limit = self._gap_limit_ms()
        latch = self._latches["missing"]
        gap = now_ms - self.last_ts_ms
        if limit is None or latch.active or gap <= limit:
            return []
        latch.feed(gap / limit, 1.0, 1.0, self._config.clear_after_samples)
        reason = describe("missing", gap_ms=gap, limit_ms=limit, score=gap / limit)
        return [self._anomaly("missing", "raised", gap / limit, now_ms, reason)]

    def _learn_interval(self, dt_ms: int) -> None:
        self._intervals += 1
        decay = 1.0 - half_life_alpha(self._config.missing.peak_half_life_samples)
        self._gap_peak_ms = max(self._gap_peak_ms * decay, float(dt_ms))
        typical = self.typical_interval_ms
        if self._intervals == 1:
            self.typical_interval_ms = float(dt_ms)
        elif self._intervals <= 10:
            self.typical_interval_ms = (
                typical + (min(dt_ms, 10 * typical) - typical) / self._intervals
            )
        else:
            clipped = min(float(dt_ms), _INTERVAL_CLIP * typical)
            self.typical_interval_ms = typical + _INTERVAL_HALF_LIFE_ALPHA * (clipped - typical)

    def update(self, ts_ms: int, value: float) -> list[Anomaly]:
        """Feed one sample; returns the anomalies raised or cleared by it (usually none)."""
        if isinstance(ts_ms, bool) or not isinstance(ts_ms, int):
            raise DetectorInputError(self.signal, f"timestamp must be an integer, got {ts_ms!r}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DetectorInputError(self.signal, f"value must be a number, got {value!r}")
        try:
            x = float(value)
        except OverflowError:
            x = math.inf if value > 0 else -math.inf
        last_ts = self.last_ts_ms
        if last_ts is not None and ts_ms <= last_ts:
            self.dropped_samples += 1
            return []
        self.last_ts_ms = ts_ms
        self.samples += 1
        self._remember(x)
        cfg = self._config
        clear_after = cfg.clear_after_samples
        events: list[Anomaly] = []
        best = 0.0

        # missing data: the gap before this sample
        dt_ms = 0 if last_ts is None else ts_ms - last_ts
        if cfg.missing.enabled and last_ts is not None:
            limit = self._gap_limit_ms()
            gap_score = 0.0 if limit is None or limit <= 0 else dt_ms / limit
            self._learn_interval(dt_ms)
            best = self._feed(
                events, "missing", gap_score, 1.0, 1.0, clear_after, ts_ms, dt_ms=dt_ms
            )

        # out of range (non-finite values included)
        range_score = out_of_range_score(x, cfg.out_of_range)
        best = max(
            best,
            self._feed(events, "out_of_range", range_score, 1.0, 1.0, clear_after, ts_ms, value=x),
        )
        if not learnable(x):
            self.score = best
            return events

        warm = self.samples > cfg.warmup_samples
        bcfg = cfg.baseline
        if bcfg.enabled:
            s = self._baseline.step(x)
            if warm:
                r = self._feed(
                    events,
                    "baseline",
                    s,
                    max(bcfg.raise_score, self._baseline.gate),
                    bcfg.clear_score,
                    clear_after,
                    ts_ms,
                    value=x,
                )
                best = max(best, r)
        rcfg = cfg.rate_of_change
        if rcfg.enabled:
            s = self._rate.step(x, dt_ms)
            if warm:
                r = self._feed(
                    events,
                    "rate_of_change",
                    s,
                    max(rcfg.raise_score, self._rate.gate),
                    rcfg.clear_score,
                    clear_after,
                    ts_ms,
                    value=x,
                )
                best = max(best, r)
        if cfg.flatline.enabled:
            s = self._flatline.step(x)
            if warm:
                r = self._feed(events, "flatline", s, 1.0, 1.0, clear_after, ts_ms, value=x)
                best = max(best, r)
        self.score = best
        return events

    def _feed(
        self,
        events: list[Anomaly],
        name: str,
        score: float,
        raise_at: float,
        clear_at: float,
        clear_after: int,
        ts_ms: int,
        *,
        value: float = math.nan,
        dt_ms: int = 0,
    ) -> float:
        """Run one detector's latch; append any transition; return score / raise_at."""
        change = self._latches[name].feed(score, raise_at, clear_at, clear_after)
        if change == RAISED:
            reason = self._reason(name, score, value, dt_ms)
            events.append(self._anomaly(name, "raised", score, ts_ms, reason))
        elif change == CLEARED:
            events.append(self._anomaly(name, "cleared", score, ts_ms, f"{name} back to normal"))
        return score / raise_at

    def _reason(self, name: str, score: float, value: float, dt_ms: int) -> str:
        return describe(
            name,
            score=score,
            value=value,
            level=self._baseline.level,
            spread=self._baseline.spread,
            typical_step=self._rate.typical_step,
            run=self._flatline.run,
            gap_ms=dt_ms,
            limit_ms=self._gap_limit_ms() or 0.0,
            config=self._config,
        )
