"""In-process driver: the agent reads `firmware_sim` devices directly (tests, demo, benchmarks).

A `machine` or `gateway` node reads `machines` simulated machines (signals prefixed
`m01.` … when there is more than one, so 40 machines give 200 signals); a `warehouse`
node reads one micro-warehouse and reports its stock changes.

A node with one machine executes the schedules sent to it (`edge_agent.execution`): the
machine runs the operations, the driver turns its operation changes into operation events
(with at most one `operation_counts` per poll when the counts moved) and `op_*` signals,
and hands the machine's retained state to the agent with them, as a PLC would keep it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_agent.drivers.base import DeviceEvent, Reading
from edge_agent.errors import PlanRefused
from edge_agent.execution import check_quantities
from firmware_sim.dock import Dock
from firmware_sim.errors import SimConfigError
from firmware_sim.machine import (
    MACHINE_SIGNALS,
    OPERATION_STATES,
    Machine,
    MachineParams,
    MachineState,
    Operation,
    OperationProgress,
)
from firmware_sim.warehouse import MicroWarehouse, default_skus
from protocol import OPERATION_SIGNALS, OperationReport, RouteUpdate, ScheduleUpdate, SignalSpec

_WAREHOUSE_SIGNALS = (
    ("stock_units", "units"),
    ("backorder_units", "units"),
    ("orders_total", "orders"),
    ("picked_units_total", "units"),
    ("live_stream", "flag"),
)
_STEPPED_MACHINE_SIGNALS = frozenset({"part_count", "state"})  # a counter and a state code
# Every analog reading has one normal per state: motor current and vibration follow it at
# once (near zero idle, high running), the spindle temperature warms up while running and
# cools down otherwise.
_MODED_MACHINE_SIGNALS = ("motor_current_a", "vibration_rms_mm_s", "spindle_temp_c")


_MAX_RECEIVED = 10_000  # transfer ids a warehouse remembers having received
_OPERATION_EVENT = {
    "started": "operation_started",
    "state": "operation_state",
    "finished": "operation_finished",
}


def operation_report(progress: OperationProgress) -> OperationReport:
    """The protocol's report of a machine's progress in one operation."""
    op = progress.operation
    return OperationReport(
        schedule_version=progress.version,
        operation_id=op.operation_id,
        job_id=op.job_id,
        index=progress.index,
        family=op.family,
        quantity=op.quantity,
        state=progress.state,
        good=progress.good,
        scrap=progress.scrap,
    )


def machine_operations(schedule: ScheduleUpdate) -> list[Operation]:
    """The machine's operations of a schedule (`PlanRefused` if one lacks a quantity)."""
    check_quantities(schedule)
    try:
        return [
            Operation(
                operation_id=op.operation_id,
                job_id=op.job_id,
                quantity=op.quantity or 0,
                family=op.family or "",
                setup_s=op.setup * schedule.time_unit_s,
            )
            for op in schedule.operations
        ]
    except SimConfigError as exc:
        raise PlanRefused(exc.reason) from None


class SimMachinesDriver:
    """One or more simulated machines behind one node; one machine executes schedules."""

    def __init__(
        self,
        *,
        machines: int,
        seed: int,
        start_s: float,
        free_running: bool = False,
        speed: float = 1.0,
    ) -> None:
        self.name = f"sim-machines[{machines}]"
        self._start_s = start_s
        self._speed = speed
        params = MachineParams(free_running=free_running)
        self._machines = [Machine(seed=seed * 1000 + i, params=params) for i in range(machines)]
        self._prefixes = [f"m{i + 1:02d}." if machines > 1 else "" for i in range(machines)]
        self._reported: tuple[str, int, int] | None = None  # (operation, good, scrap) sent
        self._dirty = False

    def signals(self) -> tuple[SignalSpec, ...]:
        specs = [
            SignalSpec(name=f"{prefix}{name}", unit=unit)
            for prefix in self._prefixes
            for name, unit in MACHINE_SIGNALS
        ]
        if len(self._machines) == 1:
            units = ("parts", "parts", "code")
            specs += [
                SignalSpec(name=n, unit=u) for n, u in zip(OPERATION_SIGNALS, units, strict=True)
            ]
        return tuple(specs)

    # --- executing schedules (one machine per node) -----------------------------------

    def take_schedule(self, schedule: ScheduleUpdate) -> None:
        if len(self._machines) != 1:
            raise PlanRefused(f"this node runs {len(self._machines)} machines, not one")
        operations = machine_operations(schedule)
        try:
            self._machines[0].load_schedule(schedule.version, operations)
        except SimConfigError as exc:
            raise PlanRefused(exc.reason) from None
        self._dirty = True

    def take_route(self, route: RouteUpdate) -> None:
        raise PlanRefused("a machine drives no route")

    def restore_state(self, state: dict[str, Any]) -> None:
        if len(self._machines) != 1:
            return
        try:
            self._machines[0].restore(state["machine"])
            reported = state["reported"]
            self._reported = (
                None if reported is None else (str(reported[0]), int(reported[1]), int(reported[2]))
            )
        except (SimConfigError, KeyError, TypeError, ValueError, IndexError):
            return  # not ours (another driver's state): start afresh

    def retained_state(self) -> dict[str, Any] | None:
        if len(self._machines) != 1:
            return None
        return {"machine": self._machines[0].retained(), "reported": self._reported}

    def _operation_reports(
        self, machine: Machine
    ) -> tuple[list[DeviceEvent], list[tuple[str, float]]]:
        events: list[DeviceEvent] = []
        for change in machine.operation_changes():
            report = operation_report(change.progress)
            events.append(_report_event(_OPERATION_EVENT[change.change], report))
            self._reported = (report.operation_id, report.good, report.scrap)
        progress = machine.progress()
        if progress is None:
            return events, []
        counts = (progress.operation.operation_id, progress.good, progress.scrap)
        if counts != self._reported and progress.state != "done":
            events.append(_report_event("operation_counts", operation_report(progress)))
            self._reported = counts
        values = [
            ("op_good", float(progress.good)),
            ("op_scrap", float(progress.scrap)),
            ("op_state", float(OPERATION_STATES.index(progress.state))),
        ]
        return events, values

    def read(self, now_s: float) -> Reading:
        values: list[tuple[str, float]] = []
        events: list[DeviceEvent] = []
        t = (now_s - self._start_s) * self._speed
        for prefix, machine in zip(self._prefixes, self._machines, strict=True):
            for change in machine.advance_to(t):
                down = change.current is MachineState.DOWN
                events.append(  # going down opens an alarm; any other change closes it
                    DeviceEvent(
                        name="state_change",
                        severity="MAJOR" if down else "INDETERMINATE",
                        reason=f"{prefix}{change.previous.name} -> {change.current.name}: {change.cause}",
                        data={"from": change.previous.name, "to": change.current.name},
                        state="raised" if down else "cleared",
                    )
                )
            values.extend((prefix + k, v) for k, v in machine.readings().items())
        retained = None
        if len(self._machines) == 1:
            reports, op_values = self._operation_reports(self._machines[0])
            events += reports
            values += op_values
            if reports or self._dirty:
                self._dirty = False
                retained = self.retained_state()
        return Reading(values=tuple(values), events=tuple(events), retained=retained)

    def stock_levels(self) -> dict[str, int] | None:
        return None

    def stepped_signals(self) -> frozenset[str]:
        stepped = {prefix + name for prefix in self._prefixes for name in _STEPPED_MACHINE_SIGNALS}
        if len(self._machines) == 1:
            stepped |= set(OPERATION_SIGNALS)
        return frozenset(stepped)

    def mode_signals(self) -> dict[str, str]:
        return {
            prefix + name: prefix + "state"
            for prefix in self._prefixes
            for name in _MODED_MACHINE_SIGNALS
        }

    def close(self) -> None:
        """Nothing to release."""

    @property
    def machines(self) -> list[Machine]:
        """The simulated machines (scenarios inject faults through these)."""
        return self._machines


def _report_event(name: str, report: OperationReport) -> DeviceEvent:
    paused = report.state == "paused"
    return DeviceEvent(
        name=name,
        severity="WARNING" if paused else "INDETERMINATE",
        reason=f"{report.operation_id} of job {report.job_id}: {report.state},"
        f" {report.good}/{report.quantity} good, {report.scrap} scrap",
        data=report.to_data(),
    )


class SimWarehouseDriver:
    """One simulated micro-warehouse. With a `dock`, it receives the transfers vehicles
    leave there for `place` and reports each receipt once, against its transfer id: the
    ids received are retained with the receipts (one outbox transaction) and a transfer's
    file is cleared from the dock only on the poll after its receipt was stored."""

    def __init__(
        self,
        *,
        skus: int,
        seed: int,
        start_s: float,
        place: str = "",
        dock: Path | None = None,
        speed: float = 1.0,
    ) -> None:
        self.name = f"sim-warehouse[{skus}]"
        self._start_s = start_s
        self._speed = speed
        self.warehouse = MicroWarehouse(skus=default_skus(skus), seed=seed)
        self._place = place
        self._dock = Dock(dock) if dock is not None and place else None
        self._received: dict[str, None] = {}  # transfer ids, oldest first

    def restore_state(self, state: dict[str, Any]) -> None:
        received = state.get("received")
        if isinstance(received, list):
            self._received = {str(t): None for t in received}

    def retained_state(self) -> dict[str, Any] | None:
        return {"received": list(self._received)}

    def _receive(self, t_s: float, picks: dict[str, int]) -> dict[str, dict[str, int]]:
        """Transfers waiting on the dock, received once each."""
        if self._dock is None:
            return {}
        receipts: dict[str, dict[str, int]] = {}
        for transfer_id, items in self._dock.waiting(self._place).items():
            if transfer_id in self._received:  # its receipt is stored: clear the dock
                self._dock.remove(self._place, transfer_id)
                continue
            for change in self.warehouse.receive_transfer(t_s, items):
                if change.reason == "pick":  # waiting backorders served at once
                    picks[change.sku] = picks.get(change.sku, 0) - change.delta
            receipts[transfer_id] = items
            self._received[transfer_id] = None
        while len(self._received) > _MAX_RECEIVED:
            del self._received[next(iter(self._received))]
        return receipts

    def signals(self) -> tuple[SignalSpec, ...]:
        return tuple(SignalSpec(name=name, unit=unit) for name, unit in _WAREHOUSE_SIGNALS)

    def read(self, now_s: float) -> Reading:
        changes: dict[str, int] = {}
        picks: dict[str, int] = {}
        t = (now_s - self._start_s) * self._speed
        for change in self.warehouse.advance_to(t):
            if change.reason == "pick":
                picks[change.sku] = picks.get(change.sku, 0) - change.delta
            else:
                changes[change.sku] = changes.get(change.sku, 0) + change.delta
        changes = {sku: delta for sku, delta in changes.items() if delta}
        receipts = self._receive(t, picks)
        return Reading(
            values=tuple(self.warehouse.readings().items()),
            stock_changes=changes,
            picks=picks,
            receipts=receipts,
            retained=self.retained_state() if receipts else None,
        )

    def stock_levels(self) -> dict[str, int] | None:
        return dict(self.warehouse.stock)

    def stepped_signals(self) -> frozenset[str]:
        return frozenset(name for name, _ in _WAREHOUSE_SIGNALS)  # counts, totals and a flag

    def mode_signals(self) -> dict[str, str]:
        return {}

    def close(self) -> None:
        """Nothing to release."""
