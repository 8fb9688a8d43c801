"""Days inside the forecast horizon on which the whole panel is expected to be closed:
last year's closures carried forward by a yearly calendar rule.

A closure is a day on which no series of the panel sold although that was improbable
(`features.closed_days`: bank holidays, Christmas, a stock-take). Shops close on the
same holidays every year, but a holiday recurs a year later in one of three ways:
- with Easter (Good Friday, Easter Monday, Ascension, Whit Monday, Corpus Christi),
  for a closure `EASTER_OFFSETS` days from its year's Easter Sunday (the Gregorian
  computus, Meeus/Jones/Butcher);
- on the same weekday 364 days later ("the last Monday of May");
- on the same calendar date (Christmas Day, New Year's Day, national days).
Each closure of the year before a target day is carried by the rule that its own year
before supports best (the day the rule maps back to closed: +1, open: -1, not seen or on a
weekday the panel never trades: 0); ties go to Easter for a closure on an Easter offset,
then to the weekday rule. With less than two years of history there is no evidence, so
Easter-offset closures follow Easter and all others the weekday (on the retail set's
validation windows the May bank holidays recur by weekday, 2010's Easter closures
with Easter; the date rule put every bank holiday a day late).

The forecast is then 0 on an expected closure (the output head multiplies by the
feature `target_open`, when its inner windows do not say that hurts).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from coordinator.forecast.model.panel import FloatArray, IntArray

# Days from Easter Sunday of the movable feasts shops close on: Maundy Thursday to
# Easter Monday, Ascension (+39), Whit Sunday and Monday (+49, +50), Corpus Christi (+60).
EASTER_OFFSETS = (-3, -2, -1, 0, 1, 39, 49, 50, 60)
# History the calendar reads: two years and a horizon, so a closure a year before the
# target can be checked against the year before it.
CALENDAR_DAYS = 2 * 366 + 35
_EPOCH = dt.date(1970, 1, 1)


def easter_sunday(year: int) -> int:
    """Easter Sunday of a Gregorian year as days since 1970-01-01 (Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return (dt.date(year, month, day + 1) - _EPOCH).days


def _date(day: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(day))


def _same_date_year_before(day: int) -> int:
    """The same month and day a year earlier (29 February → 28 February)."""
    d = _date(day)
    try:
        before = d.replace(year=d.year - 1)
    except ValueError:
        before = d.replace(year=d.year - 1, day=28)
    return (before - _EPOCH).days


def _easter_offset(day: int) -> int | None:
    offset = day - easter_sunday(_date(day).year)
    return offset if offset in EASTER_OFFSETS else None


class ClosureCalendar:
    """Closed and open days of a panel by calendar day, and the rules carried forward.

    `closed` and `seen` are per calendar day from `first_day` on: closed (a closure),
    and seen (some series observed and its weekday one the panel trades on)."""

    def __init__(self, first_day: int, closed: np.ndarray, seen: np.ndarray) -> None:
        self.first_day = first_day
        self.closed = closed
        self.seen = seen

    def _state(self, day: int) -> int:
        """+1 closed, -1 open, 0 unknown (outside the history or not informative)."""
        i = day - self.first_day
        if not 0 <= i < len(self.closed) or not self.seen[i]:
            return 0
        return 1 if self.closed[i] else -1

    def _sources(self, day: int) -> dict[str, int]:
        """Where each rule says `day`'s holiday was a year earlier."""
        out = {"weekday": day - 364, "date": _same_date_year_before(day)}
        offset = _easter_offset(day)
        if offset is not None:
            out["easter"] = easter_sunday(_date(day).year - 1) + offset
        return out

    def rule_of(self, closure: int) -> str:
        """The rule that carries a closure forward: the best supported by its own year
        before, ties to Easter (on an Easter offset), then the weekday."""
        sources = self._sources(closure)
        order = [r for r in ("easter", "weekday", "date") if r in sources]
        return max(order, key=lambda r: (self._state(sources[r]), -order.index(r)))

    def expected_closed(self, day: int) -> bool:
        """Is `day` a closure carried forward from the year before by its rule?"""
        return any(
            self._state(source) == 1 and self.rule_of(source) == rule
            for rule, source in self._sources(day).items()
        )


def calendar_of(
    closed: np.ndarray, observed: np.ndarray, filled: FloatArray, end_days: IntArray
) -> ClosureCalendar:
    """The panel's calendar from a right-aligned window `[n, w]`: its `closed_days`
    mask, which cells were observed and their values (for the weekdays it trades on)."""
    n, w = closed.shape
    if n and bool((end_days == end_days[0]).all()):  # one calendar: columns are days
        first = int(end_days[0]) - (w - 1)
        sold_on = (filled > 0).any(axis=0)
        weekday = (first + np.arange(w) + 3) % 7
        trades = np.bincount(weekday, weights=sold_on, minlength=7) > 0
        seen = observed.any(axis=0) & trades[weekday]
        return ClosureCalendar(first, np.asarray(closed.any(axis=0)), seen)
    day = end_days[:, None] - (w - 1) + np.arange(w)[None, :]
    first = int(day.min()) if n else 0
    span = int(day.max()) - first + 1 if n else 0
    index = (day - first).ravel()
    by_day_closed = np.bincount(index, weights=closed.ravel(), minlength=span) > 0
    by_day_seen = np.bincount(index, weights=observed.ravel(), minlength=span) > 0
    sold = np.bincount(index, weights=(filled > 0).ravel(), minlength=span) > 0
    weekday = (first + np.arange(span) + 3) % 7
    trades = np.bincount(weekday, weights=sold, minlength=7) > 0
    return ClosureCalendar(first, by_day_closed, by_day_seen & trades[weekday])


def closures_ahead(calendar: ClosureCalendar, end_days: IntArray, horizon: int) -> np.ndarray:
    """Per series and day ahead `[n, horizon]`: is that day an expected closure?"""
    days = end_days[:, None] + 1 + np.arange(horizon)[None, :]
    unique = np.unique(days)
    expected = np.array([calendar.expected_closed(int(d)) for d in unique], dtype=bool)
    return np.asarray(expected[np.searchsorted(unique, days)], dtype=bool)


__all__ = [
    "CALENDAR_DAYS",
    "EASTER_OFFSETS",
    "ClosureCalendar",
    "calendar_of",
    "closures_ahead",
    "easter_sunday",
]
