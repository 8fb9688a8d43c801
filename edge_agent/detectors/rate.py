"""Rate of change: the step between consecutive samples, in robust typical steps.

The typical step is an exponentially weighted mean of |Δvalue|, updated with clipped steps
so one jump barely moves it. The score passes the novelty gate
(`edge_agent.detectors.novelty`) on |Δvalue|. An optional engineering limit
(`max_abs_rate_per_s`) also scores |Δvalue| / Δt against a fixed bound, ungated.

This class holds the detector's state and configuration and steps the start-up samples;
later samples are stepped by `SignalMonitor.update`, inlined (the hot path).
"""

from __future__ import annotations

from edge_agent.detectors.baseline import MAX_SCORE, half_life_alpha
from edge_agent.detectors.config import RateOfChangeConfig
from edge_agent.detectors.novelty import learning_starts, raised_peak

CLIP_STEPS = 4.0
_UNCLIPPED_SAMPLES = 30
# the first sample has no step: steps are clipped from this sample on
CLIPPED_AFTER = _UNCLIPPED_SAMPLES + 1
FLOOR_REL = 1e-9
FLOOR_ABS = 1e-12


class RateOfChangeDetector:
    """Streaming state of the rate-of-change detector for one signal (O(1) memory)."""

    __slots__ = (
        "_alpha",
        "_learn_after",
        "_limit_per_ms",
        "_novelty",
        "_peak_decay",
        "_raise_score",
        "_warmup",
        "last",
        "peak",
        "samples",
        "typical_step",
    )

    def __init__(self, config: RateOfChangeConfig, *, warmup_samples: int = 150) -> None:
        self.last = 0.0
        self.typical_step = 0.0
        self.samples = 0
        self.peak = 0.0
        self.configure(config, warmup_samples=warmup_samples)

    def configure(self, config: RateOfChangeConfig, *, warmup_samples: int = 150) -> None:
        """Apply new parameters, keeping the learnt typical step and peak."""
        self._alpha = half_life_alpha(config.spread_half_life_samples)
        self._raise_score = config.raise_score
        self._novelty = config.novelty_ratio
        self._peak_decay = 1.0 - half_life_alpha(config.peak_half_life_samples)
        self._warmup = warmup_samples
        self._learn_after = learning_starts(warmup_samples)
        limit = config.max_abs_rate_per_s
        self._limit_per_ms = None if limit is None else limit / 1000.0

    def start_step(self, x: float, dt_ms: int) -> float:
        """Learn from one of the first `CLIPPED_AFTER` finite samples; return its score.

        `dt_ms` is the time since the previous sample. The start-up path: the typical step
        is a plain running mean of the steps so far. Later samples are stepped by
        `SignalMonitor.update`, which inlines the clipped update and the scoring below.
        """
        self.samples = n = self.samples + 1
        step = abs(x - self.last)
        self.last = x
        typical = self.typical_step
        floor = FLOOR_REL * (x if x > 0.0 else -x) + FLOOR_ABS
        score = step / (typical if typical > floor else floor)
        if n == 1:
            return 0.0  # no step yet
        self.typical_step = typical + (step - typical) / (n - 1)
        peak = self.peak * self._peak_decay
        if step > peak and n > self._learn_after:
            self.peak = raised_peak(peak, step, free=n <= self._warmup, anchor=peak)
        else:
            self.peak = peak
        gate = self._novelty * peak
        if gate > 0.0 and step <= gate:  # `novelty.gated`, inlined (it applies on most samples)
            limited = self._raise_score * step / gate
            score = limited if limited < score else score
        score = score if score < MAX_SCORE else MAX_SCORE
        if self._limit_per_ms is not None and dt_ms > 0:
            # scaled so that reaching the engineering limit means reaching the raise score
            fixed = step / dt_ms / self._limit_per_ms * self._raise_score
            score = max(score, min(fixed, MAX_SCORE))
        return score
