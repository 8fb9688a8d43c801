"""Device events are alarms only while something is wrong: a machine going down raises one,
any other state change clears it (and is otherwise only recorded)."""

from __future__ import annotations

from edge_agent.drivers.sim import SimMachinesDriver
from firmware_sim.machine import FaultKind


def test_a_breakdown_raises_and_the_repair_clears() -> None:
    """Routine changes (idle, setup, run) are `cleared` events; the breakdown is a MAJOR
    `raised` one; the repair that follows clears it."""
    driver = SimMachinesDriver(machines=1, seed=4, start_s=0.0, free_running=True)
    events = list(driver.read(600.0).events)
    routine = [(e.state, e.severity) for e in events]
    assert routine
    assert set(routine) == {("cleared", "INDETERMINATE")}
    driver.machines[0].inject(FaultKind.BREAKDOWN)
    events = list(driver.read(600.1).events) + list(driver.read(4000.0).events)
    down = [e for e in events if e.data["to"] == "DOWN"]
    assert [(e.state, e.severity) for e in down] == [("raised", "MAJOR")]
    repaired = [e for e in events if e.data["from"] == "DOWN"]
    assert repaired
    assert repaired[0].state == "cleared"
    assert {e.name for e in events} == {"state_change"}
