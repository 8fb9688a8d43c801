"""Robust adaptive baseline: how far a sample sits from a slowly drifting level.

Level and spread are exponentially weighted estimates updated with outlier-clipped
deviations (a Huber-style M-estimate; the spread is a mean absolute deviation), so a spike
barely moves them while slow drift is followed. The score is the larger of the sample's
own robust z-score and the mean deviation of the last `sustained_samples` samples in
spreads times sqrt(sustained_samples) — both on the same scale for noise, the second
catching level shifts no single sample of which is extreme. Each part passes the novelty
gate (`edge_agent.detectors.novelty`) on its own excursion: |deviation| and |mean deviation|.
"""

from __future__ import annotations

import math

from edge_agent.detectors.config import BaselineConfig
from edge_agent.detectors.novelty import gated, learning_starts, raised_peak

# Deviations are clipped at this many spreads before updating the estimates.
_CLIP_SPREADS = 3.0
# Relative floor of the spread, so an almost-constant signal does not divide by zero.
_SPREAD_FLOOR_REL = 1e-9
_SPREAD_FLOOR_ABS = 1e-12
# Scores are capped so that running sums stay finite whatever the input.
MAX_SCORE = 1e6
# The first samples update level and spread as plain running means, unclipped.
_UNCLIPPED_SAMPLES = 30


def half_life_alpha(half_life_samples: float) -> float:
    """EWMA weight whose influence halves after `half_life_samples` samples."""
    return 1.0 - math.pow(0.5, 1.0 / half_life_samples)


class BaselineDetector:
    """Streaming state of the robust baseline for one signal (O(sustained_samples) memory)."""

    __slots__ = (
        "_alpha_level",
        "_alpha_spread",
        "_k",
        "_learn_after",
        "_novelty",
        "_peak_decay",
        "_raise_score",
        "_ring",
        "_ring_pos",
        "_ring_sum",
        "_sqrt_k",
        "_warmup",
        "level",
        "peak",
        "peak_mean",
        "samples",
        "spread",
    )

    def __init__(self, config: BaselineConfig, *, warmup_samples: int = 150) -> None:
        self.level = 0.0
        self.spread = 0.0
        self.samples = 0
        self.peak = 0.0
        self.peak_mean = 0.0
        self.configure(config, warmup_samples=warmup_samples)

    def configure(self, config: BaselineConfig, *, warmup_samples: int = 150) -> None:
        """Apply new parameters, keeping the learnt level, spread and peaks."""
        self._alpha_level = half_life_alpha(config.level_half_life_samples)
        self._alpha_spread = half_life_alpha(config.spread_half_life_samples)
        self._novelty = config.novelty_ratio
        self._raise_score = config.raise_score
        self._peak_decay = 1.0 - half_life_alpha(config.peak_half_life_samples)
        self._warmup = warmup_samples
        self._learn_after = learning_starts(warmup_samples)
        self._k = config.sustained_samples
        self._sqrt_k = math.sqrt(self._k)
        self._ring = [0.0] * self._k
        self._ring_pos = 0
        self._ring_sum = 0.0

    def step(self, x: float) -> float:
        """Learn from one finite sample and return its score (robust z units)."""
        self.samples += 1
        n = self.samples
        if n == 1:
            self.level = x
            return 0.0
        level = self.level
        spread = self.spread
        dev = x - level
        floor = _SPREAD_FLOOR_REL * abs(level) + _SPREAD_FLOOR_ABS
        scale = spread if spread > floor else floor
        abs_dev = abs(dev)
        spike = abs_dev / scale
        # running sum of the last k signed deviations
        ring = self._ring
        pos = self._ring_pos
        self._ring_sum += dev - ring[pos]
        ring[pos] = dev
        self._ring_pos = pos + 1 if pos + 1 < self._k else 0
        mean_dev = abs(self._ring_sum) / self._k
        sustained = mean_dev * self._sqrt_k / scale
        if n <= _UNCLIPPED_SAMPLES:
            # start-up: running means, so the estimates settle within a few samples
            self.level = level + dev / n
            self.spread = spread + (abs_dev - spread) / (n - 1)
        else:
            # clipped updates: a spike moves level and spread by at most _CLIP_SPREADS spreads
            limit = _CLIP_SPREADS * scale
            clipped = dev if -limit < dev < limit else math.copysign(limit, dev)
            self.level = level + self._alpha_level * clipped
            self.spread = spread + self._alpha_spread * (abs(clipped) - spread)
        # novelty gates (see edge_agent.detectors.novelty); the calls are made only when
        # a peak is beaten or a gate applies, which keeps the common path cheap
        decay = self._peak_decay
        peak = self.peak * decay
        peak_mean = self.peak_mean * decay
        if n > self._learn_after:
            free = n <= self._warmup
            self.peak = raised_peak(peak, abs_dev, free=free) if abs_dev > peak else peak
            self.peak_mean = (
                raised_peak(peak_mean, mean_dev, free=free) if mean_dev > peak_mean else peak_mean
            )
        else:
            self.peak = peak
            self.peak_mean = peak_mean
        gate = self._novelty * peak
        if gate > 0.0 and abs_dev <= gate:
            spike = gated(spike, abs_dev, gate, self._raise_score)
        gate = self._novelty * peak_mean
        if gate > 0.0 and mean_dev <= gate:
            sustained = gated(sustained, mean_dev, gate, self._raise_score)
        score = spike if spike > sustained else sustained
        return score if score < MAX_SCORE else MAX_SCORE
