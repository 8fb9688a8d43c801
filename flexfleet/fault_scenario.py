"""Scenarios: scripted faults on simulated machines, run through the real agent on a fake clock.

A scenario (TOML) names how many machines a node reads, for how long, and when which fault
starts on which machine::

    name = "bearing wear on machine 2"
    duration_s = 3600
    machines = 4
    seed = 7
    sampling_interval_ms = 500
    [[steps]]
    at_s = 900
    machine = 2          # 1-based
    fault = "bearing"    # bearing | overheat | stuck_sensor | breakdown
    [detectors.per_signal."m02.spindle_temp_c"]   # optional: the agent's detector settings
    out_of_range = { max_value = 90.0 }

`run_scenario` drives the real `edge_agent.core.AgentCore` (sampling, detectors, deadband,
batching, outbox, link) with a `FakeClock` and an in-memory transport, so an hour of plant
time runs in seconds, and reports every published message plus, per injected fault, the
simulated time until the agent first published an anomaly or incident (or a MAJOR event such as the
machine going down) for that machine, and how many anomalies it raised in all and before
the first fault (false alarms, since the plant runs normally until then). The coordinator is not part of the run: its ingest is tested on its own.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_agent.config import config_from_dict
from edge_agent.core import AgentCore
from edge_agent.detection import check_detector_settings
from edge_agent.drivers.sim import SimMachinesDriver
from edge_agent.errors import ConfigError
from edge_agent.outbox import Outbox
from edge_agent.transport import MemoryTransport
from firmware_sim.errors import SimConfigError
from firmware_sim.machine import FaultKind
from fleet_runtime.clock import FakeClock
from protocol import Event, decode

_FAULTS = {kind.value: kind for kind in FaultKind}


@dataclass(frozen=True, slots=True)
class ScenarioStep:
    """Fault `fault` starts on machine `machine` (1-based) at `at_s` seconds."""

    at_s: float
    machine: int
    fault: FaultKind


@dataclass(frozen=True, slots=True)
class Scenario:
    """A scripted run of one simulated node."""

    name: str
    duration_s: float
    machines: int = 1
    seed: int = 1
    sampling_interval_ms: int = 500
    steps: tuple[ScenarioStep, ...] = ()
    detectors: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.duration_s) and 0 < self.duration_s <= 30 * 86400):
            raise SimConfigError("duration_s", "must be in (0, 30 days]")
        if not 1 <= self.machines <= 400:
            raise SimConfigError("machines", "must be in 1..400")
        if not 10 <= self.sampling_interval_ms <= 3_600_000:
            raise SimConfigError("sampling_interval_ms", "must be in 10..3600000")
        for i, step in enumerate(self.steps):
            if not 1 <= step.machine <= self.machines:
                raise SimConfigError(f"steps[{i}].machine", f"must be in 1..{self.machines}")
            if not (math.isfinite(step.at_s) and 0 <= step.at_s < self.duration_s):
                raise SimConfigError(f"steps[{i}].at_s", "must fall inside the run")


def parse_scenario(data: Mapping[str, Any]) -> Scenario:
    """A scenario from a parsed TOML document; raises `SimConfigError` naming the field."""
    known = {"name", "duration_s", "machines", "seed", "sampling_interval_ms", "steps", "detectors"}
    for key in data:
        if key not in known:
            raise SimConfigError(str(key), "unknown setting")
    steps_raw = data.get("steps", [])
    if not isinstance(steps_raw, list) or len(steps_raw) > 10_000:
        raise SimConfigError("steps", "must be an array of at most 10000 tables")
    steps = []
    for i, raw in enumerate(steps_raw):
        if not isinstance(raw, dict) or set(raw) - {"at_s", "machine", "fault"}:
            raise SimConfigError(f"steps[{i}]", "needs exactly at_s, machine and fault")
        fault = raw.get("fault")
        if fault not in _FAULTS:
            raise SimConfigError(f"steps[{i}].fault", f"one of {', '.join(_FAULTS)}")
        at_s, machine = raw.get("at_s"), raw.get("machine")
        if isinstance(at_s, bool) or not isinstance(at_s, int | float):
            raise SimConfigError(f"steps[{i}].at_s", "must be a number")
        if isinstance(machine, bool) or not isinstance(machine, int):
            raise SimConfigError(f"steps[{i}].machine", "must be an integer")
        steps.append(ScenarioStep(float(at_s), machine, _FAULTS[fault]))
    values: dict[str, Any] = {}
    for key, kind in (("duration_s", float), ("machines", int), ("seed", int)):
        if key in data:
            value = data[key]
            ok = isinstance(value, int | float) if kind is float else isinstance(value, int)
            if isinstance(value, bool) or not ok:
                raise SimConfigError(key, "must be a number")
            values[key] = kind(value)
    if "sampling_interval_ms" in data:
        interval = data["sampling_interval_ms"]
        if isinstance(interval, bool) or not isinstance(interval, int):
            raise SimConfigError("sampling_interval_ms", "must be an integer")
        values["sampling_interval_ms"] = interval
    name = data.get("name", "scenario")
    if not isinstance(name, str) or len(name) > 200:
        raise SimConfigError("name", "must be a string of at most 200 characters")
    if "duration_s" not in values:
        raise SimConfigError("duration_s", "is required")
    detectors = data.get("detectors", {})
    _check_detectors(detectors)
    return Scenario(
        name=name,
        steps=tuple(sorted(steps, key=lambda s: s.at_s)),
        detectors=detectors,
        **values,
    )


def _check_detectors(detectors: Any) -> None:
    """The agent's `[detectors]` settings, as the agent itself checks them."""

    if not isinstance(detectors, dict):
        raise SimConfigError("detectors", "must be a table")
    try:
        check_detector_settings(detectors)
    except ConfigError as exc:
        raise SimConfigError(exc.field, exc.reason) from None


@dataclass(frozen=True, slots=True)
class Detection:
    """When an injected fault was first reported by the agent (None: never)."""

    step: ScenarioStep
    first_event: str | None
    delay_s: float | None


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """What the agent published during the scenario."""

    scenario: Scenario
    messages: tuple[Any, ...]
    detections: tuple[Detection, ...]
    start_ms: int

    def count(self, kind: str) -> int:
        """How many messages of `kind` were published."""
        return sum(1 for m in self.messages if m.kind == kind)

    def anomaly_raises(self, *, before_s: float | None = None) -> int:
        """How many anomalies or incidents (raised or re-sent with a new signal) the agent
        published (in the first `before_s` seconds)."""
        limit_ms = self.start_ms + (before_s * 1000 if before_s is not None else math.inf)
        return sum(
            1
            for e in self.messages
            if isinstance(e, Event)
            and e.name in ("anomaly", "incident")
            and e.state != "cleared"
            and e.ts < limit_ms
        )


def run_scenario(scenario: Scenario, *, state_dir: Path | None = None) -> ScenarioResult:
    """Run the scenario through the real agent core on a fake clock (seconds of wall time)."""

    with tempfile.TemporaryDirectory(prefix="ff-scenario-") as tmp:
        base = state_dir or Path(tmp)
        config = config_from_dict(
            {
                "node": {"site": "scenario", "node": "sim-1", "kind": "gateway"},
                "mqtt": {"wait_for_coordinator": False},
                "outbox": {"state_dir": str(base)},
                "sampling": {"interval_ms": scenario.sampling_interval_ms},
                "detectors": dict(scenario.detectors),
            }
        )
        clock = FakeClock()
        driver = SimMachinesDriver(
            machines=scenario.machines, seed=scenario.seed, start_s=clock.now(), free_running=True
        )
        transport = MemoryTransport()
        outbox = Outbox(base / "outbox.sqlite3", durable=False)
        core = AgentCore(config, clock=clock, transport=transport, driver=driver, outbox=outbox)
        start_ms = int(clock.now() * 1000)
        core.tick()
        transport.accept()
        step_s = scenario.sampling_interval_ms / 1000.0
        pending = list(scenario.steps)
        while clock.monotonic() < scenario.duration_s:
            while pending and pending[0].at_s <= clock.monotonic():
                step = pending.pop(0)
                driver.machines[step.machine - 1].inject(step.fault)
            core.tick()
            clock.advance(step_s)
        core.close(drain_s=0.0)
    messages = tuple(decode(topic, payload) for topic, payload in transport.published)
    detections = []
    for step in scenario.steps:
        prefix = f"m{step.machine:02d}." if scenario.machines > 1 else ""
        found = None
        for message in messages:
            if not isinstance(message, Event) or message.ts < start_ms + step.at_s * 1000:
                continue
            subject = message.signal or message.reason
            if message.name == "incident":  # its signal names the machine
                subject = f"{message.signal}." if message.signal else ""
            alarming = message.name in ("anomaly", "incident") or message.severity in (
                "MAJOR",
                "CRITICAL",
            )
            if alarming and message.state != "cleared" and subject.startswith(prefix):
                found = message
                break
        delay = None if found is None else (found.ts - start_ms) / 1000.0 - step.at_s
        name = None
        if found is not None:
            what = f"{found.signal}/{found.detector}" if found.detector else found.reason[:100]
            name = f"{found.name}: {what}"
        detections.append(Detection(step, name, delay))
    return ScenarioResult(scenario, messages, tuple(detections), start_ms)
