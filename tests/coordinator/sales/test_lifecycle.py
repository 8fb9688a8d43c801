"""Order statuses move only on facts that fit where the order stands."""

from __future__ import annotations

import pytest

from coordinator.sales.lifecycle import Standing, TransitionRefused, apply_fact


def _run(*facts: str) -> list[str]:
    standing = Standing("received")
    seen: list[str] = []
    for fact in facts:
        standing, change = apply_fact(standing, fact, at_ms=1, actor="system")
        if change is not None:
            seen.append(change.status)
    return seen


def test_a_made_order_walks_the_whole_flow() -> None:
    """received → promised → in_production → … → delivered, one transition per fact."""
    assert _run("promised", "production_started", "produced", "qc_passed",
                "received_at_warehouse", "picked_up", "delivered") == [
        "promised", "in_production", "produced", "qc_passed", "at_warehouse",
        "out_for_delivery", "delivered"]  # fmt: skip


def test_replayed_or_early_facts_change_nothing() -> None:
    """A second receipt, or a delivery before pick-up, records no transition."""
    assert _run("promised", "reserved", "reserved", "delivered", "picked_up", "picked_up") == [
        "promised",
        "reserved",
        "out_for_delivery",
    ]


def test_a_delay_keeps_the_place_in_the_flow() -> None:
    """`delayed` interrupts, and the next fact continues from where the order was."""
    assert _run("promised", "production_started", "delayed", "delayed", "produced") == [
        "promised",
        "in_production",
        "delayed",
        "produced",
    ]


def test_a_re_plan_delays_once_and_takes_the_order_back_when_on_time_again() -> None:
    """`plan_late` delays like `delayed` (once); `plan_on_time` returns the order to where it
    was, and is no transition for an order that is not delayed (a confirmation)."""
    assert _run("promised", "plan_on_time", "production_started", "plan_late", "plan_late",
                "plan_on_time", "plan_on_time", "produced") == [
        "promised", "in_production", "delayed", "in_production", "produced"]  # fmt: skip
    standing, change = apply_fact(
        Standing("delayed", delayed_from="in_production"), "plan_on_time", at_ms=5,
        actor="planner", reason="confirmed",
    )  # fmt: skip
    assert standing == Standing("in_production")
    by_hand = Standing("delayed")  # an operator's correction to delayed: no place to go back to
    assert apply_fact(by_hand, "plan_on_time", at_ms=6, actor="planner") == (by_hand, None)
    assert change is not None
    assert (change.cause, change.actor) == ("plan_on_time", "planner")


def test_a_failed_delivery_can_be_dispatched_again() -> None:
    """failed_delivery → out_for_delivery on the next pick-up."""
    assert _run("promised", "reserved", "picked_up", "delivery_failed", "picked_up",
                "delivered")[-3:] == ["failed_delivery", "out_for_delivery", "delivered"]  # fmt: skip


def test_cancel_before_shipping_only_and_nothing_after() -> None:
    """Cancelling a reserved order works; a shipped one refuses; a cancelled one takes no fact."""
    standing, _ = apply_fact(Standing("reserved"), "cancelled", at_ms=1, actor="ana")
    assert standing.status == "cancelled"
    with pytest.raises(TransitionRefused):
        apply_fact(standing, "picked_up", at_ms=2, actor="system")
    with pytest.raises(TransitionRefused) as caught:
        apply_fact(Standing("out_for_delivery"), "cancelled", at_ms=1, actor="ana")
    assert caught.value.status == "out_for_delivery"
    with pytest.raises(TransitionRefused):  # a delay does not hide that it shipped
        apply_fact(Standing("delayed", "out_for_delivery"), "cancelled", at_ms=1, actor="ana")


def test_a_correction_is_recorded_as_such() -> None:
    """An operator may set a status; the transition names the correction and its actor."""
    standing, change = apply_fact(
        Standing("in_production"), "correction", at_ms=5, actor="ana", reason="counted by hand",
        to="produced",
    )  # fmt: skip
    assert standing.status == "produced"
    assert change is not None
    assert (change.cause, change.actor, change.reason) == ("correction", "ana", "counted by hand")
    with pytest.raises(TransitionRefused):
        apply_fact(standing, "correction", at_ms=6, actor="ana", to="received")
    with pytest.raises(ValueError, match="unknown fact"):
        apply_fact(standing, "teleported", at_ms=6, actor="ana")
