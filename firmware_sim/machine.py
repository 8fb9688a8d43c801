"""A simulated machine tool: operating states, sensors, slow wear and faults, and the
operations of its schedule.

Given a schedule (`load_schedule`) the machine runs its operations in order: a changeover
(SETUP, for the operation's `setup_s`) when the product family changes, then RUN at its
cycle time, each cycle one part, good or scrap, until the operation's quantity of good
parts is made; then the next. A fault (DOWN) pauses the operation, the repair resumes it
where it was. Whether a part is scrap is a pure function of the machine's seed, the
operation and the part's number (at a seeded scrap rate per family), so a machine
restored from its retained state (`retained` / `restore`, what a PLC keeps in its
battery-backed memory) makes exactly the same counts. Without a schedule the machine
idles, unless `free_running`: then it moves between IDLE → SETUP → RUN → IDLE on its own
(random jobs of `parts_per_job`), which the anomaly scenarios use.

While running, the spindle warms towards a load-dependent temperature; vibration and
motor current follow the state, and all three rise slowly with wear. A failing bearing
shakes the spindle more and more and, by its friction, loads the motor: the current rises
by `BEARING_LOAD` of itself per mm/s of the bearing's added vibration. The fault hazard
grows with wear; a repair resets it.

Time advances in fixed internal steps (`step_s`), so the same seed and the same sequence of
`advance_to` calls give the same readings however the caller samples. Faults can also be
injected (`inject`), which is how scenarios and tests drive the anomaly detectors.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from firmware_sim.errors import SimConfigError


class MachineState(enum.IntEnum):
    """Operating state; the integer is what the PLC register holds."""

    IDLE = 0
    SETUP = 1
    RUN = 2
    DOWN = 3


class FaultKind(enum.Enum):
    """Faults a scenario can inject."""

    BEARING = "bearing"  # vibration and motor current climb, then the machine goes down
    OVERHEAT = "overheat"  # spindle temperature ramps up
    STUCK_SENSOR = "stuck_sensor"  # the temperature reading freezes
    BREAKDOWN = "breakdown"  # straight to DOWN


MACHINE_SIGNALS: tuple[tuple[str, str], ...] = (
    ("spindle_temp_c", "degC"),
    ("vibration_rms_mm_s", "mm/s"),
    ("motor_current_a", "A"),
    ("part_count", "parts"),
    ("state", "code"),
)
"""(signal name, unit) of every machine reading, in register order."""

BEARING_LOAD: Final = 0.03
"""A failing bearing's extra motor current, as a share of the current per mm/s of its
added vibration."""

OPERATION_STATES: Final = ("setup", "run", "paused", "done")
"""An operation's state; its index is the `op_state` code."""
OperationState = Literal["setup", "run", "paused", "done"]
_MAX_REMEMBERED = 5_000  # operations whose counts a machine remembers across schedules


@dataclass(frozen=True, slots=True)
class MachineParams:
    """Behaviour of a simulated machine; times in seconds."""

    step_s: float = 0.1
    ambient_temp_c: float = 22.0
    run_temp_rise_c: float = 38.0
    temp_time_constant_s: float = 120.0
    cycle_time_s: float = 6.0
    parts_per_job: int = 40
    mean_idle_s: float = 60.0
    mean_setup_s: float = 45.0
    mean_repair_s: float = 180.0
    wear_life_s: float = 8.0 * 3600.0
    fault_rate_per_h_new: float = 0.05
    fault_rate_per_h_worn: float = 2.0
    scrap_rate_min: float = 0.01
    scrap_rate_max: float = 0.08
    free_running: bool = False

    def __post_init__(self) -> None:
        positive = (
            "step_s",
            "temp_time_constant_s",
            "cycle_time_s",
            "mean_idle_s",
            "mean_setup_s",
            "mean_repair_s",
            "wear_life_s",
        )
        for name in positive:
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise SimConfigError(name, f"must be a finite number > 0, got {value!r}")
        if not 0.001 <= self.step_s <= 10.0:
            raise SimConfigError("step_s", f"must be in 0.001..10, got {self.step_s!r}")
        if self.parts_per_job < 1:
            raise SimConfigError("parts_per_job", f"must be >= 1, got {self.parts_per_job!r}")
        for name in ("fault_rate_per_h_new", "fault_rate_per_h_worn"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise SimConfigError(name, f"must be a finite number >= 0, got {value!r}")
        for name in ("scrap_rate_min", "scrap_rate_max"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 <= value < 1):
                raise SimConfigError(name, f"must be in 0..1 (excluded), got {value!r}")
        if self.scrap_rate_min > self.scrap_rate_max:
            raise SimConfigError("scrap_rate_min", "must not exceed scrap_rate_max")


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of a schedule: make `quantity` good parts of `family` for `job_id`,
    after `setup_s` of changeover if the family differs from the last one made."""

    operation_id: str
    job_id: str
    quantity: int
    family: str = ""
    setup_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.operation_id or not self.job_id:
            raise SimConfigError("operation_id", "an operation needs an id and a job id")
        if type(self.quantity) is not int or self.quantity < 1:
            raise SimConfigError("quantity", f"must be an integer >= 1, got {self.quantity!r}")
        if not (math.isfinite(self.setup_s) and self.setup_s >= 0):
            raise SimConfigError("setup_s", f"must be a finite number >= 0, got {self.setup_s!r}")


@dataclass(frozen=True, slots=True)
class OperationProgress:
    """Where the machine is in one operation (`index` in the schedule of `version`)."""

    version: int
    index: int
    operation: Operation
    state: OperationState
    good: int
    scrap: int


@dataclass(frozen=True, slots=True)
class OperationChange:
    """An operation `started`, changed `state` or `finished` at `t_s`."""

    t_s: float
    change: Literal["started", "state", "finished"]
    progress: OperationProgress


@dataclass(frozen=True, slots=True)
class StateChange:
    """The machine changed state at `t_s` (simulation seconds)."""

    t_s: float
    previous: MachineState
    current: MachineState
    cause: str


class Machine:
    """One simulated machine, deterministic for a seed."""

    def __init__(
        self, *, seed: int, start_s: float = 0.0, params: MachineParams | None = None
    ) -> None:
        self.params = params or MachineParams()
        self._rng = random.Random(seed)
        self.t_s = start_s
        self.state = MachineState.IDLE
        self.wear = self._rng.uniform(0.0, 0.3)  # 0 new .. 1 worn out
        self.spindle_temp_c = self.params.ambient_temp_c
        self.vibration_rms_mm_s = 0.0
        self.motor_current_a = 0.0
        self.part_count = 0
        self.seed = seed
        self._timer_s = self._rng.expovariate(1.0 / self.params.mean_idle_s)
        self._cycle_s = 0.0
        self._parts_in_job = 0
        self._faults: set[FaultKind] = set()
        self._stuck_temp: float | None = None
        self._bearing_s = 0.0  # running time since a bearing fault began
        self._changes: list[StateChange] = []
        # The schedule: its operations, the positions still to run, the current one.
        self._version = 0
        self._operations: tuple[Operation, ...] = ()
        self._queue: list[int] = []
        self._current: int | None = None
        self._good = self._scrap = 0
        self._op_state: OperationState = "done"
        self._setup_left_s = 0.0
        self._family: str | None = None  # the family last made (None: unknown)
        self._counts: dict[str, tuple[int, int]] = {}  # operation id → (good, scrap) so far
        self._finished: set[str] = set()
        self._last: OperationProgress | None = None
        self._op_changes: list[OperationChange] = []
        self._scrap_rates: dict[str, float] = {}

    # --- the schedule ------------------------------------------------------------------

    def load_schedule(self, version: int, operations: Sequence[Operation]) -> None:
        """Run `operations` in order from now on. Finished operations are skipped; the one
        in progress carries on (with its counts) if it is still in the list, first;
        otherwise it is paused where it is. Counts of operations met before are kept."""
        ids = [op.operation_id for op in operations]
        if len(set(ids)) != len(ids):
            raise SimConfigError("operations", "an operation id appears twice")
        current = self._current_operation()
        before = self._progress() if current is not None else None
        self._version, self._operations = version, tuple(operations)
        queue = [i for i, op in enumerate(operations) if op.operation_id not in self._finished]
        self._queue = queue
        if current is None or before is None:
            return
        self._counts[current.operation_id] = (self._good, self._scrap)
        keep = next((i for i in queue if ids[i] == current.operation_id), None)
        if keep is not None:
            queue.remove(keep)
            self._current = keep
            self._last = self._progress()
            return
        self._current = None
        self._op_state = "paused"
        self._note("state", replace(before, state="paused"))
        if self.state in (MachineState.SETUP, MachineState.RUN):
            self._go(MachineState.IDLE, "operation withdrawn")

    def progress(self) -> OperationProgress | None:
        """The operation in progress, else the last one met (None before any)."""
        if self._current is not None:
            return self._progress()
        return self._last

    def operation_changes(self) -> list[OperationChange]:
        """The operation changes since the last call."""
        changes, self._op_changes = self._op_changes, []
        return changes

    def scrap_rate(self, family: str) -> float:
        """This machine's scrap rate for `family` (seeded by machine and family)."""
        rate = self._scrap_rates.get(family)
        if rate is None:
            p = self.params
            pick = random.Random(f"scrap-rate:{self.seed}:{family}")
            rate = self._scrap_rates[family] = pick.uniform(p.scrap_rate_min, p.scrap_rate_max)
        return rate

    def retained(self) -> dict[str, Any]:
        """What the machine keeps through a power cut: the schedule, where it is in it and
        every count (JSON-ready)."""
        return {
            "version": self._version,
            "operations": [
                [op.operation_id, op.job_id, op.quantity, op.family, op.setup_s]
                for op in self._operations
            ],
            "queue": list(self._queue),
            "current": self._current,
            "good": self._good,
            "scrap": self._scrap,
            "op_state": self._op_state,
            "setup_left_s": self._setup_left_s,
            "cycle_s": self._cycle_s,
            "family": self._family,
            "counts": {k: list(v) for k, v in self._counts.items()},
            "finished": sorted(self._finished),
            "part_count": self.part_count,
        }

    def restore(self, kept: dict[str, Any]) -> None:
        """Take up again from `retained()` output (after a restart): the machine resumes
        the operation it was in, from the same counts."""
        try:
            self._version = int(kept["version"])
            self._operations = tuple(Operation(*row) for row in kept["operations"])
            self._queue = [int(i) for i in kept["queue"]]
            self._current = None if kept["current"] is None else int(kept["current"])
            self._good, self._scrap = int(kept["good"]), int(kept["scrap"])
            self._op_state = kept["op_state"]
            self._setup_left_s = float(kept["setup_left_s"])
            self._cycle_s = float(kept["cycle_s"])
            self._family = kept["family"]
            self._counts = {k: (int(v[0]), int(v[1])) for k, v in kept["counts"].items()}
            self._finished = set(kept["finished"])
            self.part_count = int(kept["part_count"])
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise SimConfigError("retained", f"not a retained machine state: {exc}") from None
        self._last = None
        if self._current is not None:  # power back: the operation goes on where it was
            self._last = self._progress()
            self.state = MachineState.SETUP if self._setup_left_s > 0 else MachineState.RUN
            if self._op_state == "paused":
                self._resume_state()

    def _current_operation(self) -> Operation | None:
        return None if self._current is None else self._operations[self._current]

    def _progress(self) -> OperationProgress:
        op = self._current_operation()
        assert op is not None
        assert self._current is not None
        return OperationProgress(
            self._version, self._current, op, self._op_state, self._good, self._scrap
        )

    def _note(self, change: Literal["started", "state", "finished"], p: OperationProgress) -> None:
        self._last = p
        self._op_changes.append(OperationChange(self.t_s, change, p))

    def _set_op_state(self, state: OperationState) -> None:
        if state != self._op_state and self._current is not None:
            self._op_state = state
            self._note("state", self._progress())

    def _resume_state(self) -> None:
        self._set_op_state("setup" if self.state is MachineState.SETUP else "run")

    def _start_next(self) -> None:
        """Take up the next operation of the queue (from IDLE)."""
        if not self._queue:
            return
        self._current = self._queue.pop(0)
        op = self._operations[self._current]
        self._good, self._scrap = self._counts.get(op.operation_id, (0, 0))
        changeover = self._family != op.family and op.setup_s > 0
        self._setup_left_s = op.setup_s if changeover else 0.0
        self._op_state = "setup" if changeover else "run"
        self._cycle_s = 0.0
        self._note("started", self._progress())
        self._go(MachineState.SETUP if changeover else MachineState.RUN, "operation started")

    def _make_part(self) -> None:
        """One cycle done: one part of the current operation, good or scrap."""
        op = self._current_operation()
        assert op is not None
        number = self._good + self._scrap + 1
        draw = random.Random(f"part:{self.seed}:{op.operation_id}:{number}").random()
        if draw < self.scrap_rate(op.family):
            self._scrap += 1
        else:
            self._good += 1
        self._counts[op.operation_id] = (self._good, self._scrap)
        if self._good >= op.quantity:
            self._op_state = "done"
            self._finished.add(op.operation_id)
            self._family = op.family
            self._note("finished", self._progress())
            self._current = None
            while len(self._counts) > _MAX_REMEMBERED:
                del self._counts[next(iter(self._counts))]
            self._go(MachineState.IDLE, "operation done")

    def inject(self, fault: FaultKind) -> None:
        """Start a fault now (it lasts until the next repair)."""
        self._faults.add(fault)
        if fault is FaultKind.STUCK_SENSOR:
            self._stuck_temp = self.spindle_temp_c
        if fault is FaultKind.BREAKDOWN:
            self._go(MachineState.DOWN, "breakdown injected")

    def advance_to(self, t_s: float) -> list[StateChange]:
        """Simulate up to `t_s` in fixed steps; returns the state changes on the way."""
        step = self.params.step_s
        while self.t_s + step <= t_s + 1e-9:
            self.t_s += step
            self._step(step)
        changes, self._changes = self._changes, []
        return changes

    def readings(self) -> dict[str, float]:
        """Current sensor values, keyed as in `MACHINE_SIGNALS`."""
        temp = self._stuck_temp if self._stuck_temp is not None else self.spindle_temp_c
        return {
            "spindle_temp_c": round(temp, 3),
            "vibration_rms_mm_s": round(self.vibration_rms_mm_s, 4),
            "motor_current_a": round(self.motor_current_a, 3),
            "part_count": float(self.part_count),
            "state": float(int(self.state)),
        }

    def _go(self, state: MachineState, cause: str) -> None:
        if state is self.state:
            return
        self._changes.append(StateChange(self.t_s, self.state, state, cause))
        self.state = state
        p = self.params
        if state is MachineState.IDLE:
            self._timer_s = self._rng.expovariate(1.0 / p.mean_idle_s)
        elif state is MachineState.SETUP:
            self._timer_s = self._rng.expovariate(1.0 / p.mean_setup_s)
        elif state is MachineState.RUN:
            if self._current is None:
                self._parts_in_job = 0
                self._cycle_s = 0.0
        else:
            self._timer_s = self._rng.expovariate(1.0 / p.mean_repair_s)
            self._set_op_state("paused")

    def _step(self, dt: float) -> None:
        rng = self._rng
        if self.state is MachineState.RUN:
            self._run(dt)
        elif self.state is MachineState.DOWN:
            self._timer_s -= dt
            if self._timer_s <= 0:
                self.wear = rng.uniform(0.0, 0.1)  # repaired: worn parts replaced
                self._faults.clear()
                self._stuck_temp = None
                self._bearing_s = 0.0
                self._repaired()
        elif self._current is not None:  # changeover of a scheduled operation
            self._setup_left_s -= dt
            if self._setup_left_s <= 1e-9:
                self._setup_left_s = 0.0
                self._op_state = "run"
                self._note("state", self._progress())
                self._go(MachineState.RUN, "changeover done")
        elif self.state is MachineState.IDLE and (self._queue or not self.params.free_running):
            self._start_next()
        else:
            self._timer_s -= dt
            if self._timer_s <= 0:
                nxt = MachineState.SETUP if self.state is MachineState.IDLE else MachineState.RUN
                self._go(nxt, "job started" if nxt is MachineState.SETUP else "setup done")
        self._sensors(dt)

    def _repaired(self) -> None:
        """Back from DOWN: the operation in progress resumes where it was."""
        if self._current is None:
            self._go(MachineState.IDLE, "repaired")
            return
        self._go(MachineState.SETUP if self._setup_left_s > 0 else MachineState.RUN, "repaired")
        self._resume_state()

    def _run(self, dt: float) -> None:
        p, rng = self.params, self._rng
        self.wear = min(1.0, self.wear + dt / p.wear_life_s)
        self._cycle_s += dt
        if self._cycle_s >= p.cycle_time_s:
            self._cycle_s -= p.cycle_time_s
            self.part_count += 1
            self._parts_in_job += 1
            if self._current is not None:
                self._make_part()
                if self._current is None:
                    return
        rate_per_h = p.fault_rate_per_h_new + (p.fault_rate_per_h_worn - p.fault_rate_per_h_new) * (
            self.wear**2
        )
        if FaultKind.BEARING in self._faults and self.vibration_rms_mm_s > 9.0:
            self._go(MachineState.DOWN, "bearing failure")
        elif rng.random() < rate_per_h * dt / 3600.0:
            self._go(MachineState.DOWN, "random fault")
        elif self._current is None and self._parts_in_job >= p.parts_per_job:
            self._go(MachineState.IDLE, "job done")

    def _sensors(self, dt: float) -> None:
        p, rng = self.params, self._rng
        running = self.state is MachineState.RUN
        target = p.ambient_temp_c + (
            p.run_temp_rise_c * (1.0 + 0.3 * self.wear) if running else 0.0
        )
        if FaultKind.OVERHEAT in self._faults:
            target += 45.0
        self.spindle_temp_c += (target - self.spindle_temp_c) * (dt / p.temp_time_constant_s)
        self.spindle_temp_c += rng.gauss(0.0, 0.05)
        base_vib = {MachineState.RUN: 2.0, MachineState.SETUP: 0.4}.get(self.state, 0.05)
        vib = base_vib * (1.0 + 1.5 * self.wear)
        bearing_vib = 0.0
        if FaultKind.BEARING in self._faults and running:
            self._bearing_s += dt
            bearing_vib = 0.02 * self._bearing_s
            vib += bearing_vib
        self.vibration_rms_mm_s = max(0.0, vib + rng.gauss(0.0, 0.03 + 0.05 * base_vib))
        amps = {MachineState.RUN: 12.0, MachineState.SETUP: 2.5, MachineState.IDLE: 0.6}.get(
            self.state, 0.0
        )
        amps *= 1.0 + 0.2 * self.wear + BEARING_LOAD * bearing_vib
        self.motor_current_a = max(0.0, amps + rng.gauss(0.0, 0.02 + 0.02 * amps))
