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


def test_scaled_clock_dates_run_speed_times_faster_from_the_origin() -> None:
    """A scaled clock's date is the origin plus `speed` times the real time since it
    (bounded by real readings taken around it); its intervals stay real."""
    import time

    from fleet_runtime.clock import ScaledClock

    origin = time.time() - 100.0
    clock = ScaledClock(speed=120.0, origin_s=origin)
    before = time.time()
    simulated = clock.now()
    after = time.time()
    assert origin + (before - origin) * 120.0 <= simulated <= origin + (after - origin) * 120.0
    assert simulated - time.time() > 100.0 * 119.0  # far ahead of the wall clock
    mono_before = time.monotonic()
    assert mono_before <= clock.monotonic() <= time.monotonic()


def test_scaled_clocks_with_one_origin_agree() -> None:
    """Two processes' clocks built from the same origin and speed read the same date
    (within the real time between the readings, scaled)."""
    import time

    from fleet_runtime.clock import ScaledClock

    origin = time.time() - 5.0
    first, second = (
        ScaledClock(speed=60.0, origin_s=origin),
        ScaledClock(speed=60.0, origin_s=origin),
    )
    before = time.time()
    a, b = first.now(), second.now()
    spread = (time.time() - before) * 60.0
    assert 0 <= b - a <= spread


@pytest.mark.parametrize(
    ("speed", "origin"), [(0.0, 0.0), (-1.0, 0.0), (20_000.0, 0.0), (1.0, float("nan"))]
)
def test_scaled_clock_refuses_bad_settings(speed: float, origin: float) -> None:
    """A speed out of (0, 10000] or an origin that is no Unix time is refused."""
    from fleet_runtime.clock import ScaledClock

    with pytest.raises(ValueError, match="speed"):
        ScaledClock(speed=speed, origin_s=origin)
