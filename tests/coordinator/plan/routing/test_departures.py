"""Dynamic dispatch: a planned tour leaves when full, when a promise needs it, or when its
oldest stop has waited long enough; otherwise it is held."""

from __future__ import annotations

import math

import pytest

from coordinator.plan.routing.departures import (
    DeparturePolicy,
    PendingStop,
    could_depart,
    departure_reason,
    latest_departure_s,
)

POLICY = DeparturePolicy(fill_share=0.8, max_wait_s=3600.0)


def _reason(*, load: int = 10, oldest: float = 900.0, latest: float = math.inf) -> str | None:
    return departure_reason(
        load=load,
        capacity=60,
        oldest_ready_s=oldest,
        latest_departure=latest,
        next_chance_s=2800.0,
        policy=POLICY,
    )


def test_a_thin_fresh_tour_without_pressing_promises_is_held() -> None:
    """10 of 60 units, waited 100 s, promises far ahead: it waits for the next chance."""
    assert _reason() is None


def test_a_tour_leaves_when_full_enough() -> None:
    """48 of 60 units is 80 %: it leaves."""
    assert _reason(load=48) == "full"
    assert _reason(load=47) is None


def test_a_tour_leaves_when_waiting_would_miss_a_promise() -> None:
    """Its latest departure is before the next chance: it leaves now, not after it."""
    assert _reason(latest=2799.0) == "promise"
    assert _reason(latest=2800.0) is None


def test_a_tour_leaves_when_its_oldest_stop_would_wait_too_long() -> None:
    """Max wait 1 h, next chance at 2800: a stop ready since 1800 would wait 1000 s, one
    ready since -1000 would wait 3800 s: that tour leaves now."""
    assert _reason(oldest=1800.0) is None
    assert _reason(oldest=-1000.0) == "waited"


def test_no_tour_is_held_over_the_night() -> None:
    """At the day's last look the next chance is 12 h away: even a fresh thin tour leaves."""
    reason = departure_reason(
        load=3,
        capacity=60,
        oldest_ready_s=1000.0,
        latest_departure=math.inf,
        next_chance_s=1000.0 + 12 * 3600.0,
        policy=POLICY,
    )
    assert reason == "waited"


def test_latest_departure_is_the_tightest_promise_less_its_offset() -> None:
    """Stops 600 s and 1500 s out, due at 5000 and 4000: leave by 2500; no promises: inf."""
    assert latest_departure_s([600.0, 1500.0], [5000.0, 4000.0]) == 2500.0
    assert latest_departure_s([600.0], [None]) == math.inf


def _could(stops: list[PendingStop]) -> bool:
    return could_depart(stops, capacity=60, next_chance_s=2800.0, policy=POLICY)


def test_could_depart_is_false_only_when_no_rule_can_fire() -> None:
    """The router is skipped for a few fresh units far from their promise, not otherwise."""
    fresh = PendingStop(units=5, ready_s=900.0, due_s=90_000.0, min_offset_s=1200.0)
    assert _could([]) is False
    assert _could([fresh] * 3) is False
    assert _could([fresh] * 10) is True  # 50 units: a tour may fill
    assert _could([PendingStop(units=1, ready_s=-1000.0, due_s=None, min_offset_s=0.0)])
    assert _could([PendingStop(units=1, ready_s=900.0, due_s=3500.0, min_offset_s=1200.0)])


@pytest.mark.parametrize(
    ("fill", "wait"), [(0.0, 60.0), (1.5, 60.0), (0.5, -1.0), (0.5, math.inf), (math.nan, 1.0)]
)
def test_bad_thresholds_are_refused(fill: float, wait: float) -> None:
    """A fill share outside (0, 1] or a negative or infinite wait is a ValueError."""
    with pytest.raises(ValueError, match=r"fill_share|max_wait_s"):
        DeparturePolicy(fill_share=fill, max_wait_s=wait)
