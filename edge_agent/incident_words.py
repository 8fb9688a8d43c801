"""An incident's title in an operator's words: what, where, how unusual, since when.

"spindle temp 69.3 °C on m05, 9.3 °C above its normal range 25.0 °C–60.0 °C while running,
since 10:42 UTC"
— the signal's name without its unit suffix, the value in the signal's unit, the machine,
the distance from what is normal in that state (or from the baseline's expected value, or
the limit), the state, and when the incident began. The statistics behind it (scores,
spreads, ranges) go to the event's details, not the title.
"""

from __future__ import annotations

import math
import time
from typing import Final

from edge_agent.detectors import Anomaly

UNIT_SYMBOLS: Final = {
    "degC": "°C",
    "degc": "°C",
    "C": "°C",
    "degF": "°F",
    "pct": "%",
    "percent": "%",
}
STATE_NAMES: Final = {0.0: "idle", 1.0: "in setup", 2.0: "running", 3.0: "down"}
"""Words for the state codes of the machines' register map (`firmware_sim.machine`)."""
_UNIT_TOKENS: Final = frozenset(
    {"c", "degc", "f", "a", "ma", "v", "w", "kw", "mm", "s", "hz", "pct", "bar", "rpm", "ms"}
)
_DIMENSIONLESS: Final = frozenset({"", "code", "flag", "parts", "units", "orders", "count"})


def spoken_name(signal: str) -> str:
    """`m05.spindle_temp_c` → "spindle temp": no machine prefix, no unit tokens at the end."""
    words = signal.rpartition(".")[2].replace("_", " ").split()
    while len(words) > 1 and words[-1].lower() in _UNIT_TOKENS:
        words.pop()
    return " ".join(words) or signal


def unit_symbol(unit: str) -> str:
    """The symbol an operator reads for a unit ("degC" → "°C"); "" for none."""
    return UNIT_SYMBOLS.get(unit, "" if unit in _DIMENSIONLESS else unit)


def amount(value: float, unit: str) -> str:
    """A value with its unit, to three significant figures (more for large values)."""
    symbol = unit_symbol(unit)
    digits = f"{value:.1f}" if 1.0 <= abs(value) < 10_000 else f"{value:.3g}"
    return f"{digits} {symbol}" if symbol else digits


def state_words(state: float | None) -> str:
    """ "while running", "while idle", "in state 7"; "" when unknown."""
    if state is None or not math.isfinite(state):
        return ""
    name = STATE_NAMES.get(state)
    return f"while {name}" if name is not None else f"in state {state:g}"


def clock(ts_ms: int) -> str:
    """The time of day, UTC, to the minute."""
    return time.strftime("%H:%M UTC", time.gmtime(ts_ms / 1000.0))


def how_unusual(anomaly: Anomaly, unit: str) -> str:
    """How far the anomaly's value is from its normal, in the signal's unit."""
    value = anomaly.window[-1] if anomaly.window else math.nan
    if anomaly.detector == "flatline":
        return "stuck (not moving)"
    if anomaly.detector == "missing":
        return "no data arriving"
    if anomaly.detector in ("state_duration", "rise_rate"):
        return anomaly.reason
    if not math.isfinite(value):
        return "unreadable value"
    if math.isfinite(anomaly.low) and math.isfinite(anomaly.high):
        if value > anomaly.high:
            gap = f"{amount(value - anomaly.high, unit)} above"
        else:
            gap = f"{amount(anomaly.low - value, unit)} below"
        return f"{gap} its normal range {amount(anomaly.low, unit)}–{amount(anomaly.high, unit)}"
    if math.isfinite(anomaly.expected):
        diff = value - anomaly.expected
        where = "above" if diff > 0 else "below"
        return f"{amount(abs(diff), unit)} {where} its usual {amount(anomaly.expected, unit)}"
    if anomaly.detector == "out_of_range":
        return "outside its allowed limits"
    return f"{anomaly.detector} score {anomaly.score:.3g}"


def title(
    anomaly: Anomaly,
    *,
    unit: str,
    machine: str,
    state: float | None,
    since_ms: int,
    others: int = 0,
) -> str:
    """The incident's title led by `anomaly` (see the module docstring)."""
    where = f"on {machine}" if machine else "on this node"
    if anomaly.detector == "state_duration":
        head = f"{machine or 'node'} {anomaly.reason}"
    else:
        value = anomaly.window[-1] if anomaly.window else math.nan
        shown = amount(value, unit) if math.isfinite(value) else "?"
        head = f"{spoken_name(anomaly.signal)} {shown} {where}, {how_unusual(anomaly, unit)}"
        context = state_words(state)
        if context:
            head += f" {context}"
    more = f"; {others} more signal{'s' if others > 1 else ''} unusual" if others else ""
    return f"{head}, since {clock(since_ms)}{more}"


__all__ = ["STATE_NAMES", "amount", "how_unusual", "spoken_name", "state_words", "title"]
