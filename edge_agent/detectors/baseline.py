"""Robust adaptive baseline: how far a sample sits from a slowly drifting level.

Level and spread are exponentially weighted estimates updated with outlier-clipped
deviations (a Huber-style M-estimate; the spread is a mean absolute deviation), so a spike
barely moves them while slow drift is followed. The score is the larger of the sample's
own robust z-score and the mean z of the last `sustained_samples` samples times
sqrt(sustained_samples) — both on the same scale for noise, the second catching level
shifts no single sample of which is extreme.

`gate` is the novelty threshold for the current sample: `novelty_ratio` times the highest
score seen recently (a peak that halves every `peak_half_life_samples`). A signal whose
normal behaviour includes large excursions thus learns not to alarm on them, and one
incident is not raised again while its own peak is fresh.
"""

from __future__ import annotations

import math

from edge_agent.detectors.config import BaselineConfig

# Deviations are clipped at this many spreads before updating the estimates.
_CLIP_SPREADS = 3.0
# Relative floor of the spread, so an almost-constant signal does not divide by zero.
_SPREAD_FLOOR_REL = 1e-9
_SPREAD_FLOOR_ABS = 1e-12
# Scores are capped so that running sums stay finite whatever the input.
MAX_SCORE = 1e6
# The first samples update level and spread as plain running means, unclipped.
_UNCLIPPED_SAMPLES = 30
# The novelty peak ignores the start-up, when the spread is still a poor estimate.
_PEAK_AFTER_SAMPLES = 60


def half_life_alpha(half_life_samples: float) -> float:
    """EWMA weight whose influence halves after `half_life_samples` samples."""
    return 1.0 - math.pow(0.5, 1.0 / half_life_samples)


class BaselineDetector:
    """Streaming state of the robust baseline for one signal (O(sustained_samples) memory)."""

    __slots__ = (
        "_alpha_level",
        "_alpha_spread",
        "_k",
        "_novelty",
        "_peak_decay",
        "_raise_score",
        "_ring",
        "_ring_pos",
        "_ring_sum",
        "_sqrt_k",
        "gate",
        "level",
        "peak",
        "peak_mean",
        "samples",
        "spread",
    )

    def __init__(self, config: BaselineConfig) -> None:
        self.level = 0.0
        self.spread = 0.0
        self.samples = 0
        self.peak = 0.0
        self.peak_mean = 0.0
        self.gate = 0.0
        self.configure(config)

    def configure(self, config: BaselineConfig) -> None:
        """Apply new parameters, keeping the learnt level and spread."""
        self._alpha_level = half_life_alpha(config.level_half_life_samples)
        self._alpha_spread = half_life_alpha(config.spread_half_life_samples)
        self._novelty = config.novelty_ratio
        self._raise_score = config.raise_score
        self._peak_decay = 1.0 - half_life_alpha(config.peak_half_life_samples)
        self._k = config.sustained_samples
        self._sqrt_k = math.sqrt(self._k)
        self._ring = [0.0] * self._k
        self._ring_pos = 0
        self._ring_sum = 0.0

    def step(self, x: float) -> float:
        """Learn from one finite sample and return its score (robust z units)."""
        self.samples += 1
        if self.samples == 1:
            self.level = x
            return 0.0
        level = self.level
        spread = self.spread
        dev = x - level
        floor = _SPREAD_FLOOR_REL * abs(level) + _SPREAD_FLOOR_ABS
        scale = spread if spread > floor else floor
        z = dev / scale
        if z > MAX_SCORE:
            z = MAX_SCORE
        elif z < -MAX_SCORE:
            z = -MAX_SCORE
        # running sum of the last k signed deviations
        ring = self._ring
        pos = self._ring_pos
        self._ring_sum += dev - ring[pos]
        ring[pos] = dev
        self._ring_pos = pos + 1 if pos + 1 < self._k else 0
        mean_dev = abs(self._ring_sum) / self._k
        sustained = mean_dev * self._sqrt_k / scale
        sustained = min(sustained, MAX_SCORE)
        n = self.samples
        if n <= _UNCLIPPED_SAMPLES:
            # start-up: running means, so the estimates settle within a few samples
            self.level = level + dev / n
            self.spread = spread + (abs(dev) - spread) / (n - 1)
        else:
            # clipped updates: a spike moves level and spread by at most _CLIP_SPREADS spreads
            limit = _CLIP_SPREADS * scale
            if dev > limit:
                dev = limit
            elif dev < -limit:
                dev = -limit
            self.level = level + self._alpha_level * dev
            self.spread = spread + self._alpha_spread * (abs(dev) - spread)
        spike = abs(z)
        abs_dev = abs(x - level)
        # novelty gates, in the signal's own units: a deviation (or a sustained mean
        # deviation) smaller than the recent peak is not a new incident
        decay = self._peak_decay
        peak = self.peak * decay
        peak_mean = self.peak_mean * decay
        if self.samples > _PEAK_AFTER_SAMPLES:
            self.peak = abs_dev if abs_dev > peak else peak
            self.peak_mean = mean_dev if mean_dev > peak_mean else peak_mean
        else:
            self.peak = self.peak_mean = 0.0
        nov = self._novelty
        gate = nov * peak
        if gate > 0.0 and abs_dev <= gate:
            spike = min(spike, self._raise_score * abs_dev / gate)
        gate = nov * peak_mean
        if gate > 0.0 and mean_dev <= gate:
            sustained = min(sustained, self._raise_score * mean_dev / gate)
        return spike if spike > sustained else sustained
