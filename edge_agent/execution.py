"""The port through which the agent hands accepted plans to its device.

A driver whose device carries out plans (a machine running its schedule, a vehicle
driving its route) also implements `PlanExecutor`. The agent checks each plan command
(`protocol.plan_update`, then the node it names), hands the plan over, and answers the
command with the device's verdict: `PlanRefused` becomes a nack with its reason and the
device keeps its current work.

Progress comes back through the driver's `read()`: operation and stop events in
`Reading.events` and the device's retained state in `Reading.retained`, which the agent
stores in the same outbox transaction as those events (`Outbox.append_with_state`) and
gives back to `restore_state` after a restart; a plan taken is stored at once
(`retained_state`), before the command is acknowledged. `MemoryExecutor` is the in-memory double.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from edge_agent.errors import PlanRefused
from protocol import RouteUpdate, ScheduleUpdate


@runtime_checkable
class RetainedState(Protocol):
    """A device whose state the agent keeps with its reports (a PLC's retentive memory)."""

    def restore_state(self, state: dict[str, Any]) -> None:
        """Take up again from the state last stored with the device's reports."""
        ...

    def retained_state(self) -> dict[str, Any] | None:
        """The device's state now (JSON-ready), stored once a plan is taken."""
        ...


@runtime_checkable
class PlanExecutor(RetainedState, Protocol):
    """A device that carries out the plans sent to its node."""

    def take_schedule(self, schedule: ScheduleUpdate) -> None:
        """Run `schedule` from now on; `PlanRefused` leaves the current work as it is."""
        ...

    def take_route(self, route: RouteUpdate) -> None:
        """Drive `route` from now on; `PlanRefused` leaves the current work as it is."""
        ...


def check_subject(plan: ScheduleUpdate | RouteUpdate, node: str) -> None:
    """Refuse a plan naming another machine or vehicle than this node."""
    if isinstance(plan, ScheduleUpdate):
        what, subject = "machine", plan.machine_id
    else:
        what, subject = "vehicle", plan.vehicle_id
    if subject != node:
        raise PlanRefused(f"the {plan.kind} names {what} {subject!r}, this node is {node!r}")


def check_quantities(schedule: ScheduleUpdate) -> None:
    """Refuse a schedule with an operation that does not say how many parts to make."""
    for op in schedule.operations:
        if op.quantity is None:
            raise PlanRefused(f"operation {op.operation_id!r} has no quantity")


class MemoryExecutor:
    """The in-memory double: records what it was handed, refuses what it is told to."""

    def __init__(self) -> None:
        self.schedules: list[ScheduleUpdate] = []
        self.routes: list[RouteUpdate] = []
        self.restored: list[dict[str, Any]] = []
        self.refuse: str | None = None

    def take_schedule(self, schedule: ScheduleUpdate) -> None:
        if self.refuse is not None:
            raise PlanRefused(self.refuse)
        self.schedules.append(schedule)

    def take_route(self, route: RouteUpdate) -> None:
        if self.refuse is not None:
            raise PlanRefused(self.refuse)
        self.routes.append(route)

    def restore_state(self, state: dict[str, Any]) -> None:
        self.restored.append(state)

    def retained_state(self) -> dict[str, Any] | None:
        return {"schedules": len(self.schedules), "routes": len(self.routes)}


__all__ = ["MemoryExecutor", "PlanExecutor", "RetainedState", "check_quantities", "check_subject"]
