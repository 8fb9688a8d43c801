"""The normal range of a signal in one operating state, and a value well outside it.

What an operator calls normal for a spindle temperature while running is a range (from a
cold start to a long run's plateau), not a level: a warm-up stays inside it, an overheat
leaves it. `StateRange` learns that range per (signal, state) and raises `state_range` when
the value stays outside it by more than `margin` times its width (and `noise_margin` times
the signal's typical step between samples in that state) for `confirm_samples` samples in a
row while not coming back (no closer than when it left: a hot machine cooling down in idle
or a cold one warming up after a start is on its way back); it clears after
`clear_samples` samples back inside.

A stay that begins outside the range with the value carried over from the state before
(a cold start below a running spindle's range, a hot machine entering idle above the idle
range: the first value is within `CARRY_SHARE` of its distance from the range of the last
value before the change, the inertia of a temperature, not the jump of a current drawn by
a new state) is a warm-up, not an excursion: from the stay's first sample (`enter`) the
value is excused while it stays on the side it began on, no further out than it began
(plus the margin), for at most
`SETTLE_FACTOR` times the state's longest recent warm-up (the time from the start of a stay
until the value first came inside, or until the stay ended; a peak decaying by
`SETTLE_DECAY` a warm-up) and at least `settle_min_s`. The range is thus judged against the
time since the start and the value at the start; a warm-up that overshoots to the other
side, turns away or lasts too long is judged as any other value.

In a planned state (idle: `drift_states`, the `planned` state codes), a value carried
beyond an edge by the state's own drift is no excursion either: each edge
learns the usual slope of the values near it (within `EDGE_BAND` of the width; a slope
is an average of the last steps, `SLOPE_ALPHA`). Where values usually leave through that
edge (an idle spindle is still cooling when short idles end at the low edge of the idle
range, by at least `DRIFT_MIN_STEPS` of the signal's typical step: a drift, not the
noise of the values that happen to reach an edge), a value beyond it moving the same way
no faster than `DRIFT_FACTOR` times that slope is the drift carrying on (a long idle cools further, a worn machine's plateau creeps
up) and widens the range; a value shooting past an edge the values usually rest at, or
moving against the state's drift (an idle machine heating up), is judged. Only planned
states follow their drift: a machine left alone settles towards its surroundings, while a
running machine heating past its usual range is what an overheat looks like.

Re-learning (`relearn`, after a repair: worn parts replaced change what is normal): the
range takes every value again for `relearn_samples` samples, on top of what it had learnt.

Learning: during the state's first `learn_samples` samples the range takes every value.
After that, a value beyond an edge moves it only by `CREEP` of the excess (so a fault's
ramp outruns it while years of wear are followed), and an edge the values no longer reach
drifts back towards them by `SHRINK` of the gap a sample (about a day at 1 Hz), so one worn
week does not widen the range for ever. Values are learnt only while nothing is raised and
only within the margin: an excursion waiting for confirmation does not widen the range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

CREEP: Final = 1.0 / 200.0
SHRINK: Final = 1.0 / 100_000.0
SETTLE_FACTOR: Final = 2.0
CARRY_SHARE: Final = 0.5
SETTLE_DECAY: Final = 0.98
SLOPE_ALPHA: Final = 0.1
EDGE_ALPHA: Final = 0.01
EDGE_BAND: Final = 0.1
DRIFT_FACTOR: Final = 3.0
DRIFT_MIN_STEPS: Final = 0.25


@dataclass(frozen=True, slots=True)
class RangeSettings:
    """How a state's range is learnt and judged (see the module docstring)."""

    enabled: bool = True
    margin: float = 0.15
    noise_margin: float = 4.0
    learn_samples: int = 1800
    confirm_samples: int = 5
    clear_samples: int = 30
    settle_min_s: float = 600.0
    relearn_samples: int = 150
    drift_states: frozenset[float] = frozenset({0.0})
    rise_enabled: bool = True  # the rate of rise judged per state (edge_agent.rise_rate)


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
        "_edge_high",
        "_edge_low",
        "_entry",
        "_follows",
        "_inside",
        "_last_ms",
        "_last_x",
        "_left_by",
        "_outside",
        "_previous",
        "_settling",
        "_slope",
        "_start_ms",
        "high",
        "low",
        "raised",
        "samples",
        "settings",
        "settle_peak_ms",
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
        self._start_ms: int | None = None  # the current stay's first sample (None: to come)
        self._last_ms = 0
        self._entry = 0.0  # the excess at the stay's first sample
        self._settling = False  # the stay began outside and has not come inside yet
        self._previous = math.nan  # the last value before the stay
        self._last_x = math.nan  # the stay's last value
        self._slope = 0.0  # the recent average step within the stay
        self._edge_low = 0.0  # the usual slope of the values near the low edge
        self._edge_high = 0.0
        self._follows = False  # whether this stay follows the state's drift
        self.settle_peak_ms = 0.0  # the longest recent warm-up (decaying)

    def enter(self, previous: float = math.nan, *, follows: bool = False) -> None:
        """A new stay in the state begins: its next sample is the first; `previous` is
        the signal's last value before it (NaN: none); `follows`: a planned state, whose
        own drift beyond an edge is followed."""
        self._follows = follows
        if self._settling and self._start_ms is not None:
            # the last stay ended before coming inside: a warm-up at least this long
            self._note_settled(self._last_ms - self._start_ms)
        self._start_ms = None
        self._settling = False
        self._outside = 0
        self._previous = previous

    def relearn(self) -> RangeChange | None:
        """Take every value again for `relearn_samples` samples (the machine's normal has
        changed, e.g. by a repair), keeping what was learnt; clears a raise."""
        change = self.release()
        if self.learnt:
            self.samples = max(1, self.settings.learn_samples - self.settings.relearn_samples)
        return change

    @property
    def settle_limit_ms(self) -> float:
        """How long a warm-up from outside the range is excused."""
        return max(SETTLE_FACTOR * self.settle_peak_ms, 1000.0 * self.settings.settle_min_s)

    def _note_settled(self, ms: int) -> None:
        self.settle_peak_ms = max(self.settle_peak_ms * SETTLE_DECAY, float(ms))

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

    def update(
        self, x: float, noise: float = 0.0, sensitivity: float = 1.0, ts_ms: int = 0
    ) -> RangeChange | None:
        """Judge and learn one finite sample; returns a raise or clear, usually None.

        `noise` is the signal's typical step from one sample to the next in this state:
        the margin is never below `noise_margin` of them, so noise alone does not leave a
        narrow range. The margin is divided by the signal's `sensitivity`."""
        s = self.settings
        self.samples = n = self.samples + 1
        self._last_ms = ts_ms
        first = self._start_ms is None
        if first:
            self._start_ms = ts_ms
            self._slope = 0.0
        else:
            self._slope += SLOPE_ALPHA * ((x - self._last_x) - self._slope)
        self._last_x = x
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
        if first:
            if self._begin(x, excess, limit):
                return None
        elif self._settling and self._warming_up(excess, limit, ts_ms - (self._start_ms or 0)):
            return None
        change = None
        if (
            self._follows
            and abs(excess) > limit
            and not self.raised
            and self._drifting(excess, noise)
        ):
            self._follow(x, excess)
            return None
        if excess == 0.0 and not self.raised:
            self._learn_edges(x)
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

    def _begin(self, x: float, excess: float, limit: float) -> bool:
        """The stay's first judged sample: whether it begins a warm-up from outside."""
        self._entry = excess
        carried = abs(x - self._previous) < CARRY_SHARE * abs(excess)  # False for NaN
        self._settling = carried and abs(excess) > limit
        return self._settling

    def _follow(self, x: float, excess: float) -> None:
        """The state's own drift carried the value beyond an edge: the range follows."""
        if excess < 0.0:
            self.low = x
        else:
            self.high = x
        self._outside = 0

    def _learn_edges(self, x: float) -> None:
        band = EDGE_BAND * (self.high - self.low)
        if x - self.low <= band:
            self._edge_low += EDGE_ALPHA * (self._slope - self._edge_low)
        if self.high - x <= band:
            self._edge_high += EDGE_ALPHA * (self._slope - self._edge_high)

    def _drifting(self, excess: float, noise: float) -> bool:
        """Whether a value beyond an edge moves out the way values usually leave through
        it, no faster (see the module docstring)."""
        if excess < 0.0:
            usual, now = -self._edge_low, -self._slope
        else:
            usual, now = self._edge_high, self._slope
        return usual > DRIFT_MIN_STEPS * noise and 0.0 < now <= DRIFT_FACTOR * usual

    def _warming_up(self, excess: float, limit: float, age_ms: int) -> bool:
        """Whether a stay that began outside is still on its way in (see the module
        docstring); notes the warm-up's length when it ends by coming inside."""
        entry = self._entry
        same_side = excess < 0.0 if entry < 0.0 else excess > 0.0
        if not same_side or abs(excess) <= limit:
            self._settling = False
            if abs(excess) <= limit:
                self._note_settled(age_ms)
            return False
        if abs(excess) > abs(entry) + limit:
            self._settling = False  # turned away: no warm-up
            return False
        # past the settle time it is judged, but its length is still learnt when it ends
        return age_ms <= self.settle_limit_ms

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
