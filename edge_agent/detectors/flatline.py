"""Flatline / stuck sensor: a run of unchanged values far longer than any run seen before.

The detector keeps the current run length and the longest recent run (which decays
slowly, so one long idle period long ago does not blind it for ever). The score is the
run length divided by the larger of `min_run_samples` and `run_factor` × the longest
recent run; it reaches 1.0 when the run becomes suspicious. A signal that has never moved
never scores: a constant is not a stuck sensor.

This class holds the detector's state and configuration and takes the first sample; the
per-sample step is inlined in `SignalMonitor.update` (the hot path).
"""

from __future__ import annotations

import math

from edge_agent.detectors.config import FlatlineConfig

# The longest recent run halves every this many samples.
LONGEST_RUN_DECAY = math.pow(0.5, 1.0 / 5000.0)


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
        "started",
    )

    def __init__(self, config: FlatlineConfig) -> None:
        self.last = 0.0
        self.run = 0
        self.longest_run = 0.0
        self.moved = False
        self.started = False
        self.configure(config)

    def configure(self, config: FlatlineConfig) -> None:
        """Apply new parameters, keeping the current run and history."""
        self._min_run = float(config.min_run_samples)
        self._factor = config.run_factor
        self._tolerance = config.tolerance_abs

    def start(self, x: float) -> None:
        """Take the first finite sample: there is nothing to compare it with yet.

        Later samples are stepped by `SignalMonitor.update`, inlined (its hot path).
        """
        self.started = True
        self.last = x
