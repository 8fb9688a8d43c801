"""A sales order's status and the facts that move it (pure).

    received → promised → reserved | in_production → produced → qc_passed → at_warehouse
             → out_for_delivery → delivered
    plus delayed (with its reason: the order keeps its place in the flow and leaves `delayed`
    with the next fact), failed_delivery (back to out_for_delivery when re-dispatched) and
    cancelled (before it ships).

A re-plan revises each promise (`coordinator.sales.revision`): `plan_late` delays the order
like `delayed` does, and `plan_on_time` takes a delayed order back to its place in the flow
(an order not delayed stays as it is: a confirmation is no transition).

Every change is a `Transition` with the time, the cause (the fact or request behind it) and
the actor (`system`, a node id, or the API principal); an operator's correction is recorded
as such (`cause="correction"`) and may set any status except back to `received`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Status = Literal[
    "received",
    "promised",
    "reserved",
    "in_production",
    "produced",
    "qc_passed",
    "at_warehouse",
    "out_for_delivery",
    "delivered",
    "delayed",
    "failed_delivery",
    "cancelled",
]
STATUSES: Final[tuple[Status, ...]] = (
    "received",
    "promised",
    "reserved",
    "in_production",
    "produced",
    "qc_passed",
    "at_warehouse",
    "out_for_delivery",
    "delivered",
    "delayed",
    "failed_delivery",
    "cancelled",
)
FINAL: Final = frozenset({"delivered", "cancelled"})
SHIPPED: Final = frozenset({"out_for_delivery", "delivered", "failed_delivery"})

# Which status each fact moves an order to, and from which statuses (a fact arriving when
# the order is elsewhere in the flow, e.g. a replayed receipt, changes nothing).
_FLOW: Final[dict[str, tuple[Status, frozenset[str]]]] = {
    "promised": ("promised", frozenset({"received"})),
    "reserved": ("reserved", frozenset({"promised"})),
    "production_started": ("in_production", frozenset({"promised", "reserved"})),
    "produced": ("produced", frozenset({"in_production"})),
    "qc_passed": ("qc_passed", frozenset({"produced"})),
    "received_at_warehouse": (
        "at_warehouse",
        frozenset({"reserved", "in_production", "produced", "qc_passed"}),
    ),
    "picked_up": (
        "out_for_delivery",
        frozenset({"reserved", "at_warehouse", "qc_passed", "produced", "failed_delivery"}),
    ),
    "delivered": ("delivered", frozenset({"out_for_delivery"})),
    "delivery_failed": ("failed_delivery", frozenset({"out_for_delivery"})),
}
DELAYING: Final = frozenset({"delayed", "plan_late"})
FACTS: Final = frozenset(_FLOW) | DELAYING | {"plan_on_time", "cancelled", "correction"}


class TransitionRefused(ValueError):
    """A change the order's status does not allow; `status` is where the order stands."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Transition:
    """One change of status, stored and pushed by webhook."""

    status: Status
    at_ms: int
    cause: str
    actor: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Standing:
    """Where an order is: its status, and the status it is delayed from (if `delayed`)."""

    status: Status
    delayed_from: Status | None = None

    @property
    def flow_status(self) -> Status:
        """The status in the main flow (the one a delay interrupted)."""
        return self.delayed_from if self.delayed_from is not None else self.status


def apply_fact(
    standing: Standing,
    fact: str,
    *,
    at_ms: int,
    actor: str,
    reason: str = "",
    to: Status | None = None,
) -> tuple[Standing, Transition | None]:
    """The order's new standing after `fact`, and the transition to record (None: no change).

    `to` is the target status of a `correction`. Raises `TransitionRefused` for a cancel
    after shipping or of a delivered order, and for any fact on a cancelled order.
    """
    if fact not in FACTS:
        raise ValueError(f"unknown fact {fact!r}")
    current = standing.flow_status
    if fact == "correction":
        if to is None or to == "received":
            raise TransitionRefused(current, "a correction names any status but received")
        if to == standing.status:
            return standing, None
        return Standing(to), Transition(to, at_ms, "correction", actor, reason)
    if standing.status == "cancelled":
        raise TransitionRefused("cancelled", "the order is cancelled")
    if fact == "cancelled":
        if current in SHIPPED:
            raise TransitionRefused(current, f"the order has shipped ({current})")
        return Standing("cancelled"), Transition("cancelled", at_ms, fact, actor, reason)
    if fact in DELAYING:
        if current in FINAL or standing.status == "delayed":
            return standing, None
        return (
            Standing("delayed", delayed_from=current),
            Transition("delayed", at_ms, fact, actor, reason),
        )
    if fact == "plan_on_time":
        if standing.delayed_from is None:  # not delayed (or set so by hand: left as set)
            return standing, None
        return Standing(current), Transition(current, at_ms, fact, actor, reason)
    target, allowed = _FLOW[fact]
    if current not in allowed:
        return standing, None
    return Standing(target), Transition(target, at_ms, fact, actor, reason)
