"""Scenarios: parsing with clear errors, and a run through the real agent on a fake clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from firmware_sim import SimConfigError
from flexfleet.cli import main
from flexfleet.fault_scenario import parse_scenario, run_scenario

SMALL: dict[str, Any] = {
    "name": "small",
    "duration_s": 600,
    "machines": 2,
    "seed": 3,
    "steps": [
        {"at_s": 100, "machine": 2, "fault": "breakdown"},
        {"at_s": 200, "machine": 1, "fault": "stuck_sensor"},
    ],
}


def test_scenario_run_reports_injected_faults_and_is_deterministic() -> None:
    """A breakdown is reported at once; the same scenario gives the same messages twice."""
    first = run_scenario(parse_scenario(SMALL))
    second = run_scenario(parse_scenario(SMALL))
    assert [m.to_dict() for m in first.messages] == [m.to_dict() for m in second.messages]
    assert first.count("birth") == 1
    assert first.count("telemetry") > 100
    breakdown = first.detections[0]
    assert breakdown.delay_s is not None
    assert breakdown.delay_s < 1.0
    assert breakdown.first_event is not None
    assert "m02" in breakdown.first_event


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"machines": 2}, "duration_s"),
        ({"duration_s": -1}, "duration_s"),
        ({"duration_s": 10, "typo": 1}, "typo"),
        (
            {"duration_s": 10, "steps": [{"at_s": 1, "machine": 1, "fault": "gremlins"}]},
            "steps[0].fault",
        ),
        (
            {"duration_s": 10, "steps": [{"at_s": 1, "machine": 5, "fault": "bearing"}]},
            "steps[0].machine",
        ),
        (
            {"duration_s": 10, "steps": [{"at_s": 99, "machine": 1, "fault": "bearing"}]},
            "steps[0].at_s",
        ),
        (
            {"duration_s": 10, "steps": [{"at_s": "1", "machine": 1, "fault": "bearing"}]},
            "steps[0].at_s",
        ),
        ({"duration_s": 10, "steps": "many"}, "steps"),
        ({"duration_s": 10, "machines": True}, "machines"),
        ({"duration_s": 10, "sampling_interval_ms": 1.5}, "sampling_interval_ms"),
        ({"duration_s": 10, "detectors": "off"}, "detectors"),
        ({"duration_s": 10, "detectors": {"warmup_samples": -1}}, "detectors.warmup_samples"),
    ],
)
def test_invalid_scenarios_name_the_field(data: dict[str, Any], field: str) -> None:
    """Each invalid setting raises SimConfigError naming it."""
    with pytest.raises(SimConfigError) as info:
        parse_scenario(data)
    assert info.value.field == field


def test_sim_scenario_command_refuses_a_broken_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`flexfleet sim scenario` exits 2 on a file that is not a valid scenario."""
    path = tmp_path / "s.toml"
    path.write_bytes(b"\xff\xfe not toml")
    assert main(["sim", "scenario", str(path)]) == 2
    assert "cannot load scenario" in capsys.readouterr().err


def test_scenario_detector_settings_reach_the_agent() -> None:
    """A spindle temperature limit in the scenario's [detectors] finds an overheating
    machine by that limit; the run counts the anomalies raised before the fault."""
    data = {
        "duration_s": 900,
        "seed": 3,
        "steps": [{"at_s": 300, "machine": 1, "fault": "overheat"}],
        "detectors": {"per_signal": {"spindle_temp_c": {"out_of_range": {"max_value": 70.0}}}},
    }
    result = run_scenario(parse_scenario(data))
    (overheat,) = result.detections
    assert overheat.first_event is not None
    assert overheat.first_event.startswith("incident: spindle temp 70.")
    assert "on this node, outside its allowed limits" in overheat.first_event
    assert result.anomaly_raises(before_s=300) <= result.anomaly_raises()
    assert result.anomaly_raises() >= 1
