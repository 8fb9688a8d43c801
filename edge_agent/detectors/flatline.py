"""Flatline / stuck sensor: a run of unchanged values far longer than any run seen before.

The detector keeps the current run length and the longest recent run (which decays
slowly, so one long idle period long ago does not blind it for ever). The score is the
run length divided by the larger of `min_run_samples` and `run_factor` × the longest
recent run; it reaches 1.0 when the run becomes suspicious. A signal that has never moved
never scores: a constant is not a stuck sensor.

`FlatlineDetector.step` is the reference definition of one sample's step; the monitor
(`SignalMonitor.update`, the hot path) calls it for the first sample and inlines it after.
"""

from __future__ import annotations

import math

from edge_agent.detectors.config import FlatlineConfig

# The longest recent run halves every this many samples.
LONGEST_RUN_DECAY = math.pow(0.5, 1.0 / 5000.0)


class FlatlineDetector:
    """Streaming state of the flatline detector for one signal (O(1) memory)."""

    __slots__ = (
        "last",
        "longest_run",
        "min_run",
        "moved",
        "run",
        "run_factor",
        "started",
        "tolerance",
    )

    def __init__(self, config: FlatlineConfig) -> None:
        self.last = 0.0
        self.run = 0
        self.longest_run = 0.0
        self.moved = False
        self.started = False
        self.configure(config)

    def configure(self, config: FlatlineConfig) -> None:
        """Apply new parameters, keeping the current run and history.

        The derived settings (`min_run`, `run_factor`, `tolerance`) are read by the
        monitor's inlined step; only this method sets them.
        """
        self.min_run = float(config.min_run_samples)
        self.run_factor = config.run_factor
        self.tolerance = config.tolerance_abs

    def resume(self, x: float) -> None:
        """After a pause, a run starts afresh at the next sample `x`."""
        if self.started:
            self.last = x
            self.run = 0

    def step(self, x: float) -> float:
        """Learn from one finite sample; return its score (1.0 = a suspicious run).

        The reference definition. The first sample only starts the detector; a value within
        `tolerance` of the run's value lengthens the run, any other ends it.
        """
        if not self.started:
            self.started = True
            self.last = x
            return 0.0
        self.longest_run *= LONGEST_RUN_DECAY
        if abs(x - self.last) > self.tolerance:
            self.moved = True
            self.last = x
            if self.run > self.longest_run:
                self.longest_run = float(self.run)
            self.run = 0
            return 0.0
        self.run += 1
        if not self.moved:
            return 0.0  # a constant is not a stuck sensor
        return self.run / max(self.run_factor * self.longest_run, self.min_run)
