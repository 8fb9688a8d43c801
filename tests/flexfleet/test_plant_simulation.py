"""The simulated plant's false-alert budget: seeded faults caught, false incidents counted
and told apart, the `flexfleet anomaly simulate` command and its refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexfleet.cli import main
from flexfleet.plant_simulation import SimulationSettings, report_lines, run_machine, simulate

SHORT = SimulationSettings(
    machines=2, days=1.3, seed=4, learn_days=0.8, fault_every_days=0.05, interval_s=2.0
)


def test_seeded_faults_are_injected_while_running_and_caught() -> None:
    """After a day of normal running every injected fault is caught, a breakdown at once."""
    report = simulate(SHORT)
    faults = report.faults
    assert len(faults) >= 3
    assert all(f.onset_s >= SHORT.learn_days * 86400 for f in faults)
    missed = [f for f in faults if f.caught_s is None]
    assert missed == []
    for fault in faults:
        assert fault.delay_s is not None
        assert fault.delay_s >= 0
        if fault.kind == "breakdown":
            assert (fault.delay_s, fault.caught_by) == (0, "machine down")
    lines = report_lines(report)
    assert lines[0].startswith("simulated plant: 2 machines x 1.3 days, seed 4")
    assert any(line.startswith("all ") for line in lines)
    assert any(line.startswith("false incidents: ") for line in lines)


def test_the_same_seed_gives_the_same_machine_run() -> None:
    """The run is deterministic: one machine simulated twice gives the same results."""
    short = SimulationSettings(machines=1, days=0.3, seed=9, learn_days=0.1, fault_every_days=0.05)
    assert run_machine(short, 1) == run_machine(short, 1)


def test_incidents_without_a_fault_are_false_and_say_where() -> None:
    """A hair-trigger configuration makes false incidents, each with its context."""
    touchy = SimulationSettings(
        machines=1,
        days=0.2,
        seed=2,
        learn_days=1.0,  # no fault in this run: every incident is false
        detectors={"states": {"range_margin": 0.0, "range_learn_samples": 60}, "sensitivity": 10},
    )
    report = simulate(touchy)
    assert report.faults == []
    false = report.false_incidents
    assert false
    assert {f.context for f in false} <= {
        "start-up",
        "changeover",
        "after repair",
        "running normally",
    }
    assert report.false_per_machine_week() == pytest.approx(len(false) / (0.2 / 7))


def test_the_command_prints_the_budget(capsys: pytest.CaptureFixture[str]) -> None:
    """`flexfleet anomaly simulate` prints the per-kind table and the false incidents."""
    code = main(["anomaly", "simulate", "--machines", "1", "--days", "0.05", "--seed", "3"])
    out = capsys.readouterr().out
    assert code == 0
    assert "fault kind" in out
    assert "false incidents:" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--machines", "0"], "machines"),
        (["--machines", "100000"], "machines"),
        (["--days", "-1"], "days"),
        (["--interval-s", "0"], "interval_s"),
        (["--jobs", "0"], "--jobs"),
    ],
)
def test_the_command_refuses_bad_arguments(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Out-of-range arguments exit 2 naming what is wrong, before simulating anything."""
    assert main(["anomaly", "simulate", *args]) == 2
    assert message in capsys.readouterr().err


def test_the_command_refuses_a_bad_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed or wrong detector configuration exits 2 naming the key or the file."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[detectors.states]\nduration_factor = 0.5\n", encoding="utf-8")
    assert main(["anomaly", "simulate", "--config", str(bad)]) == 2
    assert "detectors.states.duration_factor" in capsys.readouterr().err
    broken = tmp_path / "broken.toml"
    broken.write_bytes(b"\xff\xfe not toml [[[")
    assert main(["anomaly", "simulate", "--config", str(broken)]) == 2
    assert "cannot read configuration" in capsys.readouterr().err
