"""Factory capacity pools: opening hours, busy time, unavailable machines, booking."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _finish_by_scan(pool: CapacityPool, work_s: float, use_reserve: bool) -> float | None:
    """The plain definition: walk the buckets until `work_s` is used up."""
    if work_s <= 0:
        return pool.start_s
    left = work_s
    for i in range(len(pool.free)):
        usable = pool.free[i] + (pool.reserve[i] if use_reserve else 0.0)
        if usable >= left:
            return pool.start_s + pool.bucket_s * (i + left / usable)
        left -= usable
    return None


def _work_by_scan(pool: CapacityPool, deadline_s: float, use_reserve: bool) -> float:
    total = 0.0
    for i in range(len(pool.free)):
        lo = pool.start_s + i * pool.bucket_s
        if lo >= deadline_s:
            break
        usable = pool.free[i] + (pool.reserve[i] if use_reserve else 0.0)
        total += usable * min(1.0, (deadline_s - lo) / pool.bucket_s)
    return total


_seconds = st.floats(0, 3 * H, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(
    free=st.lists(st.sampled_from([0.0, 0.5 * H, H, 2.5 * H, 7.2 * H]), min_size=1, max_size=40),
    reserve_share=st.sampled_from([0.0, 0.1, 0.25]),
    bookings=st.lists(st.tuples(_seconds, st.booleans()), max_size=6),
    asks=st.lists(
        st.tuples(st.floats(-2 * H, 50 * H, allow_nan=False), st.booleans()),
        min_size=1,
        max_size=8,
    ),
)
def test_running_totals_answer_as_the_plain_scan_after_any_bookings(
    free: list[float],
    reserve_share: float,
    bookings: list[tuple[float, bool]],
    asks: list[tuple[float, bool]],
) -> None:
    """`finish_s` and `work_by` (searches over running totals) equal walking the buckets,
    before and after each booking (a booking drops the totals it changed)."""
    pool = CapacityPool(
        MONDAY, H, [f * (1 - reserve_share) for f in free], [f * reserve_share for f in free]
    )
    for step in range(len(bookings) + 1):
        for amount, use_reserve in asks:
            work, deadline = abs(amount) * len(free) / 10, MONDAY + amount
            expected = _finish_by_scan(pool, work, use_reserve)
            found = pool.finish_s(work, use_reserve=use_reserve)
            assert (found is None) == (expected is None)
            if found is not None and expected is not None:
                assert found == pytest.approx(expected, rel=1e-9, abs=1e-6)
            assert pool.work_by(deadline, use_reserve=use_reserve) == pytest.approx(
                _work_by_scan(pool, deadline, use_reserve), rel=1e-9, abs=1e-6
            )
        if step < len(bookings):
            amount, use_reserve = bookings[step]
            if _finish_by_scan(pool, amount, use_reserve) is not None:
                pool.book(amount, use_reserve=use_reserve)
