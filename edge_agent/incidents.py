"""Machine-level incidents: the anomalies of one machine's signals folded into one alert.

A machine's vibration, current and temperature belong together; six alarms for one start-up
are six reasons to stop reading them. `IncidentBook` groups signals by machine (the prefix
before a signal name's last dot, `m05.spindle_temp_c` → `m05`; a name without a dot belongs
to the node itself) and turns the per-signal raises and clears of `DetectorBank` into
`incident` events:

- an incident opens on a raise that is evidence on its own (`STRONG`: a hard limit, a
  stuck or silent sensor, a state lasting far too long, a value outside its state's normal
  range, two level signals moving the same way within one stay: `stay_shift`,
  `edge_agent.stay_shift`, set by `shift_strong` (6 noise units; 0: off) and `shift_each`
  (2) in the `incidents` table), a signal with inertia rising faster than usual at its
  level (`rise_rate`, `edge_agent.rise_rate`: an overheat's added heat). The statistical
  detectors (baseline, rate of change) on one signal join an open
  incident but open none on a machine with several judged signals (counted in
  `unconfirmed`): on a simulated plant they opened dozens of incidents a machine a week,
  mostly at starts, changeovers and after repairs (a repair changes what is normal). With
  `corroborate_signals` set (0 by default: off; 2 or more), baseline shifts on that many
  signals of one machine at once, in the same direction, open one: a worn bearing shakes
  the spindle and loads the motor together. Off by default: on the simulated plant it
  caught bearing wear sooner (median 77 s against 106 s) but opened about 40 false
  incidents a machine a week, nearly all in changeovers (short stays whose statistics are
  learnt in fragments; BENCHMARKS.md). A node with one judged signal keeps its statistics
  as evidence;
- while open, a raise on a signal not yet in it re-sends the incident (`raised` again, the
  same alarm key: the coordinator folds it into the open alarm), naming the new signal;
  further raises and clears of signals already in it are folded silently;
- it clears when none of its signals has anything raised.

The title (`reason`) is in an operator's words (`edge_agent.incident_words`). Every incident
event names the contributing signals and carries, per signal (named without its machine
prefix), its detector, score, last value, what was normal (`expected` and `spread`, or the
state's `low`..`high`) and unit in `data` (`<signal>.detector`, `<signal>.score`, ...),
so the per-signal results stay available. `enabled = false` in the `incidents` settings
table publishes the per-signal anomalies instead (one signal per machine, as before).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from edge_agent.detectors import Anomaly
from edge_agent.errors import ConfigError
from edge_agent.incident_words import title

STRONG: Final = frozenset(
    {
        "out_of_range",
        "flatline",
        "missing",
        "state_duration",
        "state_range",
        "stay_shift",
        "rise_rate",
    }
)
MAX_NAMED: Final = 8  # contributing signals detailed in an event's data
_SEVERITY_RANK: Final = {"INDETERMINATE": 0, "WARNING": 1, "MINOR": 2, "MAJOR": 3, "CRITICAL": 4}
SEVERITY: Final = {
    "out_of_range": "MAJOR",
    "baseline": "MINOR",
    "rate_of_change": "MINOR",
    "flatline": "WARNING",
    "missing": "WARNING",
    "state_duration": "MINOR",
    "state_range": "MINOR",
    "stay_shift": "MINOR",
    "rise_rate": "MINOR",
}


def machine_of(signal: str) -> str:
    """The machine a signal belongs to: its name up to the last dot ("" for the node)."""
    head, dot, _ = signal.rpartition(".")
    return head if dot else ""


def incident_settings(settings: Mapping[str, Any]) -> bool:
    """Whether incidents are on, from the `incidents` table; raises `ConfigError`."""
    raw = settings.get("incidents", {})
    if not isinstance(raw, dict):
        raise ConfigError("detectors.incidents", "must be a table")
    for key in raw:
        if key not in ("enabled", "corroborate_signals", "shift_strong", "shift_each"):
            raise ConfigError(f"detectors.incidents.{key}", "unknown setting")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError("detectors.incidents.enabled", "must be true or false")
    corroboration(settings)
    shift_settings(settings)
    return enabled


def shift_settings(settings: Mapping[str, Any]) -> tuple[float, float]:
    """(strong, each) of the joint stay-shift rule (`edge_agent.stay_shift`; strong 0:
    off), from the `incidents` table; raises `ConfigError`."""
    raw = settings.get("incidents", {})
    raw = raw if isinstance(raw, dict) else {}
    strong = raw.get("shift_strong", 6.0)
    each = raw.get("shift_each", 2.0)
    for key, value in (("shift_strong", strong), ("shift_each", each)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0.0 <= value <= 1000.0
        ):
            raise ConfigError(f"detectors.incidents.{key}", "must be a number in 0..1000")
    if strong and not 0.5 <= each <= strong:
        raise ConfigError("detectors.incidents.shift_each", "must be in 0.5..shift_strong")
    return float(strong), float(each)


def corroboration(settings: Mapping[str, Any]) -> int:
    """How many signals of one machine raised by statistics at once open an incident (0:
    never), from the `incidents` table; raises `ConfigError`."""
    raw = settings.get("incidents", {})
    value = raw.get("corroborate_signals", 0) if isinstance(raw, dict) else 0
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (value == 0 or 2 <= value <= 64)
    ):
        raise ConfigError("detectors.incidents.corroborate_signals", "must be 0 or in 2..64")
    return value


@dataclass
class _Machine:
    """What is raised on one machine's signals, and its open incident."""

    judged: int  # signals with statistical detectors (one: its statistics suffice)
    raised: dict[tuple[str, str], Anomaly] = field(default_factory=dict)
    open_since_ms: int | None = None
    named: list[str] = field(default_factory=list)  # signals in the open incident, in order

    def signals(self) -> set[str]:
        return {signal for signal, _ in self.raised}

    def opens(self, corroborate: int) -> bool:
        """Whether what is raised is enough evidence for an incident."""
        if self.judged <= 1 or any(detector in STRONG for _, detector in self.raised):
            return True
        if corroborate <= 0:
            return False
        up: set[str] = set()
        down: set[str] = set()
        for (signal, detector), anomaly in self.raised.items():
            if detector != "baseline":
                continue  # a sustained shift, not one step
            shift = (anomaly.window[-1] if anomaly.window else math.nan) - anomaly.expected
            if shift > 0.0:
                up.add(signal)
            elif shift < 0.0:
                down.add(signal)
        return max(len(up), len(down)) >= corroborate


class IncidentBook:
    """One machine-level incident at a time per machine (see the module docstring)."""

    def __init__(
        self,
        signals: Iterable[str],
        *,
        judged: Iterable[str] = (),
        units: Mapping[str, str] | None = None,
        state_of: Callable[[str], float | None] | None = None,
        corroborate: int = 0,
    ) -> None:
        self.corroborate = corroborate
        self._units = dict(units or {})
        self._state_of = state_of
        counts: dict[str, int] = {}
        for signal in judged:
            counts[machine_of(signal)] = counts.get(machine_of(signal), 0) + 1
        self._machines = {
            machine_of(s): _Machine(judged=counts.get(machine_of(s), 0)) for s in signals
        }
        self.unconfirmed = 0  # statistical raises on one signal only, not an incident
        self.opened = 0

    def is_open(self, machine: str) -> bool:
        """Whether the machine has an open incident."""
        found = self._machines.get(machine)
        return found is not None and found.open_since_ms is not None

    def feed(self, anomalies: Iterable[Anomaly]) -> list[dict[str, Any]]:
        """Fold per-signal raises and clears; returns the incident events' fields."""
        events: list[dict[str, Any]] = []
        for anomaly in anomalies:
            name = machine_of(anomaly.signal)
            machine = self._machines.get(name)
            if machine is None:
                machine = self._machines[name] = _Machine(judged=0)
            key = (anomaly.signal, anomaly.detector)
            if anomaly.state == "raised":
                machine.raised[key] = anomaly
                if machine.open_since_ms is None:
                    if machine.opens(self.corroborate):
                        machine.open_since_ms = anomaly.ts_ms
                        machine.named = sorted(machine.signals(), key=_first_raise(machine))
                        self.opened += 1
                        events.append(self._event(name, machine, "raised", anomaly))
                    elif anomaly.detector not in STRONG:
                        self.unconfirmed += 1
                elif anomaly.signal not in machine.named:
                    machine.named.append(anomaly.signal)
                    events.append(self._event(name, machine, "raised", anomaly))
            else:
                machine.raised.pop(key, None)
                if machine.open_since_ms is not None and not machine.raised:
                    events.append(self._event(name, machine, "cleared", anomaly))
                    machine.open_since_ms = None
                    machine.named = []
        return events

    def _event(self, name: str, machine: _Machine, state: str, last: Anomaly) -> dict[str, Any]:
        """The fields of a protocol `Event` for the machine's incident."""
        since = machine.open_since_ms if machine.open_since_ms is not None else last.ts_ms
        data: dict[str, Any] = {"machine": name or "node", "since_ms": since}
        lead: Anomaly | None = None
        severity = "INDETERMINATE"
        for signal in machine.named[:MAX_NAMED]:
            found = _strongest(machine, signal)
            if found is None:
                continue
            if lead is None or found.score > lead.score:
                lead = found
            rank = _SEVERITY_RANK[SEVERITY.get(found.detector, "INDETERMINATE")]
            if rank > _SEVERITY_RANK[severity]:
                severity = SEVERITY.get(found.detector, "INDETERMINATE")
            short = signal[len(name) + 1 :] if name else signal
            if len(short) > 55:
                continue  # its key would be too long for the protocol
            data[f"{short}.detector"] = found.detector
            data[f"{short}.score"] = _finite(found.score)
            figures = {
                "value": found.window[-1] if found.window else math.nan,
                "expected": found.expected,
                "spread": found.spread,
                "low": found.low,
                "high": found.high,
            }
            for key, figure in figures.items():
                if _is_finite(figure):
                    data[f"{short}.{key}"] = figure
            unit = self._units.get(signal, "")
            if unit:
                data[f"{short}.unit"] = unit[:64]
        data["signals"] = ",".join(machine.named)[:256]
        shown = lead if lead is not None else last
        if state == "cleared":
            reason = f"{name or 'this node'} back to normal"
            severity = "INDETERMINATE"
        else:
            reason = title(
                shown,
                unit=self._units.get(shown.signal, ""),
                machine=name,
                state=self._state_of(shown.signal) if self._state_of is not None else None,
                since_ms=since,
                others=len(machine.named) - 1,
            )
        return {
            "name": "incident",
            "severity": severity,
            "state": state,
            "signal": name or None,
            "score": _finite(shown.score),
            "window": tuple(v for v in shown.window[-512:] if _is_finite(v)),
            "reason": reason[:1000],
            "data": data,
        }


def _first_raise(machine: _Machine) -> Any:
    firsts: dict[str, int] = {}
    for (signal, _), anomaly in machine.raised.items():
        firsts[signal] = min(firsts.get(signal, anomaly.ts_ms), anomaly.ts_ms)
    return lambda signal: (firsts.get(signal, 0), signal)


def _strongest(machine: _Machine, signal: str) -> Anomaly | None:
    found = [a for (s, _), a in machine.raised.items() if s == signal]
    return max(found, key=lambda a: a.score) if found else None


def _is_finite(value: float) -> bool:
    return math.isfinite(value) and abs(value) <= 1e15  # the protocol's value range


def _finite(value: float) -> float:
    return value if _is_finite(value) else 1e15


__all__ = [
    "MAX_NAMED",
    "STRONG",
    "IncidentBook",
    "corroboration",
    "incident_settings",
    "machine_of",
    "shift_settings",
]
