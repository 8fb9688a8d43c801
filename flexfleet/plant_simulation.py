"""A false-alert budget on a simulated plant: seeded faults among normal operation.

`simulate` runs `machines` simulated machines (`firmware_sim.machine`: idle, setup, run and
their own wear-out breakdowns and repairs) for `days` days through the agent's detection
(`edge_agent.detection.DetectorBank`: per-state detectors, state durations, state ranges and
machine-level incidents, with the agent's default settings unless given), sampling every
`interval_s`, and injects faults with realistic onsets: bearing wear, overheating, a stuck
temperature sensor and a breakdown. Each fault starts while its machine runs, on average
every `fault_every_days` per machine after a first day of normal operation to learn from;
it is repaired (a maintenance stop) `repair_after_s` after it was caught, or after
`give_up_s` if it never was.

A fault is *caught* by the first incident the machine raises at or after its onset while
it lasts, or, for a breakdown, by the machine reporting itself down (the device's own state:
the detectors are not needed for it). Every other incident is *false*, and is told by
where it happened: within `settle_window_s` of a start (entering RUN) or a changeover
(entering SETUP), within `after_repair_s` of a repair (the machine's normal has changed:
worn parts replaced), or otherwise.

Pure apart from the optional process pool: the same arguments give the same report.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from edge_agent.detection import DetectorBank
from firmware_sim.machine import MACHINE_SIGNALS, FaultKind, Machine, MachineParams, MachineState

FAULT_KINDS: tuple[FaultKind, ...] = (
    FaultKind.BEARING,
    FaultKind.OVERHEAT,
    FaultKind.STUCK_SENSOR,
    FaultKind.BREAKDOWN,
)
_STEPPED = ("part_count", "state")


@dataclass(frozen=True, slots=True)
class SimulationSettings:
    """What to simulate (see the module docstring)."""

    machines: int = 12
    days: float = 30.0
    seed: int = 1
    interval_s: float = 2.0
    fault_every_days: float = 2.0
    learn_days: float = 1.0
    repair_after_s: float = 600.0
    give_up_s: float = 4 * 3600.0
    settle_window_s: float = 180.0
    after_repair_s: float = 1800.0
    detectors: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.machines <= 400:
            raise ValueError("machines must be in 1..400")
        if not 0 < self.days <= 366:
            raise ValueError("days must be in (0, 366]")
        if not 0.1 <= self.interval_s <= 60:
            raise ValueError("interval_s must be in 0.1..60")


@dataclass(frozen=True, slots=True)
class FaultOutcome:
    """One injected fault: when it began, when (and how) it was caught, if it was."""

    machine: int
    kind: str
    onset_s: float
    caught_s: float | None
    caught_by: str

    @property
    def delay_s(self) -> float | None:
        """Seconds from onset to the first incident (None: missed)."""
        return None if self.caught_s is None else self.caught_s - self.onset_s


@dataclass(frozen=True, slots=True)
class FalseIncident:
    """An incident with no injected fault behind it."""

    machine: int
    t_s: float
    context: str  # "start-up", "changeover", "after repair" or "running normally"
    title: str


@dataclass(frozen=True, slots=True)
class MachineResult:
    """What one machine's run produced."""

    faults: tuple[FaultOutcome, ...]
    false_incidents: tuple[FalseIncident, ...]
    natural_breakdowns: int
    samples: int


@dataclass(frozen=True, slots=True)
class SimulationReport:
    """Every machine's results, and the figures the budget is judged by."""

    settings: SimulationSettings
    machines: tuple[MachineResult, ...]

    @property
    def faults(self) -> list[FaultOutcome]:
        """Every injected fault, machine by machine."""
        return [f for m in self.machines for f in m.faults]

    @property
    def false_incidents(self) -> list[FalseIncident]:
        """Every false incident, machine by machine."""
        return [f for m in self.machines for f in m.false_incidents]

    def false_per_machine_week(self) -> float:
        """False incidents per machine per week of simulated time."""
        weeks = self.settings.machines * self.settings.days / 7.0
        return len(self.false_incidents) / weeks


def _signals(machine: int) -> list[str]:
    return [f"m{machine:02d}.{name}" for name, _ in MACHINE_SIGNALS]


def run_machine(settings: SimulationSettings, index: int) -> MachineResult:  # noqa: PLR0915
    """Simulate machine `index` (1-based) for the whole run."""
    s = settings
    prefix = f"m{index:02d}."
    signals = _signals(index)
    units = {f"{prefix}{name}": unit for name, unit in MACHINE_SIGNALS}
    state_signal = f"{prefix}state"
    bank = DetectorBank(
        dict(s.detectors),
        signals,
        stepped=frozenset(prefix + n for n in _STEPPED),
        modes={sig: state_signal for sig in signals if sig.rpartition(".")[2] not in _STEPPED},
        units=units,
    )
    params = MachineParams(step_s=s.interval_s, free_running=True)
    machine = Machine(seed=s.seed * 1000 + index, params=params)
    rng = random.Random(s.seed * 7919 + index)
    end_s = s.days * 86400.0
    due_s = s.learn_days * 86400.0 + rng.expovariate(1.0 / (s.fault_every_days * 86400.0))
    active: tuple[FaultKind, float] | None = None
    caught_s: float | None = None
    caught_by = ""
    faults: list[FaultOutcome] = []
    false: list[FalseIncident] = []
    natural = 0
    entered: dict[MachineState, float] = {}
    repaired_s = -1e18
    maintenance = False
    samples = 0
    t = 0.0
    while t < end_s:
        t += s.interval_s
        for change in machine.advance_to(t):
            entered[change.current] = change.t_s
            if change.current is MachineState.DOWN:
                if active is not None and caught_s is None:
                    caught_s, caught_by = change.t_s, "machine down"
                elif active is None and not maintenance:
                    natural += 1
            if change.previous is MachineState.DOWN:
                repaired_s = change.t_s
                if active is not None:
                    kind, onset = active
                    faults.append(FaultOutcome(index, kind.value, onset, caught_s, caught_by))
                    active, caught_s, caught_by = None, None, ""
                    due_s = t + rng.expovariate(1.0 / (s.fault_every_days * 86400.0))
                maintenance = False
        if active is None and t >= due_s and machine.state is MachineState.RUN:
            kind = rng.choice(FAULT_KINDS)
            active = (kind, t)
            machine.inject(kind)
            if kind is FaultKind.BREAKDOWN:
                caught_s, caught_by = t, "machine down"
                entered[MachineState.DOWN] = t
        elif active is not None and machine.state is not MachineState.DOWN:
            since = t - (caught_s if caught_s is not None else active[1])
            if since >= (s.repair_after_s if caught_s is not None else s.give_up_s):
                maintenance = True
                machine.inject(FaultKind.BREAKDOWN)  # stopped for repair
        values = [(prefix + k, v) for k, v in machine.readings().items()]
        bank.observe_modes(values)
        ts_ms = round(t * 1000)
        for name, value in values:
            samples += 1
            found = bank.update(name, ts_ms, value)
            if not found:
                continue
            for event in bank.events(found):
                if event["state"] != "raised":
                    continue
                if active is not None:
                    if caught_s is None:
                        caught_s, caught_by = t, "incident"
                    continue
                false.append(
                    FalseIncident(index, t, _context(t, entered, repaired_s, s), event["reason"])
                )
    if active is not None:
        kind, onset = active
        faults.append(FaultOutcome(index, kind.value, onset, caught_s, caught_by))
    return MachineResult(tuple(faults), tuple(false), natural, samples)


def _context(
    t: float, entered: Mapping[MachineState, float], repaired_s: float, s: SimulationSettings
) -> str:
    if t - entered.get(MachineState.RUN, -1e18) <= s.settle_window_s:
        return "start-up"
    if t - entered.get(MachineState.SETUP, -1e18) <= s.settle_window_s:
        return "changeover"
    if t - repaired_s <= s.after_repair_s:
        return "after repair"
    return "running normally"


def simulate(settings: SimulationSettings, *, jobs: int = 1) -> SimulationReport:
    """Run every machine (in `jobs` processes when more than one)."""
    indices = range(1, settings.machines + 1)
    if jobs <= 1:
        results = [run_machine(settings, i) for i in indices]
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(run_machine, [settings] * settings.machines, indices))
    return SimulationReport(settings, tuple(results))


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report_lines(report: SimulationReport) -> list[str]:
    """The printed report: per fault kind caught and delay, then the false incidents."""
    s = report.settings
    samples = sum(m.samples for m in report.machines)
    lines = [
        f"simulated plant: {s.machines} machines x {s.days:g} days, seed {s.seed}, "
        f"sampling every {s.interval_s:g} s ({samples:,} samples)",
        f"{'fault kind':<14}{'injected':>9}{'caught':>8}{'median s':>10}{'p90 s':>8}"
        f"{'max s':>8}  caught by",
    ]
    faults = report.faults
    for kind in [*(k.value for k in FAULT_KINDS), "all"]:
        chosen = [f for f in faults if kind in ("all", f.kind)]
        delays = [f.delay_s for f in chosen if f.delay_s is not None]
        by: dict[str, int] = {}
        for f in chosen:
            if f.caught_s is not None:
                by[f.caught_by] = by.get(f.caught_by, 0) + 1
        median = f"{statistics.median(delays):.0f}" if delays else "-"
        p90 = f"{_quantile(delays, 0.9):.0f}" if delays else "-"
        worst = f"{max(delays):.0f}" if delays else "-"
        ways = ", ".join(f"{k} {v}" for k, v in sorted(by.items()))
        lines.append(
            f"{kind:<14}{len(chosen):>9}{len(delays):>8}{median:>10}{p90:>8}{worst:>8}  {ways}"
        )
    false_incidents = report.false_incidents
    contexts: dict[str, int] = {}
    for incident in false_incidents:
        contexts[incident.context] = contexts.get(incident.context, 0) + 1
    lines.append(
        f"false incidents: {len(false_incidents)} ({report.false_per_machine_week():.2f} "
        "per machine per "
        "week); " + ", ".join(f"{k} {v}" for k, v in sorted(contexts.items()))
    )
    natural = sum(m.natural_breakdowns for m in report.machines)
    lines.append(f"the simulator's own breakdowns (not injected): {natural}")
    return lines


__all__ = [
    "FAULT_KINDS",
    "FalseIncident",
    "FaultOutcome",
    "MachineResult",
    "SimulationReport",
    "SimulationSettings",
    "report_lines",
    "run_machine",
    "simulate",
]
