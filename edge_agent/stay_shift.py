"""How far a signal has moved since its machine's current stay in a state began.

A machine's vibration or motor current is nearly flat through one stay in a state (one
run, one changeover), while its level differs from stay to stay (wear, a repair, another
product): a learnt range must hold every stay's level, so a failing bearing climbs through
the whole range of a machine's worn and new days before it leaves it. Measured from where
the stay began, the same climb stands out within seconds.

`StayShift` keeps, for one signal judged per state (`edge_agent.modes`), the mean of the
stay's first `REFERENCE_SAMPLES` samples as the stay's reference (from the change of
state on, with no settling time: whether a signal settles after a change is for its
learnt usual shifts to tell), and a fast exponentially weighted mean (half-life `FAST_HALF_LIFE`
samples) of the samples since; the shift `z` is their difference in units of the signal's
noise (the standard deviation of a difference of the two means, the noise taken from the
typical step between samples in that state). O(1) time and memory per sample.

It also learns, per state (and product family), how far the signal usually moves within a
stay: the largest shift up and down of each finished stay, averaged over stays
(`USUAL_WEIGHT` a stay). A spindle temperature warming up through every run moves far
within a stay as a matter of course; a vibration does not. A shift counts only beyond what
is usual for the signal in that state, after `MIN_STAYS` stays have been learnt.

The shift alone opens no incident: `joint_shift` (called by `DetectorBank`) raises
`stay_shift` on the signals of one machine when one moves strongly (at least `strong`
noise units and `PEAK_FACTOR` times the largest shift of its recent stays) and another
moves the same way at least moderately (at least `each` units and beyond its average
stay's largest shift), both signals level (no recent stay of theirs in that state moved
beyond `strong`): two related signals each unusual together are
stronger evidence than either alone, and a warm-up is one signal (a spindle temperature is
not level within its stays anyway: its peak is far beyond `strong`). Stays with a raise are
not learnt as usual, nor stays during which the machine had an incident (`excused`, set
by `DetectorBank`: a fault's climb caught by another detector is no usual stay). A raise
clears when the signal's shift falls below `CLEAR_SHARE` of `each` (so a shift hovering
at `each` is one raise) or its stay ends.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final

from edge_agent.detectors import Anomaly

REFERENCE_SAMPLES: Final = 10
FAST_HALF_LIFE: Final = 4.0
USUAL_WEIGHT: Final = 0.05
PEAK_DECAY: Final = 0.99
PEAK_FACTOR: Final = 1.5
CLEAR_SHARE: Final = 0.5
MIN_STAYS: Final = 10
STEP_TO_SIGMA: Final = math.sqrt(math.pi) / 2.0  # E|x1 - x2| = 2σ/√π for white noise
_ALPHA: Final = 1.0 - math.pow(0.5, 1.0 / FAST_HALF_LIFE)
# standard deviation of (fast mean - reference mean) in units of the noise
_SCALE: Final = math.sqrt(1.0 / REFERENCE_SAMPLES + _ALPHA / (2.0 - _ALPHA))

Key = tuple[float | None, str]


class UsualShift:
    """How far a signal usually moves within a stay in one state, up and down: the
    average of the stays' largest shifts, and the largest of recent stays (a peak
    decaying by `PEAK_DECAY` a stay)."""

    __slots__ = ("down", "peak_down", "peak_up", "stays", "up")

    def __init__(self) -> None:
        self.up = self.down = 0.0
        self.peak_up = self.peak_down = 0.0
        self.stays = 0

    def add(self, up: float, down: float) -> None:
        """Count one finished stay's largest shifts (the first stays as a running mean)."""
        self.stays += 1
        w = max(USUAL_WEIGHT, 1.0 / self.stays)
        self.up += w * (up - self.up)
        self.down += w * (down - self.down)
        self.peak_up = max(self.peak_up * PEAK_DECAY, up)
        self.peak_down = max(self.peak_down * PEAK_DECAY, down)

    def usual(self, direction: float) -> tuple[float, float] | None:
        """The average of the stays' largest shifts in `direction` (+1 up, -1 down) and
        the peak of their largest shifts either way (a signal that moves far within its
        stays, whichever way, is not level); None until `MIN_STAYS` stays are learnt."""
        if self.stays < MIN_STAYS:
            return None
        peak = self.peak_up if self.peak_up > self.peak_down else self.peak_down
        return (self.up if direction > 0.0 else self.down), peak


class StayShift:
    """One signal's shift within its current stay, and what is usual per state."""

    __slots__ = (
        "_fast",
        "_judged",
        "_key",
        "_max_down",
        "_max_up",
        "_ref_n",
        "_ref_sum",
        "direction",
        "excused",
        "raised",
        "reference",
        "usual",
        "z",
    )

    def __init__(self) -> None:
        self.usual: dict[Key, UsualShift] = {}
        self._key: Key | None = None
        self.raised = False
        self.excused = False  # the stay saw an incident on its machine: not learnt
        self.direction = 0.0
        self._begin()

    def _begin(self) -> None:
        self._ref_sum = 0.0
        self._ref_n = 0
        self._fast = 0.0
        self._judged = False  # a shift was measured (the noise was known)
        self._max_up = 0.0
        self._max_down = 0.0
        self.reference = math.nan
        self.z = 0.0

    def enter(self, key: Key, max_keys: int = 16) -> bool:
        """A new stay begins in state `key`: the last one, if judged (a shift measured
        with the noise known), not raised and not `excused`, is learnt as usual. Returns
        whether a raise ended with it."""
        old, was_raised = self._key, self.raised
        learn = not (was_raised or self.excused)
        if old is not None and self._judged and learn:
            usual = self.usual.get(old)
            if usual is None and len(self.usual) < max_keys:
                usual = self.usual[old] = UsualShift()
            if usual is not None:
                usual.add(self._max_up, self._max_down)
        self._key = key
        self.raised = self.excused = False
        self._begin()
        return was_raised

    def update(self, x: float, typical_step: float) -> float:
        """One judged sample of the stay; returns the shift `z` (0 while the reference
        is being taken or the noise is not known yet)."""
        if self._ref_n < REFERENCE_SAMPLES:
            self._ref_n += 1
            self._ref_sum += x
            if self._ref_n == REFERENCE_SAMPLES:
                self.reference = self._fast = self._ref_sum / REFERENCE_SAMPLES
            return 0.0
        self._fast = fast = self._fast + _ALPHA * (x - self._fast)
        sigma = typical_step * STEP_TO_SIGMA * _SCALE
        if sigma <= 0.0:
            return 0.0
        self._judged = True
        self.z = z = (fast - self.reference) / sigma
        if z > self._max_up:
            self._max_up = z
        elif -z > self._max_down:
            self._max_down = -z
        return z

    def usual_in(self, direction: float) -> tuple[float, float] | None:
        """`UsualShift.usual` in the current state (None: unknown)."""
        found = self.usual.get(self._key) if self._key is not None else None
        return found.usual(direction) if found is not None else None


def joint_shift(
    shifts: Iterable[tuple[str, StayShift]], *, strong: float, each: float
) -> list[str]:
    """The signals to raise `stay_shift` on, from one machine's (signal, shift) pairs:
    every level signal (no recent stay of its state moved beyond `strong`) moving the same
    way beyond `each` and its average stay's largest shift, when one of them moves beyond
    `strong` and `PEAK_FACTOR` times the largest of recent stays, and at least two do;
    else none."""
    chosen = list(shifts)
    for direction in (1.0, -1.0):
        eligible: list[str] = []
        strong_seen = False
        for signal, shift in chosen:
            z = shift.z * direction
            if z < each:
                continue
            usual = shift.usual_in(direction)
            if usual is None or usual[1] > strong or z < usual[0]:
                continue  # unknown, or a signal that moves within its stays anyway
            eligible.append(signal)
            if z >= strong and z >= PEAK_FACTOR * usual[1]:
                strong_seen = True
        if strong_seen and len(eligible) >= 2:
            return eligible
    return []


def shift_anomaly(
    signal: str,
    shift: StayShift,
    state: str,
    ts_ms: int,
    window: tuple[float, ...],
    each: float,
    why: str = "back near its level at the start of the stay",
) -> Anomaly:
    """The `stay_shift` raise or clear (for `why`) of one signal."""
    if state == "cleared":
        reason = why
        score = 0.0
    else:
        where = "above" if shift.z > 0 else "below"
        reason = (
            f"{abs(shift.z):.3g} noise units {where} its level at the start of the stay "
            f"({shift.reference:.4g}), with another signal of its machine"
        )
        score = abs(shift.z) / each if each > 0 else abs(shift.z)
    return Anomaly(
        signal=signal,
        detector="stay_shift",
        state="raised" if state == "raised" else "cleared",
        score=score,
        window=window,
        reason=reason,
        ts_ms=ts_ms,
        expected=shift.reference,
    )


__all__ = [
    "MIN_STAYS",
    "REFERENCE_SAMPLES",
    "StayShift",
    "UsualShift",
    "joint_shift",
    "shift_anomaly",
]
