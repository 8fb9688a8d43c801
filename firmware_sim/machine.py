"""A simulated machine tool: operating states, sensors, slow wear and faults.

The machine moves between IDLE → SETUP → RUN → IDLE (a job done) and RUN → DOWN → IDLE
(a fault and its repair). While running it makes parts at a fixed cycle time; its spindle
warms towards a load-dependent temperature; vibration and motor current follow the state,
and all three rise slowly with wear. The fault hazard grows with wear; a repair resets it.

Time advances in fixed internal steps (`step_s`), so the same seed and the same sequence of
`advance_to` calls give the same readings however the caller samples. Faults can also be
injected (`inject`), which is how scenarios and tests drive the anomaly detectors.
"""

from __future__ import annotations

import enum
import math
import random
from dataclasses import dataclass

from firmware_sim.errors import SimConfigError


class MachineState(enum.IntEnum):
    """Operating state; the integer is what the PLC register holds."""

    IDLE = 0
    SETUP = 1
    RUN = 2
    DOWN = 3


class FaultKind(enum.Enum):
    """Faults a scenario can inject."""

    BEARING = "bearing"  # vibration climbs, then the machine goes down
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
        self._timer_s = self._rng.expovariate(1.0 / self.params.mean_idle_s)
        self._cycle_s = 0.0
        self._parts_in_job = 0
        self._faults: set[FaultKind] = set()
        self._stuck_temp: float | None = None
        self._bearing_s = 0.0  # running time since a bearing fault began
        self._changes: list[StateChange] = []

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
            self._parts_in_job = 0
            self._cycle_s = 0.0
        else:
            self._timer_s = self._rng.expovariate(1.0 / p.mean_repair_s)

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
                self._go(MachineState.IDLE, "repaired")
        else:
            self._timer_s -= dt
            if self._timer_s <= 0:
                nxt = MachineState.SETUP if self.state is MachineState.IDLE else MachineState.RUN
                self._go(nxt, "job started" if nxt is MachineState.SETUP else "setup done")
        self._sensors(dt)

    def _run(self, dt: float) -> None:
        p, rng = self.params, self._rng
        self.wear = min(1.0, self.wear + dt / p.wear_life_s)
        self._cycle_s += dt
        if self._cycle_s >= p.cycle_time_s:
            self._cycle_s -= p.cycle_time_s
            self.part_count += 1
            self._parts_in_job += 1
        rate_per_h = p.fault_rate_per_h_new + (p.fault_rate_per_h_worn - p.fault_rate_per_h_new) * (
            self.wear**2
        )
        if FaultKind.BEARING in self._faults and self.vibration_rms_mm_s > 9.0:
            self._go(MachineState.DOWN, "bearing failure")
        elif rng.random() < rate_per_h * dt / 3600.0:
            self._go(MachineState.DOWN, "random fault")
        elif self._parts_in_job >= p.parts_per_job:
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
        if FaultKind.BEARING in self._faults and running:
            self._bearing_s += dt
            vib += 0.02 * self._bearing_s
        self.vibration_rms_mm_s = max(0.0, vib + rng.gauss(0.0, 0.03 + 0.05 * base_vib))
        amps = {MachineState.RUN: 12.0, MachineState.SETUP: 2.5, MachineState.IDLE: 0.6}.get(
            self.state, 0.0
        )
        amps *= 1.0 + 0.2 * self.wear
        self.motor_current_a = max(0.0, amps + rng.gauss(0.0, 0.02 + 0.02 * amps))
