"""The clock port every component takes, so scenarios can run on simulated time.

`SystemClock` reads the real clocks; `FakeClock` is the in-memory double: time only
moves when someone calls `sleep` or `advance`, which makes tests deterministic and
lets a 30-day scenario run in minutes. `ScaledClock` is a simulated calendar several
processes share (the demo's coordinator and agents): its dates run `speed` times faster
than the machine's from a common origin, while intervals and sleeping stay real.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Wall time for timestamps, monotonic time for intervals, and sleeping."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for `seconds` of this clock's time."""
        ...


def now_ms(clock: Clock) -> int:
    """The clock's wall time in whole milliseconds, the protocol's timestamp unit."""
    return int(clock.now() * 1000)


class SystemClock:
    """The machine's real clocks."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock that moves only when told to; safe to share between threads."""

    def __init__(self, start_s: float = 1_700_000_000.0) -> None:
        self._epoch = start_s
        self._elapsed = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._epoch + self._elapsed

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds` (negative values are refused)."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards (asked for {seconds} s)")
        with self._lock:
            self._elapsed += seconds


MAX_SPEED = 10_000.0


class ScaledClock:
    """Simulated dates that run `speed` times faster than the machine's clock, from
    `origin_s` (a Unix time at which both read the same), so separate processes given the
    same origin and speed agree on the simulated time without talking to each other.

    Only `now` is scaled: every date a process stamps or plans with (reports, plans,
    promises, ETAs) is simulated, while `monotonic` and `sleep` stay real, so the
    process's own machinery (polling, batching, keepalives, re-plan debouncing) keeps
    its wall-time pace and costs no more CPU than at speed 1.
    """

    def __init__(self, *, speed: float, origin_s: float) -> None:
        if not (0 < speed <= MAX_SPEED and math.isfinite(origin_s) and abs(origin_s) < 1e11):
            raise ValueError(f"speed must be in (0, {MAX_SPEED:g}] and origin_s a Unix time")
        self.speed = speed
        self.origin_s = origin_s

    def now(self) -> float:
        return self.origin_s + (time.time() - self.origin_s) * self.speed

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
