"""Watching stock cover: forecasts against live stock, and the stockout_risk alarm."""

from __future__ import annotations

from coordinator.alarms.port import RecordingAlarmSink
from coordinator.forecast.serving.service import Forecast
from coordinator.stock.cover import CoverPolicy
from coordinator.stock.cover_watch import STOCKOUT_RISK, CoverWatch, StockoutRiskRule
from fleet_runtime.clock import FakeClock

POLICY = CoverPolicy(lead_time_days=2, review_days=7)


def _forecast(sku: str, location: str | None, daily: float) -> Forecast:
    days = 14
    return Forecast(
        unique_id=f"{sku}@{location}",
        sku=sku,
        location=location,
        dates=tuple(f"2026-12-{d + 1:02d}" for d in range(days)),
        mean=(daily,) * days,
        p10=(daily,) * days,
        p50=(daily,) * days,
        p90=(daily,) * days,
        model_version="baselines",
        method="MA28",
        fallback=False,
        generated_at_ms=0,
    )


class _World:
    """Forecasts and stock that a test changes between checks."""

    def __init__(self) -> None:
        self.forecasts = [
            _forecast("A", "s1/w1", 4.0),
            _forecast("B", "s1/w1", 1.0),
            _forecast("C", "s1/w2", 4.0),  # no stock level known at w2
            _forecast("D", None, 4.0),  # not a warehouse series
        ]
        self.stock = {("s1", "w1", "A"): 10, ("s1", "w1", "B"): 50, ("s1", "w1", "Z"): 3}

    def levels(self) -> list[tuple[str, str, str, int]]:
        return [(site, node, sku, qty) for (site, node, sku), qty in self.stock.items()]


def _watch(world: _World, sink: RecordingAlarmSink, clock: FakeClock) -> CoverWatch:
    return CoverWatch(
        forecasts=lambda: world.forecasts,
        stock=world.levels,
        policy=POLICY,
        clock=clock,
        interval_s=60,
        rule=StockoutRiskRule(sink, POLICY),
    )


def _alarms(sink: RecordingAlarmSink) -> list[tuple[str, str, str]]:
    return [
        (kind, str(call["source"]), str(call.get("severity", "")))
        for kind, call in sink.calls
        if call["alarm_type"] == STOCKOUT_RISK
    ]


def test_covers_pair_forecasts_with_stock_only_where_both_exist() -> None:
    """A and B at w1 have a forecast and a stock level; C, D and Z lack one of the two."""
    world, sink, clock = _World(), RecordingAlarmSink(), FakeClock()
    covers = _watch(world, sink, clock).check()
    assert [(c.location, c.sku) for c in covers] == [("s1/w1", "A"), ("s1/w1", "B")]
    a, b = covers
    assert a.at_risk  # 10 units at 4 a day: the P90 runs out on day 2
    assert not b.at_risk


def test_alarm_raised_escalated_and_cleared_on_changes_only() -> None:
    """The first check clears what is not at risk (an alarm may be left from before a
    restart) and raises what is; unchanged checks say nothing; deeper risk escalates;
    restocking clears."""
    world, sink, clock = _World(), RecordingAlarmSink(), FakeClock()
    watch = _watch(world, sink, clock)
    watch.check()
    assert _alarms(sink) == [("trigger", "w1/A", "WARNING"), ("clear", "w1/B", "")]
    trigger = next(call for kind, call in sink.calls if kind == "trigger")
    assert "replenish" in str(trigger["message"])
    assert trigger["details"]["proposed"] == 34  # type: ignore[index]
    sink.calls.clear()
    watch.check()
    assert _alarms(sink) == []
    world.stock[("s1", "w1", "A")] = 3  # even the mean demand empties it within 2 days
    watch.check()
    assert _alarms(sink) == [("trigger", "w1/A", "MAJOR")]
    world.stock[("s1", "w1", "A")] = 200
    watch.check()
    assert _alarms(sink)[-1] == ("clear", "w1/A", "")


def test_checks_run_on_the_interval() -> None:
    """`run_pending` checks at once, then only after `interval_s`, seeing new stock."""
    world, sink, clock = _World(), RecordingAlarmSink(), FakeClock()
    watch = _watch(world, sink, clock)
    watch.run_pending()
    world.stock[("s1", "w1", "B")] = 0
    clock.advance(30)
    watch.run_pending()
    assert not watch.latest(sku="B")[0].at_risk  # not checked again yet
    clock.advance(31)
    watch.run_pending()
    assert watch.latest(sku="B")[0].at_risk
    assert [c.sku for c in watch.latest(at_risk=True)] == ["A", "B"]
    assert watch.latest(location="s1/w9") == []
