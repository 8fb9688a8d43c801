"""In-process driver: the agent reads `firmware_sim` devices directly (tests, demo, benchmarks).

A `machine` or `gateway` node reads `machines` simulated machines (signals prefixed
`m01.` … when there is more than one, so 40 machines give 200 signals); a `warehouse`
node reads one micro-warehouse and reports its stock changes.
"""

from __future__ import annotations

from edge_agent.drivers.base import DeviceEvent, Reading
from firmware_sim.machine import MACHINE_SIGNALS, Machine, MachineState
from firmware_sim.warehouse import MicroWarehouse, default_skus
from protocol import SignalSpec

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


class SimMachinesDriver:
    """One or more simulated machines behind one node."""

    def __init__(self, *, machines: int, seed: int, start_s: float) -> None:
        self.name = f"sim-machines[{machines}]"
        self._start_s = start_s
        self._machines = [Machine(seed=seed * 1000 + i) for i in range(machines)]
        self._prefixes = [f"m{i + 1:02d}." if machines > 1 else "" for i in range(machines)]

    def signals(self) -> tuple[SignalSpec, ...]:
        return tuple(
            SignalSpec(name=f"{prefix}{name}", unit=unit)
            for prefix in self._prefixes
            for name, unit in MACHINE_SIGNALS
        )

    def read(self, now_s: float) -> Reading:
        values: list[tuple[str, float]] = []
        events: list[DeviceEvent] = []
        t = now_s - self._start_s
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
        return Reading(values=tuple(values), events=tuple(events))

    def stock_levels(self) -> dict[str, int] | None:
        return None

    def stepped_signals(self) -> frozenset[str]:
        return frozenset(
            prefix + name for prefix in self._prefixes for name in _STEPPED_MACHINE_SIGNALS
        )

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


class SimWarehouseDriver:
    """One simulated micro-warehouse."""

    def __init__(self, *, skus: int, seed: int, start_s: float) -> None:
        self.name = f"sim-warehouse[{skus}]"
        self._start_s = start_s
        self.warehouse = MicroWarehouse(skus=default_skus(skus), seed=seed)

    def signals(self) -> tuple[SignalSpec, ...]:
        return tuple(SignalSpec(name=name, unit=unit) for name, unit in _WAREHOUSE_SIGNALS)

    def read(self, now_s: float) -> Reading:
        changes: dict[str, int] = {}
        picks: dict[str, int] = {}
        for change in self.warehouse.advance_to(now_s - self._start_s):
            if change.reason == "pick":
                picks[change.sku] = picks.get(change.sku, 0) - change.delta
            else:
                changes[change.sku] = changes.get(change.sku, 0) + change.delta
        changes = {sku: delta for sku, delta in changes.items() if delta}
        return Reading(
            values=tuple(self.warehouse.readings().items()), stock_changes=changes, picks=picks
        )

    def stock_levels(self) -> dict[str, int] | None:
        return dict(self.warehouse.stock)

    def stepped_signals(self) -> frozenset[str]:
        return frozenset(name for name, _ in _WAREHOUSE_SIGNALS)  # counts, totals and a flag

    def mode_signals(self) -> dict[str, str]:
        return {}

    def close(self) -> None:
        """Nothing to release."""
