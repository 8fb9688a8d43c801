"""The normal range of a signal in one operating state, and a value well outside it.

What an operator calls normal for a spindle temperature while running is a range (from a
cold start to a long run's plateau), not a level: a warm-up stays inside it, an overheat
leaves it. `StateRange` learns that range per (signal, state) and raises `state_range` when
the value stays outside it by more than `margin` times its width (and `noise_margin` times
the signal's typical step between samples in that state) for `confirm_samples` samples in a
row while not coming back (no closer than when it left: a hot machine cooling down in idle
or a cold one warming up after a start is on its way back); it clears after
`clear_samples` samples back inside.

Learning: during the state's first `learn_samples` samples the range takes every value.
After that, a value beyond an edge moves it only by `CREEP` of the excess (so a fault's
ramp outruns it while years of wear are followed), and an edge the values no longer reach
drifts back towards them by `SHRINK` of the gap a sample (about a day at 1 Hz), so one worn
week does not widen the range for ever. Values are learnt only while nothing is raised and
only within the margin: an excursion waiting for confirmation does not widen the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

CREEP: Final = 1.0 / 200.0
SHRINK: Final = 1.0 / 100_000.0


@dataclass(frozen=True, slots=True)
class RangeSettings:
    """How a state's range is learnt and judged (see the module docstring)."""

    enabled: bool = True
    margin: float = 0.15
    noise_margin: float = 4.0
    learn_samples: int = 1800
    confirm_samples: int = 5
    clear_samples: int = 30


@dataclass(frozen=True, slots=True)
class RangeChange:
    """The range raised or cleared on a sample: by how much the value left it."""

    state: Literal["raised", "cleared"]
    excess: float
    low: float
    high: float


class StateRange:
    """The learnt range of one signal in one state (O(1) memory and time per sample)."""

    __slots__ = (
        "_inside",
        "_left_by",
        "_outside",
        "high",
        "low",
        "raised",
        "samples",
        "settings",
    )

    def __init__(self, settings: RangeSettings) -> None:
        self.settings = settings
        self.low = 0.0
        self.high = 0.0
        self.samples = 0
        self.raised = False
        self._outside = 0
        self._inside = 0
        self._left_by = 0.0

    @property
    def learnt(self) -> bool:
        """Whether the range has seen enough of its state to be judged."""
        return self.samples > self.settings.learn_samples

    def excess(self, x: float) -> float:
        """How far `x` lies outside the range (signed: below is negative), 0 inside."""
        if x > self.high:
            return x - self.high
        if x < self.low:
            return x - self.low
        return 0.0

    def update(self, x: float, noise: float = 0.0, sensitivity: float = 1.0) -> RangeChange | None:
        """Judge and learn one finite sample; returns a raise or clear, usually None.

        `noise` is the signal's typical step from one sample to the next in this state:
        the margin is never below `noise_margin` of them, so noise alone does not leave a
        narrow range. The margin is divided by the signal's `sensitivity`."""
        s = self.settings
        self.samples = n = self.samples + 1
        if n == 1:
            self.low = self.high = x
            return None
        if n <= s.learn_samples:
            self.low = x if x < self.low else self.low
            self.high = x if x > self.high else self.high
            return None
        excess = self.excess(x)
        limit = s.margin * (self.high - self.low)
        floor = s.noise_margin * noise
        limit = (floor if floor > limit else limit) / sensitivity
        change = None
        if abs(excess) > limit:
            self._inside = 0
            if self._outside == 0:
                self._left_by = abs(excess)
            self._outside += 1
            # a value on its way back (a hot machine cooling in idle, a cold one warming up
            # after a start) is not an excursion: it must be no closer than when it left
            away = abs(excess) >= self._left_by - noise
            if not self.raised and self._outside >= s.confirm_samples and away:
                self.raised = True
                change = RangeChange("raised", excess, self.low, self.high)
        else:
            self._outside = 0
            if self.raised:
                self._inside += 1
                if self._inside >= s.clear_samples:
                    self.raised = False
                    self._inside = 0
                    change = RangeChange("cleared", excess, self.low, self.high)
        if not self.raised and abs(excess) <= limit:
            self._learn(x, excess)
        return change

    def _learn(self, x: float, excess: float) -> None:
        if excess > 0.0:
            self.high += CREEP * excess
        elif excess < 0.0:
            self.low += CREEP * excess
        else:
            self.high -= SHRINK * (self.high - x)
            self.low += SHRINK * (x - self.low)

    def release(self) -> RangeChange | None:
        """Clear a raise (its state was left); returns the clear, if any."""
        if not self.raised:
            return None
        self.raised = False
        self._outside = self._inside = 0
        return RangeChange("cleared", 0.0, self.low, self.high)


__all__ = ["RangeChange", "RangeSettings", "StateRange"]
