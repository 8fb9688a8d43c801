"""Several factories planned together, each machine only while its factory is open."""

from __future__ import annotations

from coordinator.plan.orders.specs import JobOrder, OperationOrder
from coordinator.plan.runner import PlanRunner
from coordinator.plan.schedule.hours import OpenIntervals, closed_windows
from coordinator.plan.schedule.problem import Window
from coordinator.plan.triggers import MachineSeen
from fleet_runtime.clock import FakeClock
from tests.coordinator.conftest import command_log

DAY = 86_400.0
T0 = 1_700_006_400.0  # a UTC midnight (2023-11-15)


def test_closed_windows_are_the_complement_in_whole_units() -> None:
    """Open 08:00-18:00 on a day of minutes: closed before 480 and from 1080; a partly open
    unit counts as closed."""
    assert closed_windows(
        [(T0 + 8 * 3600, T0 + 18 * 3600)], start_s=T0, end_s=T0 + DAY, epoch_s=T0, unit_s=60
    ) == (Window(0, 480), Window(1080, 1440))
    assert closed_windows(
        [(T0 + 30, T0 + 150)], start_s=T0, end_s=T0 + 300, epoch_s=T0, unit_s=60
    ) == (Window(0, 1), Window(2, 5))


def test_always_open_and_never_open() -> None:
    """Open throughout: no window; never open: one window over the span."""
    assert closed_windows([(T0, T0 + DAY)], start_s=T0, end_s=T0 + DAY, epoch_s=T0, unit_s=60) == ()
    assert closed_windows([], start_s=T0, end_s=T0 + 600, epoch_s=T0, unit_s=60) == (Window(0, 10),)


def test_days_open_around_the_clock_leave_no_unit_closed_at_midnight() -> None:
    """A factory open 00:00-24:00 gives one period per day, touching at midnight; with plan
    units not aligned to midnight (the epoch is when planning started), no unit between
    them is closed (a closed unit there held a 200-minute job until after midnight)."""
    start = T0 - 184 * 60 + 17.5  # 20:56:17.5 UTC, unit edges 17.5 s past each minute
    days = [(start, T0), (T0, T0 + DAY), (T0 + DAY, T0 + 2 * DAY)]
    end = start + 3000 * 60  # a whole number of units, within the third day
    assert closed_windows(days, start_s=start, end_s=end, epoch_s=start, unit_s=60) == ()
    overlapping = [(start, T0 + 60), (T0, T0 + 2 * DAY)]
    assert closed_windows(overlapping, start_s=start, end_s=end, epoch_s=start, unit_s=60) == ()


def _daily(open_h: float, close_h: float) -> OpenIntervals:
    """Open every day from `open_h` to `close_h` (UTC hours)."""

    def intervals(start_s: float, end_s: float) -> list[tuple[float, float]]:
        days = range(int((start_s - T0) // DAY) - 1, int((end_s - T0) // DAY) + 1)
        spans = [(T0 + d * DAY + open_h * 3600, T0 + d * DAY + close_h * 3600) for d in days]
        return [(max(a, start_s), min(b, end_s)) for a, b in spans if b > start_s and a < end_s]

    return intervals


def test_two_factories_are_planned_together_each_within_its_hours() -> None:
    """m1 (factory A, open 06-14) and m2 (factory B, open 14-22) share one schedule: a job
    needing both runs its first step in A's hours and its second in B's."""
    clock = FakeClock(T0)
    runner = PlanRunner(clock=clock, commands=command_log(clock=clock), time_limit_s=1.0)
    runner.apply([MachineSeen("a", "m1"), MachineSeen("b", "m2")])
    runner.set_opening_hours({"m1": _daily(6, 14), "m2": _daily(14, 22)})
    runner.submit_orders(
        [
            JobOrder(f"j{k}", (OperationOrder({"m1": 3600.0}), OperationOrder({"m2": 3600.0})))
            for k in range(3)
        ]
    )
    clock.advance(5.0)
    assert runner.service.tick()
    plan = runner.schedule()
    for machine, (opens, closes) in (("m1", (6, 14)), ("m2", (14, 22))):
        ops = plan["machines"][machine]
        assert len(ops) == 3
        for op in ops:
            start_h = (op["start"] * 60) / 3600 % 24
            end_h = (op["end"] * 60) / 3600 % 24 or 24
            assert opens <= start_h, (machine, op)
            assert end_h <= closes, (machine, op)
