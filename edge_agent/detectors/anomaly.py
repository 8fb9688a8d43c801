"""The value a monitor hands out when a detector raises or clears."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

AnomalyState = Literal["raised", "cleared"]

#: Detector names, as they appear in `Anomaly.detector` and in the configuration.
DETECTOR_NAMES: tuple[str, ...] = (
    "baseline",
    "rate_of_change",
    "flatline",
    "out_of_range",
    "missing",
)


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One raise or clear of one detector on one signal.

    `score` is the detector's score on that sample (its raise threshold is in the
    configuration), `window` the most recent values, oldest first, ending with the sample
    that triggered it, and `reason` a sentence an operator can read. A raise also carries
    what was normal when it could be judged (NaN when unknown): the value the baseline
    expected and its robust `spread`, or the `low`..`high` range of the signal's state.
    """

    signal: str
    detector: str
    state: AnomalyState
    score: float
    window: tuple[float, ...]
    reason: str
    ts_ms: int
    expected: float = math.nan
    spread: float = math.nan
    low: float = math.nan
    high: float = math.nan
