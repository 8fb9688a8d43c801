"""Missing data: gaps between samples much longer than the signal's usual interval.

The typical interval is an exponentially weighted mean of the intervals, clipped so gaps
do not inflate it; the longest recent gap is a peak that halves every
`peak_half_life_samples` samples. A gap scores ``gap / limit`` with the limit the largest
of `min_gap_ms`, `gap_factor` typical intervals and `novelty_ratio` × the peak gap (or the
fixed `max_gap_ms` when set): 1.0 means the gap is suspicious.
"""

from __future__ import annotations

from edge_agent.detectors.baseline import MAX_SCORE, half_life_alpha
from edge_agent.detectors.config import MissingConfig

# Intervals longer than this many typical intervals are clipped before being learnt.
INTERVAL_CLIP = 3.0
INTERVAL_ALPHA = 0.05
START_INTERVALS = 10


class MissingDataDetector:
    """Streaming state of the missing-data detector for one signal (O(1) memory)."""

    __slots__ = (
        "fixed_ms",
        "gap_factor",
        "intervals",
        "last_gap_ms",
        "last_limit_ms",
        "min_ms",
        "novelty",
        "peak_decay",
        "peak_gap_ms",
        "typical_interval_ms",
    )

    def __init__(self, config: MissingConfig) -> None:
        self.typical_interval_ms = 0.0
        self.peak_gap_ms = 0.0
        self.intervals = 0
        # the gap and limit of the last gap at or over the limit (what a raise reports)
        self.last_gap_ms = 0
        self.last_limit_ms = 0.0
        self.configure(config)

    def configure(self, config: MissingConfig) -> None:
        """Apply new parameters, keeping the learnt interval and peak gap.

        The derived settings (`gap_factor`, `min_ms`, `fixed_ms`, `novelty`, `peak_decay`)
        are read by the monitor's inlined step; only this method sets them.
        """
        self.gap_factor = config.gap_factor
        self.min_ms = float(config.min_gap_ms)
        self.fixed_ms = None if config.max_gap_ms is None else float(config.max_gap_ms)
        self.novelty = config.novelty_ratio
        self.peak_decay = 1.0 - half_life_alpha(config.peak_half_life_samples)

    def limit_ms(self, *, learnt: bool) -> float:
        """The gap limit now; 0 when none applies yet (`learnt` False and no fixed limit)."""
        if self.fixed_ms is not None:
            return self.fixed_ms if self.fixed_ms > self.min_ms else self.min_ms
        if not learnt or self.intervals < 2:
            return 0.0
        limit = self.gap_factor * self.typical_interval_ms
        limit = max(limit, self.novelty * self.peak_gap_ms)
        return limit if limit > self.min_ms else self.min_ms

    def step(self, dt_ms: int, learnt: bool) -> float:
        """Score the interval before a sample (1.0 = at the limit), then learn from it.

        `learnt` says whether the warm-up is over (the learnt limits apply). The reference
        path: `SignalMonitor.update` inlines it for a learnt limit past the start-up and
        calls it for the start-up, the warm-up and a fixed `max_gap_ms`.
        """
        typical = self.typical_interval_ms
        peak_gap = self.peak_gap_ms
        n = self.intervals + 1
        limit = self.limit_ms(learnt=learnt)
        score = dt_ms / limit if limit > 0 else 0.0
        if score >= 1.0:
            # what a raise reports (a gap under the limit raises nothing)
            score = score if score < MAX_SCORE else MAX_SCORE
            self.last_gap_ms = dt_ms
            self.last_limit_ms = limit
        self.intervals = n
        if n > START_INTERVALS:
            clip = INTERVAL_CLIP * typical
            self.typical_interval_ms = typical + INTERVAL_ALPHA * (
                (dt_ms if dt_ms < clip else clip) - typical
            )
        elif n == 1:
            self.typical_interval_ms = float(dt_ms)
        else:
            clipped = dt_ms if dt_ms < 10 * typical else 10 * typical
            self.typical_interval_ms = typical + (clipped - typical) / n
        peak = peak_gap * self.peak_decay
        self.peak_gap_ms = dt_ms if dt_ms > peak else peak
        return score
