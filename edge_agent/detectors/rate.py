"""Rate of change: the step between consecutive samples, in robust typical steps.

The typical step is an exponentially weighted mean of |Δvalue|, updated with clipped steps
so one jump barely moves it. The score passes the novelty gate
(`edge_agent.detectors.novelty`) on |Δvalue|. An optional engineering limit
(`max_abs_rate_per_s`) also scores |Δvalue| / Δt against a fixed bound, ungated.

`RateOfChangeDetector.step` is the reference definition of one sample's step. The monitor
(`SignalMonitor.update`, the hot path) calls it for the start-up samples and inlines the
step past the start-up; the derived settings it reads there are public attributes, set only
by `configure`. `tests/edge_agent/detectors/test_inlined_path.py` pins the two together.
"""

from __future__ import annotations

from edge_agent.detectors.baseline import MAX_SCORE, half_life_alpha
from edge_agent.detectors.config import RateOfChangeConfig
from edge_agent.detectors.novelty import gated, learning_starts, raised_peak

CLIP_STEPS = 4.0
_UNCLIPPED_SAMPLES = 30
# the first sample has no step: steps are clipped from this sample on
CLIPPED_AFTER = _UNCLIPPED_SAMPLES + 1
FLOOR_REL = 1e-9
FLOOR_ABS = 1e-12


class RateOfChangeDetector:
    """Streaming state of the rate-of-change detector for one signal (O(1) memory)."""

    __slots__ = (
        "alpha",
        "last",
        "learn_after",
        "limit_per_ms",
        "novelty",
        "peak",
        "peak_decay",
        "raise_score",
        "samples",
        "typical_step",
        "warmup",
    )

    def __init__(self, config: RateOfChangeConfig, *, warmup_samples: int = 150) -> None:
        self.last = 0.0
        self.typical_step = 0.0
        self.samples = 0
        self.peak = 0.0
        self.configure(config, warmup_samples=warmup_samples)

    def configure(self, config: RateOfChangeConfig, *, warmup_samples: int = 150) -> None:
        """Apply new parameters, keeping the learnt typical step and peak.

        The derived settings (`alpha`, `raise_score`, `novelty`, `peak_decay`, `warmup`,
        `learn_after`, `limit_per_ms`) are read by the monitor's inlined step; only this
        method sets them.
        """
        self.alpha = half_life_alpha(config.spread_half_life_samples)
        self.raise_score = config.raise_score
        self.novelty = config.novelty_ratio
        self.peak_decay = 1.0 - half_life_alpha(config.peak_half_life_samples)
        self.warmup = warmup_samples
        self.learn_after = learning_starts(warmup_samples)
        limit = config.max_abs_rate_per_s
        self.limit_per_ms = None if limit is None else limit / 1000.0

    def resume(self, x: float) -> None:
        """After a pause, the next sample `x` is measured from itself (a step of 0), not
        from the last sample before the pause."""
        if self.samples:
            self.last = x

    def step(self, x: float, dt_ms: int) -> float:
        """Learn from one finite sample, `dt_ms` after the previous one; return its score.

        The reference definition. The typical step is a plain running mean of the steps over
        the first `CLIPPED_AFTER` samples, then an EWMA of steps clipped at `CLIP_STEPS`
        typical steps; the score passes the novelty gate, and the engineering limit (if set)
        scores the rate against its fixed bound, ungated.
        """
        self.samples = n = self.samples + 1
        step = abs(x - self.last)
        self.last = x
        typical = self.typical_step
        floor = FLOOR_REL * (x if x > 0.0 else -x) + FLOOR_ABS
        score = step / (typical if typical > floor else floor)
        if n == 1:
            return 0.0  # no step yet
        if n > CLIPPED_AFTER:
            limit = CLIP_STEPS * typical
            clipped = step if step < limit or typical <= floor else limit
            self.typical_step = typical + self.alpha * (clipped - typical)
        else:
            self.typical_step = typical + (step - typical) / (n - 1)
        peak = self.peak * self.peak_decay
        if step > peak and n > self.learn_after:
            self.peak = raised_peak(peak, step, free=n <= self.warmup, anchor=peak)
        else:
            self.peak = peak
        score = gated(score, step, self.novelty * peak, self.raise_score)
        score = score if score < MAX_SCORE else MAX_SCORE
        if self.limit_per_ms is not None and dt_ms > 0:
            # scaled so that reaching the engineering limit means reaching the raise score
            fixed = step / dt_ms / self.limit_per_ms * self.raise_score
            score = max(score, min(fixed, MAX_SCORE))
        return score
