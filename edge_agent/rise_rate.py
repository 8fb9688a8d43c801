"""A signal rising faster than its state's physics allows for where it is.

A spindle's temperature follows its heat balance: in each operating state it heads for
that state's plateau, the faster the further away it is (Newton's law of cooling, dT/dt =
(T∞ − T)/τ). A warm-up after a cold start rises fast, but at the rate its level calls for;
an overheat (a coolant failure, a seizing bearing, a dragging brake) adds heat, so the
temperature rises faster than usual *for its level*, from the moment it begins and
whether the machine was cold or warm, long before it leaves the range a long run spans.
Fire alarms' rate-of-rise heat detectors (EN 54-5 class A1R) judge the rate alone; here
the rate is judged against the rate learnt at that level, so a warm-up raises nothing.

`RiseRate` keeps, for one signal judged per state (`edge_agent.modes`), the stay's
smoothed level and slope: the same exponential filter (time constant `FILTER_S`, restarted
at each change of state, both as weighted averages over the stay's samples) applied to the
value and to its rate of change, so for a first-order signal the pair obeys the same
straight line, slope = a + b · level, with no lag between them. Per state (and product
family) it learns that line by least squares from finished stays (each stay's sums added
with the earlier ones decaying by `STAY_DECAY` a stay; its steepness within stays, see
`SlopeLine`), and how far the stays usually rose
above it: the largest excess of each stay, a peak decaying by `PEAK_DECAY` a stay.

After `MIN_STAYS` learnt stays, on a line of a signal with inertia (heading for a plateau
no faster than the filter: `SlopeLine.learnt`; vibration and current, noise about a level,
are not judged), a sample whose slope exceeds the line at its level by more
than `PEAK_FACTOR` times that peak, and by more than a rise that would cross the state's
normal range (`width`, from `edge_agent.state_range`) in `HORIZON_S`, for
`CONFIRM_SAMPLES` judged samples in a row, raises `rise_rate`. The filters take every
sample; they are learnt from and judged once their weight reaches `MIN_WEIGHT` (about 0.7
`FILTER_S` into the stay), on samples at least `JUDGE_EVERY_MS` apart (at 10 Hz one in
ten: the smoothed pair barely moves within a second of a 20 s filter). It clears when the excess
falls below `CLEAR_SHARE` of the limit or the stay ends. Stays with a raise are not learnt,
nor stays during which the machine had an incident (`excused`, set by `DetectorBank`).
Only rises over the usual are judged: a fall faster than usual is a machine cooling (a
stop, a door opened), not a hazard of its own; a reading that holds where it should fall
(heat that does not leave, a stuck sensor) is a rise over the usual and is judged. O(1)
time and memory per sample.
"""

from __future__ import annotations

import math
from typing import Final, Literal

from edge_agent.detectors import Anomaly
from edge_agent.state_range import StateRange

FILTER_S: Final = 20.0
MIN_WEIGHT: Final = 0.5
MIN_STAYS: Final = 10
MIN_FIT: Final = 0.5
STAY_DECAY: Final = 0.98
PEAK_DECAY: Final = 0.99
PEAK_FACTOR: Final = 2.0
HORIZON_S: Final = 300.0
CONFIRM_SAMPLES: Final = 3
JUDGE_EVERY_MS: Final = 1000
CLEAR_SHARE: Final = 0.5
_MIN_SPREAD: Final = 1e-12  # below this variance of levels the line is flat (b = 0)

Key = tuple[float | None, str]


class IncidentFlag:
    """Whether a machine has an open incident, shared by its signals' `RiseRate`s (kept
    by `DetectorBank` when incident events are made, not on every sample)."""

    __slots__ = ("open",)

    def __init__(self) -> None:
        self.open = False


class SlopeLine:
    """What one state's stays taught: the line slope = a + b · level and the peak of the
    stays' largest excess over it.

    The steepness `b` (−1/τ: the thermal mass's, the same on a worn machine as on a new
    one) is fitted within stays (each stay's levels and slopes about their own means),
    the height `a` over all of them: a worn machine's hotter plateau raises a stay's whole
    line, and pooling levels across stays would tilt `b` by it (warm stays of worn
    machines rise faster at higher levels), wrongly extrapolated to the next cold start.
    """

    __slots__ = ("a", "b", "fit", "peak", "stays", "sw", "sx", "sy", "wxx", "wxy", "wyy")

    def __init__(self) -> None:
        self.sw = self.sx = self.sy = self.wxx = self.wxy = self.wyy = 0.0
        self.fit = 0.0
        self.a = self.b = 0.0
        self.peak = 0.0
        self.stays = 0

    def add(self, sums: tuple[float, ...], excess: float) -> None:
        """Learn one finished stay: its regression sums (count, level, slope, level²,
        level · slope, slope²) and its largest excess over the line as it stood during
        the stay."""
        sw, sx, sy, sxx, sxy, syy = sums
        if sw <= 0.0:
            return
        d = STAY_DECAY
        self.sw = self.sw * d + sw
        self.sx = self.sx * d + sx
        self.sy = self.sy * d + sy
        self.wxx = self.wxx * d + max(0.0, sxx - sx * sx / sw)
        self.wxy = self.wxy * d + (sxy - sx * sy / sw)
        self.wyy = self.wyy * d + max(0.0, syy - sy * sy / sw)
        if self.stays:  # judged against the line of the stays before it
            self.peak = max(self.peak * PEAK_DECAY, excess)
        self.stays += 1
        self.b = self.wxy / self.wxx if self.wxx > _MIN_SPREAD * self.sw else 0.0
        self.a = (self.sy - self.b * self.sx) / self.sw
        spread = self.wxx * self.wyy
        self.fit = self.wxy * self.wxy / spread if spread > 0.0 else 0.0

    @property
    def learnt(self) -> bool:
        """Whether the line judges: `MIN_STAYS` stays learnt, and a signal with inertia:
        the line heads for a plateau (b < 0) with a time constant −1/b no shorter than
        `FILTER_S` (slower than the filter, which resolves nothing faster: a reading
        settling within seconds after a step is not judged) and the level explains at
        least `MIN_FIT` of the slope's variance within stays (R²; noise about a level, a
        vibration, has none)."""
        return self.stays >= MIN_STAYS and -1.0 <= self.b * FILTER_S < 0.0 and self.fit >= MIN_FIT


class RiseRate:
    """One signal's smoothed level and slope in its current stay, and the line per state."""

    __slots__ = (
        "_a",
        "_alpha",
        "_b",
        "_dt",
        "_judging",
        "_key",
        "_last_ms",
        "_last_x",
        "_level",
        "_limit_peak",
        "_line",
        "_max_excess",
        "_next_ms",
        "_outside",
        "_slope",
        "_sums",
        "_weight",
        "excused",
        "incident",
        "lines",
        "raised",
        "usual",
        "width",
    )

    def __init__(self, incident: IncidentFlag | None = None) -> None:
        self.incident = incident  # the machine's: a stay begun during an incident is excused
        self.lines: dict[Key, SlopeLine] = {}
        self._key: Key | None = None
        self._line: SlopeLine | None = None
        self.raised = False
        self.excused = False
        self._dt = -1.0
        self._alpha = 0.0
        self._begin()

    def _begin(self) -> None:
        self._last_ms: int | None = None
        self._last_x = 0.0
        self._weight = self._level = self._slope = 0.0
        self._sums = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        self._max_excess = -math.inf
        self._outside = 0
        self._next_ms = 0  # the next sample learnt and judged from
        line = self._line
        self._a, self._b = (line.a, line.b) if line is not None else (0.0, 0.0)
        self._limit_peak = PEAK_FACTOR * line.peak if line is not None else 0.0
        self._judging = line is not None and line.learnt
        self.usual = math.nan  # the rate the line gives at the last judged level
        self.width = 0.0  # the state's range at the last judged sample

    def enter(self, key: Key, max_keys: int = 16) -> bool:
        """A new stay begins in state `key`: the last one, if judged, not raised and not
        `excused`, is learnt. Returns whether a raise ended with it."""
        was_raised = self.raised
        line = self._line
        if line is not None and not (was_raised or self.excused) and self._sums[0] > 0.0:
            line.add(tuple(self._sums), self._max_excess)
        self._key = key
        line = self.lines.get(key)
        if line is None and len(self.lines) < max_keys:
            line = self.lines[key] = SlopeLine()
        self._line = line
        self.raised = False
        self.excused = self.incident is not None and self.incident.open
        self._begin()
        return was_raised

    def update(
        self, ts_ms: int, x: float, state_range: StateRange | None
    ) -> Literal["raised", "cleared"] | None:
        """One sample of the stay; `state_range` is the state's normal range (nothing is
        judged until it is learnt: its width sets the smallest rise judged). Returns
        "raised" or "cleared" when this sample raises or clears `rise_rate`, usually
        None."""
        last = self._last_ms
        self._last_ms = ts_ms
        previous, self._last_x = self._last_x, x
        if last is None or ts_ms <= last:
            return None
        dt = (ts_ms - last) / 1000.0
        if dt != self._dt:
            self._dt = dt
            self._alpha = -math.expm1(-dt / FILTER_S)
        alpha = self._alpha
        keep = 1.0 - alpha
        self._weight = weight = self._weight * keep + alpha
        self._level = self._level * keep + alpha * 0.5 * (x + previous)
        self._slope = self._slope * keep + alpha * (x - previous) / dt
        if weight < MIN_WEIGHT or ts_ms < self._next_ms:
            return None
        self._next_ms = ts_ms + JUDGE_EVERY_MS
        level, slope = self._level / weight, self._slope / weight
        s = self._sums
        s[0] += 1.0
        s[1] += level
        s[2] += slope
        s[3] += level * level
        s[4] += level * slope
        s[5] += slope * slope
        line = self._line
        if line is None or not line.stays:
            return None
        self.usual = usual = self._a + self._b * level
        excess = slope - usual
        self._max_excess = excess if excess > self._max_excess else self._max_excess
        if not self._judging or state_range is None or not state_range.learnt:
            return None
        self.width = width = state_range.high - state_range.low
        floor = width / HORIZON_S
        limit = self._limit_peak if self._limit_peak > floor else floor
        if self.raised:
            if excess < CLEAR_SHARE * limit:
                self.raised = False
                return "cleared"
            return None
        if excess > limit:
            self._outside += 1
            if self._outside >= CONFIRM_SAMPLES:
                self.raised = True
                return "raised"
        else:
            self._outside = 0
        return None

    def limit(self, width: float) -> float:
        """The excess over the usual slope that raises, for a range of `width`."""
        floor = width / HORIZON_S
        return self._limit_peak if self._limit_peak > floor else floor

    @property
    def slope(self) -> float:
        """The stay's smoothed slope (per second; 0 before the filters are judged)."""
        return self._slope / self._weight if self._weight >= MIN_WEIGHT else 0.0


def rise_anomaly(
    signal: str,
    rise: RiseRate,
    state: str,
    ts_ms: int,
    window: tuple[float, ...],
    why: str = "rising no faster than usual for its level",
) -> Anomaly:
    """The `rise_rate` raise or clear (for `why`) of one signal."""
    if state == "cleared":
        return Anomaly(
            signal=signal,
            detector="rise_rate",
            state="cleared",
            score=0.0,
            window=window,
            reason=why,
            ts_ms=ts_ms,
        )
    slope, usual = rise.slope * 60.0, rise.usual * 60.0
    limit = rise.limit(rise.width)
    reason = f"{_moving(slope)} a minute where {_moving(usual)} is usual at this level"
    return Anomaly(
        signal=signal,
        detector="rise_rate",
        state="raised",
        score=(rise.slope - rise.usual) / limit if limit > 0.0 else 1.0,
        window=window,
        reason=reason,
        ts_ms=ts_ms,
        expected=usual,
    )


def _moving(per_minute: float) -> str:
    """ "rising 12.5", "falling 3.2" (per minute: an operator's rate of rise)."""
    return f"{'rising' if per_minute >= 0.0 else 'falling'} {abs(per_minute):.3g}"


__all__ = ["MIN_STAYS", "IncidentFlag", "RiseRate", "SlopeLine", "rise_anomaly"]
