"""Flatline / stuck sensor: a run of unchanged values far longer than any run seen before.

The detector keeps the current run length and the longest recent run (which decays
slowly, so one long idle period long ago does not blind it for ever). The score is the
run length divided by the larger of `min_run_samples` and `run_factor` × the longest
recent run; it reaches 1.0 when the run becomes suspicious. A signal that has never moved
never scores: a constant is not a stuck sensor.
"""

from __future__ import annotations

import math

from edge_agent.detectors.config import FlatlineConfig

# The longest recent run halves every this many samples.
_LONGEST_RUN_DECAY = math.pow(0.5, 1.0 / 5000.0)


class FlatlineDetector:
    """Streaming state of the flatline detector for one signal (O(1) memory)."""

    __slots__ = (
        "_factor",
        "_min_run",
        "_tolerance",
        "last",
        "longest_run",
        "moved",
        "run",
        "samples",
    )

    def __init__(self, config: FlatlineConfig) -> None:
        self.last = 0.0
        self.run = 0
        self.longest_run = 0.0
        self.moved = False
        self.samples = 0
        self.configure(config)

    def configure(self, config: FlatlineConfig) -> None:
        """Apply new parameters, keeping the current run and history."""
        self._min_run = float(config.min_run_samples)
        self._factor = config.run_factor
        self._tolerance = config.tolerance_abs

    def step(self, x: float) -> float:
        """Learn from one finite sample and return the flatline score (1.0 = suspicious)."""
        self.samples += 1
        if self.samples == 1:
            self.last = x
            return 0.0
        self.longest_run *= _LONGEST_RUN_DECAY
        tolerance = self._tolerance
        if not -tolerance <= x - self.last <= tolerance:
            # the value moved: most samples of a noisy signal, and they end no run
            self.moved = True
            self.last = x
            run = self.run
            if run:
                if run > self.longest_run:
                    self.longest_run = float(run)
                self.run = 0
            return 0.0
        self.run = run = self.run + 1
        if not self.moved:
            return 0.0
        bound = self._factor * self.longest_run
        return run / (bound if bound > self._min_run else self._min_run)
