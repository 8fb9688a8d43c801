"""Factory capacity pools: opening hours, busy time, unavailable machines, booking."""

from __future__ import annotations

import pytest

from coordinator.sales.capacity import CapacityPool, OpeningHours, pool_from_schedule

MONDAY = 1_796_601_600.0  # 2026-12-07 00:00 UTC, a Monday
H = 3600.0


def test_opening_hours_give_weekday_shifts_in_local_time() -> None:
    """08:00–17:00 Monday to Friday at UTC+8 is 00:00–09:00 UTC; the weekend is closed."""
    hours = OpeningHours(open_min=8 * 60, close_min=17 * 60, weekdays=frozenset(range(5)),
                         utc_offset_min=480)  # fmt: skip
    week = hours.open_intervals(MONDAY, MONDAY + 7 * 24 * H)
    assert week[0] == (MONDAY, MONDAY + 9 * H)
    assert len(week) == 5
    assert sum(b - a for a, b in week) == 45 * H


def test_a_night_shift_runs_past_midnight() -> None:
    """22:00–06:00 opens eight hours that straddle midnight."""
    hours = OpeningHours(open_min=22 * 60, close_min=6 * 60)
    found = hours.open_intervals(MONDAY, MONDAY + 24 * H)
    assert found == [(MONDAY, MONDAY + 6 * H), (MONDAY + 22 * H, MONDAY + 24 * H)]


@pytest.mark.parametrize(
    "kwargs",
    [{"open_min": -1}, {"close_min": 0}, {"weekdays": frozenset()}, {"weekdays": frozenset({7})},
     {"utc_offset_min": 900}],
)  # fmt: skip
def test_bad_opening_hours_are_refused(kwargs: dict[str, object]) -> None:
    """Minutes outside a day, no or unknown weekdays, impossible offsets."""
    with pytest.raises(ValueError, match="must"):
        OpeningHours(**kwargs)  # type: ignore[arg-type]


def test_pool_counts_free_open_time_of_machines_that_are_up() -> None:
    """Two machines open 8 h a day: one busy 2 h (of which 1 h outside opening), one down;
    the share offered and the reserve split what is left."""
    hours = OpeningHours(open_min=0, close_min=8 * 60)
    pool = pool_from_schedule(
        machines=["m1", "m2", "m3"],
        busy={"m1": [(MONDAY + 7 * H, MONDAY + 9 * H)]},
        unavailable=["m3"],
        hours=hours,
        share=0.5,
        reserve_share=0.25,
        start_s=MONDAY,
        horizon_s=24 * H,
        bucket_s=24 * H,
    )
    free_machine_s = (8 * H - 1 * H) + 8 * H  # m1 loses the open hour only; m3 is down
    assert pool.free[0] + pool.reserve[0] == pytest.approx(free_machine_s * 0.5)
    assert pool.reserve[0] == pytest.approx(free_machine_s * 0.5 * 0.25)


def test_finish_interpolates_and_booking_takes_free_before_reserve() -> None:
    """Work finishes inside the bucket where it is covered; booking without the reserve
    never touches it; booking past the horizon is refused."""
    pool = CapacityPool(start_s=0.0, bucket_s=H, free=[H, H], reserve=[H, 0.0])
    assert pool.finish_s(1.5 * H, use_reserve=False) == pytest.approx(1.5 * H)
    assert pool.finish_s(1.5 * H, use_reserve=True) == pytest.approx(0.75 * H)
    assert pool.finish_s(3.5 * H, use_reserve=True) is None
    assert pool.work_by(1.5 * H, use_reserve=True) == pytest.approx(2.5 * H)
    copy = pool.copy()
    copy.book(1.5 * H, use_reserve=False)
    assert copy.free == [0.0, 0.5 * H]
    assert copy.reserve == [H, 0.0]
    assert pool.free == [H, H]  # the original is untouched
    with pytest.raises(ValueError, match="horizon"):
        copy.book(H, use_reserve=False)
