"""The runner tells its plan listeners of each new plan, after saving it; a listener that
fails is logged and neither stops the others nor the plan."""

from __future__ import annotations

from coordinator.plan.orders.specs import JobOrder, OperationOrder
from coordinator.plan.runner import PlanRunner
from coordinator.plan.state import MemoryPlanState, PlanMade
from coordinator.plan.triggers import MachineSeen
from fleet_runtime.clock import FakeClock
from tests.coordinator.conftest import command_log


def test_each_plan_reaches_every_listener_after_it_is_saved() -> None:
    """A broken first listener is skipped; the second sees the schedule, already saved."""
    clock = FakeClock(1_700_000_000.0)
    state = MemoryPlanState()
    runner = PlanRunner(clock=clock, commands=command_log(clock=clock), state=state,
                        time_limit_s=1.0)  # fmt: skip
    seen: list[tuple[str, int, bool]] = []

    def broken(_made: PlanMade) -> None:
        raise RuntimeError("listener bug")

    def record(made: PlanMade) -> None:
        saved = [p.version for p in state.load().plans if p.kind == made.kind]
        seen.append((made.kind, made.version, made.version in saved))

    runner.plan_listeners += [broken, record]
    runner.apply([MachineSeen("s", "m1")])
    runner.submit_orders([JobOrder("j1", (OperationOrder({"m1": 600.0}),))])
    clock.advance(5.0)
    assert runner.service.tick()
    assert seen == [("schedule", 1, True)]
    assert runner.schedule()["version"] == 1
