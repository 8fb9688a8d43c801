"""Incident titles in operator words: what, where, how unusual, since when, in the unit."""

from __future__ import annotations

import math

from edge_agent.detectors import Anomaly
from edge_agent.incident_words import amount, spoken_name, state_words, title

TEN_42 = (10 * 3600 + 42 * 60) * 1000  # 1970-01-01 10:42 UTC


def _raise(detector: str, value: float, **normal: float) -> Anomaly:
    return Anomaly(
        signal="m05.spindle_temp_c",
        detector=detector,
        state="raised",
        score=7.0,
        window=(60.0, value),
        reason="in state 1 for 62 min, 3.1 times its longest usual stay (20 min)",
        ts_ms=TEN_42,
        **normal,
    )


def test_a_range_excursion_reads_as_distance_from_the_states_normal() -> None:
    """Value, machine, distance above the state's range, state and start, in °C."""
    text = title(
        _raise("state_range", 69.3, low=25.0, high=60.0),
        unit="degC",
        machine="m05",
        state=2.0,
        since_ms=TEN_42,
    )
    assert text == (
        "spindle temp 69.3 °C on m05, 9.3 °C above its normal range 25.0 °C–60.0 °C"
        " while running, since 10:42 UTC"
    )


def test_a_baseline_raise_reads_as_distance_from_the_usual_value() -> None:
    """A baseline raise says how far below its usual value, and how many more signals."""
    text = title(
        _raise("baseline", 48.0, expected=57.5, spread=0.4),
        unit="degC",
        machine="m05",
        state=0.0,
        since_ms=TEN_42,
        others=2,
    )
    assert text.startswith("spindle temp 48.0 °C on m05, 9.5 °C below its usual 57.5 °C")
    assert text.endswith("while idle, since 10:42 UTC; 2 more signals unusual")


def test_stuck_missing_and_long_states_have_their_own_words() -> None:
    """A stuck sensor, silence and a long state are told in words, not scores."""
    stuck = title(_raise("flatline", 61.0), unit="degC", machine="m05", state=2.0, since_ms=0)
    assert "stuck" in stuck
    assert "61.0 °C" in stuck
    silent = title(_raise("missing", math.nan), unit="degC", machine="m05", state=None, since_ms=0)
    assert "no data arriving" in silent
    long_state = title(
        _raise("state_duration", 1.0), unit="code", machine="m05", state=1.0, since_ms=0
    )
    assert long_state.startswith("m05 in state 1 for 62 min")


def test_names_units_and_states_in_plain_words() -> None:
    """Unit tokens leave the name; codes of unknown states and odd units stay readable."""
    assert spoken_name("m01.vibration_rms_mm_s") == "vibration rms"
    assert spoken_name("motor_current_a") == "motor current"
    assert spoken_name("a") == "a"
    assert amount(0.000123, "bar") == "0.000123 bar"
    assert amount(3.0, "code") == "3.0"
    assert state_words(7.0) == "in state 7"
    assert state_words(None) == ""
    assert state_words(math.nan) == ""
