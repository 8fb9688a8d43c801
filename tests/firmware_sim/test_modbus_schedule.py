"""A schedule carried out through Modbus: the agent's driver writes each operation into
the PLC's registers and reports the PLC's own counts; a restarted driver goes on from them."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from edge_agent.drivers.modbus import ModbusDriver
from edge_agent.errors import PlanRefused
from edge_agent.registers import RegisterEntry
from firmware_sim import MACHINE_REGISTER_MAP, Machine, MachineParams
from firmware_sim.modbus_server import MachineModbusServer
from fleet_runtime.clock import SystemClock
from flexfleet.broker import free_port
from protocol import OperationReport, PlannedOperation, RouteUpdate, ScheduleUpdate
from protocol.plc import PlcCommand

REGISTERS = tuple(
    RegisterEntry(s.signal, s.address, s.type, s.scale, s.unit) for s in MACHINE_REGISTER_MAP
)
FAST = MachineParams(
    step_s=0.01, cycle_time_s=0.05, fault_rate_per_h_new=0.0, fault_rate_per_h_worn=0.0
)
SCHEDULE = ScheduleUpdate(
    version=1,
    machine_id="m1",
    epoch_ms=1_700_000_000_000,
    time_unit_s=0.1,
    operations=(
        PlannedOperation(operation_id="j1:0", job_id="j1", start=0, end=9, setup=2, quantity=30, family="a"),
        PlannedOperation(operation_id="j2:0", job_id="j2", start=9, end=20, setup=3, quantity=20, family="b"),
    ),
)  # fmt: skip


def driver_for(port: int) -> ModbusDriver:
    return ModbusDriver(
        host="127.0.0.1", port=port, unit_id=1, registers=REGISTERS, clock=SystemClock(),
        timeout_s=0.5, reconnect_base_s=0.05, reconnect_cap_s=0.2,
    )  # fmt: skip


def poll(
    driver: ModbusDriver, until: Any, timeout_s: float = 20.0
) -> list[tuple[str, OperationReport]]:
    """Read every 20 ms until `until(reports)`; the reports in order."""
    reports: list[tuple[str, OperationReport]] = []
    deadline = time.monotonic() + timeout_s
    while not until(reports):
        assert time.monotonic() < deadline, f"timed out after {reports[-3:]}"
        reading = driver.read(time.time())
        reports += [(e.name, OperationReport.from_data(e.data)) for e in reading.events]
        time.sleep(0.02)
    return reports


def finished(count: int) -> Any:
    return lambda reports: sum(name == "operation_finished" for name, _ in reports) >= count


@pytest.fixture
def plc() -> Any:
    server = MachineModbusServer(
        machine=Machine(seed=2, params=FAST),
        clock=SystemClock(),
        port=free_port(),
        update_interval_s=0.02,
    )
    server.start()
    yield server
    server.stop()


def test_the_driver_feeds_the_plc_its_operations_and_reports_its_counts(plc: Any) -> None:
    """Each operation goes to the PLC in turn; the reports carry its job, family and the
    PLC's counts, up to the quantity of good parts."""
    driver = driver_for(plc.port)
    try:
        driver.take_schedule(SCHEDULE)
        reports = poll(driver, finished(2))
    finally:
        driver.close()
    done = [
        (r.job_id, r.family, r.good, r.index) for name, r in reports if name == "operation_finished"
    ]
    assert done == [("j1", "a", 30, 0), ("j2", "b", 20, 1)]
    assert [r.job_id for name, r in reports if name == "operation_started"] == ["j1", "j2"]
    machine = plc.machine
    progress = machine.progress()
    assert progress is not None
    assert (progress.operation.job_id, progress.state, progress.good) == ("j2", "done", 20)
    assert machine.part_count == sum(
        r.good + r.scrap for name, r in reports if name == "operation_finished"
    )


def test_a_restarted_driver_goes_on_from_the_plc_counts(plc: Any) -> None:
    """The agent gone mid-operation (its driver dropped, its retained state kept): a new
    driver restored from it finds the PLC's counts and finishes the schedule; no operation
    is started or finished twice."""
    first = driver_for(plc.port)
    first.take_schedule(SCHEDULE)
    head = poll(first, lambda reports: any(r.good >= 10 for _, r in reports))
    kept = first.retained_state()
    first.close()  # kill: nothing else of the first driver survives
    time.sleep(0.3)  # the PLC goes on making parts meanwhile
    second = driver_for(plc.port)
    try:
        assert kept is not None
        second.restore_state(kept)
        tail = poll(second, finished(2))
    finally:
        second.close()
    reports = head + tail
    assert [r.job_id for name, r in reports if name == "operation_started"] == ["j1", "j2"]
    assert [(r.job_id, r.good) for name, r in reports if name == "operation_finished"] == [
        ("j1", 30),
        ("j2", 20),
    ]
    j1 = [r.good + r.scrap for _, r in reports if r.job_id == "j1"]
    assert j1 == sorted(j1)  # counts never step back


def test_a_choice_not_yet_written_is_written_after_a_restart() -> None:
    """The next operation is retained before it is written: restored from that state, the
    sequencer writes it (same token) instead of skipping or doubling it."""
    from edge_agent.sequencer import OperationSequencer
    from protocol.plc import PlcStatus

    sequencer = OperationSequencer()
    sequencer.take(SCHEDULE)
    reports, command = sequencer.step(PlcStatus(token=0, state=None, good=0, scrap=0))
    assert (reports, command) == ([], None)  # chosen and retained, not written yet
    again = OperationSequencer()
    again.restore(sequencer.retained())
    _, command = again.step(PlcStatus(token=0, state=None, good=0, scrap=0))
    assert command == PlcCommand(token=1, job_id="j1", quantity=30, family="a", setup_s=0)


def test_a_schedule_without_quantities_or_with_a_long_changeover_is_refused() -> None:
    """The driver refuses what it cannot hand to the PLC; a route is refused too."""
    driver = driver_for(free_port())
    op = SCHEDULE.operations[0]
    bad = [
        ScheduleUpdate(version=2, machine_id="m1", epoch_ms=SCHEDULE.epoch_ms, time_unit_s=60.0, operations=(dataclasses.replace(op, end=3000, setup=2000),)),
        ScheduleUpdate(version=2, machine_id="m1", epoch_ms=SCHEDULE.epoch_ms, time_unit_s=1.0,
                       operations=(PlannedOperation(operation_id="x", job_id="x", start=0, end=1),)),
    ]  # fmt: skip
    reasons = []
    for schedule in bad:
        with pytest.raises(PlanRefused) as info:
            driver.take_schedule(schedule)
        reasons.append(info.value.reason)
    assert reasons == ["operation 'j1:0': changeover over 65535 s", "operation 'x' has no quantity"]
    assert driver.sequencer.version == 0
    with pytest.raises(PlanRefused, match="no route"):
        driver.take_route(RouteUpdate(version=1, vehicle_id="m1", depot_id="d"))
