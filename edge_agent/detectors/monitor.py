"""`SignalMonitor`: every detector chained on one signal, with warm-up and hysteresis.

Pure and sans-I/O: feed it `(ts_ms, value)` samples and it returns the anomalies raised or
cleared on that sample. Memory and time per sample are O(1) (fixed-size buffers only).
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque

from edge_agent.detectors.anomaly import Anomaly, AnomalyState
from edge_agent.detectors.baseline import MAX_SCORE, BaselineDetector
from edge_agent.detectors.config import DetectorConfig, OutOfRangeConfig
from edge_agent.detectors.errors import DetectorInputError
from edge_agent.detectors.flatline import LONGEST_RUN_DECAY, FlatlineDetector
from edge_agent.detectors.latch import RAISED, Latch
from edge_agent.detectors.missing import (
    INTERVAL_ALPHA,
    INTERVAL_CLIP,
    START_INTERVALS,
    MissingDataDetector,
)
from edge_agent.detectors.novelty import raised_peak
from edge_agent.detectors.rate import (
    CLIP_STEPS,
    CLIPPED_AFTER,
    FLOOR_ABS,
    FLOOR_REL,
    RateOfChangeDetector,
)
from edge_agent.detectors.reasons import describe

# Values beyond this magnitude (and NaN, ±inf) are reported as out of range and never learnt
# from, so sums and differences of learnt values stay finite.
MAX_ABS_VALUE = 1e150
_LOWEST_VALUE = -MAX_ABS_VALUE


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
        given = config if config is not None else DetectorConfig()
        cfg = given.judged()
        gap = cfg.clear_after_samples
        self._baseline = BaselineDetector(
            cfg.baseline, warmup_samples=cfg.warmup_samples, incident_gap_samples=gap
        )
        self._rate = RateOfChangeDetector(cfg.rate_of_change, warmup_samples=cfg.warmup_samples)
        self._flatline = FlatlineDetector(cfg.flatline)
        self._missing = MissingDataDetector(cfg.missing)
        self._b_latch = Latch()
        self._r_latch = Latch()
        self._f_latch = Latch()
        self._o_latch = Latch()
        self._m_latch = Latch()
        self._latches = {
            "baseline": self._b_latch,
            "rate_of_change": self._r_latch,
            "flatline": self._f_latch,
            "out_of_range": self._o_latch,
            "missing": self._m_latch,
        }
        self._window: deque[float] = deque(maxlen=cfg.window_samples)
        self.samples = 0
        self.dropped_samples = 0
        self.last_ts_ms: int | None = None
        self.score = 0.0
        self._config = given
        self._apply(cfg)

    def _apply(self, cfg: DetectorConfig) -> None:
        """Cache the per-sample settings as plain attributes (the hot path reads these)."""
        self._clear_after = cfg.clear_after_samples
        self._warmup = cfg.warmup_samples
        self._b_on = cfg.baseline.enabled
        self._b_raise = cfg.baseline.raise_score
        self._b_clear = cfg.baseline.clear_score
        self._r_on = cfg.rate_of_change.enabled
        self._r_raise = cfg.rate_of_change.raise_score
        self._r_clear = cfg.rate_of_change.clear_score
        self._f_on = cfg.flatline.enabled
        self._m_on = cfg.missing.enabled
        self._limits = cfg.out_of_range
        self._has_limits = cfg.out_of_range.min_value is not None or (
            cfg.out_of_range.max_value is not None
        )
        # whether finite values must be checked against the limits: kept up to date when
        # the out-of-range latch changes, so the common path tests one flag
        self._range_on = self._has_limits or self._o_latch.active

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
        return (
            self._b_latch.active
            or self._r_latch.active
            or self._f_latch.active
            or self._o_latch.active
            or self._m_latch.active
        )

    @property
    def expected(self) -> float:
        """The value the baseline expects now (see `BaselineDetector.expected`)."""
        return self._baseline.expected

    @property
    def spread(self) -> float:
        """The robust spread the baseline measures deviations in."""
        return self._baseline.scale

    @property
    def typical_step(self) -> float:
        """The learnt typical step between consecutive samples (rate of change)."""
        return self._rate.typical_step

    @property
    def typical_interval_ms(self) -> float:
        """The learnt typical sampling interval."""
        return self._missing.typical_interval_ms

    def reconfigure(self, config: DetectorConfig) -> list[Anomaly]:
        """Apply a new configuration live, keeping what has been learnt.

        Detectors switched off while raised are cleared; those anomalies are returned.
        """
        self._config = config
        judged = config.judged()
        gap = judged.clear_after_samples
        self._baseline.configure(
            judged.baseline, warmup_samples=judged.warmup_samples, incident_gap_samples=gap
        )
        self._rate.configure(judged.rate_of_change, warmup_samples=judged.warmup_samples)
        self._flatline.configure(judged.flatline)
        self._missing.configure(judged.missing)
        self._apply(judged)
        if self._window.maxlen != config.window_samples:
            self._window = deque(self._window, maxlen=config.window_samples)
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

    def resume(self, value: float) -> None:
        """Continue after a pause in which the signal was judged elsewhere (another mode):
        the next sample, `value`, is not compared with the last one before the pause."""
        if learnable(value):
            self._rate.resume(value)
            self._flatline.resume(value)

    def recent_values(self) -> tuple[float, ...]:
        """The last `window_samples` values, oldest first."""
        return tuple(self._window)

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

    def check_missing(self, now_ms: int) -> list[Anomaly]:
        """Raise `missing` if no sample has arrived for longer than the gap limit by `now_ms`.

        Call it periodically (e.g. once a second); the anomaly clears once samples flow
        again at the normal rate.
        """
        if isinstance(now_ms, bool) or not isinstance(now_ms, int):
            raise DetectorInputError(self.signal, f"now_ms must be an integer, got {now_ms!r}")
        if not self._m_on or self.last_ts_ms is None or self._m_latch.active:
            return []
        limit = self._missing.limit_ms(learnt=self.samples > self._warmup)
        gap = now_ms - self.last_ts_ms
        if limit <= 0 or gap <= limit:
            return []
        score = min(gap / limit, MAX_SCORE)
        self._m_latch.feed(score, 1.0, 1.0, self._clear_after)
        reason = describe("missing", gap_ms=gap, limit_ms=limit, score=score)
        return [self._anomaly("missing", "raised", score, now_ms, reason)]

    # The hot path stays in one function: each sample costs a few microseconds, and calls
    # would dominate. The common paths of the missing-data, rate-of-change and flatline
    # steps are inlined here; their classes keep the state, the derived settings (public,
    # set by their `configure`) and the reference `step` (called here for the start-up),
    # and `tests/edge_agent/detectors/test_inlined_path.py` requires the two paths to give
    # identical scores and anomalies. The baseline, with its time-of-day model and drift
    # statistic, is called. A latch is fed only while its detector scores at its raise threshold or is
    # raised, and an anomaly is built only when a latch changes.
    def update(self, ts_ms: int, value: float) -> list[Anomaly]:  # noqa: PLR0915
        """Feed one sample; returns the anomalies raised or cleared by it (usually none)."""
        if ts_ms.__class__ is not int and (isinstance(ts_ms, bool) or not isinstance(ts_ms, int)):
            raise DetectorInputError(self.signal, f"timestamp must be an integer, got {ts_ms!r}")
        if value.__class__ is not float:
            value = self._coerce(value)
        x = value
        last_ts = self.last_ts_ms
        if last_ts is None:
            dt_ms = 0  # the first sample: no interval yet
        elif ts_ms > last_ts:
            dt_ms = ts_ms - last_ts
        else:
            self.dropped_samples += 1
            return []
        self.last_ts_ms = ts_ms
        self.samples = n = self.samples + 1
        self._window.append(x)
        events: list[Anomaly] = []
        best = 0.0
        warm = n > self._warmup
        if dt_ms and self._m_on:
            md = self._missing
            if warm and md.intervals >= START_INTERVALS and md.fixed_ms is None:
                # MissingDataDetector.step, inlined for a learnt limit past the start-up
                typical = md.typical_interval_ms
                peak_gap = md.peak_gap_ms
                limit = md.gap_factor * typical
                peak = md.novelty * peak_gap
                limit = peak if peak > limit else limit
                min_ms = md.min_ms
                limit = limit if limit > min_ms else min_ms
                s = dt_ms / limit
                if s >= 1.0:
                    s = s if s < MAX_SCORE else MAX_SCORE
                    md.last_gap_ms = dt_ms
                    md.last_limit_ms = limit
                md.intervals += 1
                clip = INTERVAL_CLIP * typical
                md.typical_interval_ms = typical + INTERVAL_ALPHA * (
                    (dt_ms if dt_ms < clip else clip) - typical
                )
                peak = peak_gap * md.peak_decay
                md.peak_gap_ms = dt_ms if dt_ms > peak else peak
            else:
                s = md.step(dt_ms, warm)
            if s >= 1.0 or self._m_latch.active:
                change = self._m_latch.feed(s, 1.0, 1.0, self._clear_after)
                if change:
                    events.append(self._change("missing", change, s, ts_ms, x))
            best = s
        learn = _LOWEST_VALUE <= x <= MAX_ABS_VALUE
        if not learn or self._range_on:
            s = out_of_range_score(x, self._limits)
            latch = self._o_latch
            if s >= 1.0 or latch.active:
                change = latch.feed(s, 1.0, 1.0, self._clear_after)
                if change:
                    self._range_on = self._has_limits or latch.active
                    events.append(self._change("out_of_range", change, s, ts_ms, x))
            best = s if s > best else best
            if not learn:
                self.score = best
                return events
        if self._b_on:
            s = self._baseline.step(x, ts_ms)
            if warm:
                raise_at = self._b_raise
                if s >= raise_at or self._b_latch.active:
                    change = self._b_latch.feed(s, raise_at, self._b_clear, self._clear_after)
                    if change:
                        events.append(self._change("baseline", change, s, ts_ms, x))
                s /= raise_at
                best = s if s > best else best
        if self._r_on:
            rd = self._rate
            raise_at = self._r_raise
            rn = rd.samples + 1
            if rn > CLIPPED_AFTER:
                # RateOfChangeDetector.step past its start-up, inlined with `novelty.gated`
                rd.samples = rn
                step = abs(x - rd.last)
                rd.last = x
                typical = rd.typical_step
                floor = FLOOR_REL * (x if x > 0.0 else -x) + FLOOR_ABS
                s = step / (typical if typical > floor else floor)
                limit = CLIP_STEPS * typical
                clipped = step if step < limit or typical <= floor else limit
                rd.typical_step = typical + rd.alpha * (clipped - typical)
                peak = rd.peak * rd.peak_decay
                if step > peak and rn > rd.learn_after:
                    rd.peak = raised_peak(peak, step, free=rn <= rd.warmup, anchor=peak)
                else:
                    rd.peak = peak
                gate = rd.novelty * peak
                if gate > 0.0 and step <= gate:
                    limited = raise_at * step / gate
                    s = limited if limited < s else s
                s = s if s < MAX_SCORE else MAX_SCORE
                if rd.limit_per_ms is not None:
                    # scaled so that reaching the engineering limit means reaching the raise score
                    fixed = step / dt_ms / rd.limit_per_ms * raise_at
                    s = max(s, min(fixed, MAX_SCORE))
            else:
                s = rd.step(x, dt_ms)
            if warm:
                if s >= raise_at or self._r_latch.active:
                    change = self._r_latch.feed(s, raise_at, self._r_clear, self._clear_after)
                    if change:
                        events.append(self._change("rate_of_change", change, s, ts_ms, x))
                s /= raise_at
                best = s if s > best else best
        if self._f_on:
            fd = self._flatline
            if fd.started:
                # FlatlineDetector.step past its first sample, inlined
                fd.longest_run *= LONGEST_RUN_DECAY
                tolerance = fd.tolerance
                if not -tolerance <= x - fd.last <= tolerance:
                    # the value moved: it ends any run and scores 0
                    fd.moved = True
                    fd.last = x
                    run = fd.run
                    if run:
                        if run > fd.longest_run:
                            fd.longest_run = float(run)
                        fd.run = 0
                    s = 0.0
                else:
                    fd.run = run = fd.run + 1
                    if fd.moved:
                        bound = fd.run_factor * fd.longest_run
                        min_run = fd.min_run
                        s = run / (bound if bound > min_run else min_run)
                    else:
                        s = 0.0
            else:
                s = fd.step(x)
            if warm:
                if s >= 1.0 or self._f_latch.active:
                    change = self._f_latch.feed(s, 1.0, 1.0, self._clear_after)
                    if change:
                        events.append(self._change("flatline", change, s, ts_ms, x))
                best = s if s > best else best
        self.score = best
        return events

    def _coerce(self, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DetectorInputError(self.signal, f"value must be a number, got {value!r}")
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf

    def _change(self, name: str, change: int, score: float, ts_ms: int, value: float) -> Anomaly:
        """The anomaly for a latch that has just raised (RAISED) or cleared (CLEARED)."""
        if change == RAISED:
            raised = self._anomaly(name, "raised", score, ts_ms, self._reason(name, score, value))
            if self._baseline.samples > self._warmup:
                raised = dataclasses.replace(
                    raised, expected=self._baseline.expected, spread=self._baseline.scale
                )
            return raised
        return self._anomaly(name, "cleared", score, ts_ms, f"{name} back to normal")

    def _reason(self, name: str, score: float, value: float) -> str:
        return describe(
            name,
            score=score,
            value=value,
            level=self._baseline.expected,
            spread=self._baseline.scale,
            time_of_day=self._baseline.season_on,
            drift=self._baseline.drift_raised() if name == "baseline" else 0.0,
            typical_step=self._rate.typical_step,
            run=self._flatline.run,
            gap_ms=self._missing.last_gap_ms,
            limit_ms=self._missing.last_limit_ms,
            config=self._config,
        )
