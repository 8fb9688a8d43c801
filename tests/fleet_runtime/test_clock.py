"""The clock port: the fake clock moves only when told to."""

from __future__ import annotations

import pytest

from fleet_runtime.clock import FakeClock, SystemClock, now_ms


def test_fake_clock_advances_on_sleep() -> None:
    """sleep and advance move both wall and monotonic time by the same amount."""
    clock = FakeClock(start_s=1_700_000_000.0)
    clock.sleep(1.5)
    clock.advance(0.5)
    assert clock.monotonic() == 2.0
    assert clock.now() == 1_700_000_002.0
    assert now_ms(clock) == 1_700_000_002_000


def test_fake_clock_refuses_going_back() -> None:
    """A negative advance is a bug and raises."""
    with pytest.raises(ValueError, match="backwards"):
        FakeClock().advance(-1)


def test_system_clock_moves_forward() -> None:
    """The real clock's monotonic reading never decreases."""
    clock = SystemClock()
    first = clock.monotonic()
    clock.sleep(0.001)
    clock.sleep(0)
    assert clock.monotonic() >= first
    assert clock.now() > 1_700_000_000
