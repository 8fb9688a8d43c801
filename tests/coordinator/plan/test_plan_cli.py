"""`flexfleet plan`: JSON output for both kinds, and exit code 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import flexfleet.commands.plan as plan_command
from flexfleet.cli import main
from tests.coordinator.plan.plan_fixtures import FT06, SOLOMON_TINY, VRPLIB_TINY


def test_jobshop_prints_makespan_and_machine_sequences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ft06 from an OR-Library file prints makespan 55 and every operation once."""
    path = tmp_path / "ft06.txt"
    path.write_text(FT06)
    assert main(["plan", "jobshop", str(path), "--time-limit", "4", "--seed", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["makespan"] == 55
    assert len(out["machines"]) == 6
    ops = [o for m in out["machines"] for o in m["operations"]]
    assert len(ops) == 36
    assert max(o["end"] for o in ops) == 55


def test_jobshop_json_instance_is_selected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--instance picks one entry of a JSON file of several."""
    path = tmp_path / "set.json"
    path.write_text(
        json.dumps(
            {
                "one": {"duration_matrix": [[3, 4]], "machines_matrix": [[0, 1]]},
                "two": {"duration_matrix": [[5]], "machines_matrix": [[0]]},
            }
        )
    )
    assert main(["plan", "jobshop", str(path), "--time-limit", "1", "--instance", "two"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["instance"], out["makespan"]) == ("two", 5)


@pytest.mark.parametrize("text", [SOLOMON_TINY, VRPLIB_TINY])
def test_vrptw_prints_routes_and_total_distance(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both VRPTW formats print routes of customer ids and the total distance."""
    path = tmp_path / "tiny.txt"
    path.write_text(text)
    code = main(
        ["plan", "vrptw", str(path), "--time-limit", "0.5", "--workers", "1", "--deterministic"]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total_distance"] == 40.0
    assert sorted(s for r in out["routes"] for s in r) == [1, 2, 3]


@pytest.mark.parametrize(
    ("kind", "content", "extra", "message"),
    [
        ("jobshop", "1 1\n0 x\n", [], "whole numbers"),
        ("vrptw", "nonsense", [], "vehicle line"),
        ("jobshop", FT06, ["--time-limit", "-1"], "time-limit"),
        ("jobshop", FT06, ["--workers", "0"], "workers"),
        ("jobshop", b"\xff\xfe\x00garbage", [], "UTF-8"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    kind: str,
    content: str | bytes,
    extra: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Malformed files and bad arguments give exit code 2 and a reason on stderr."""
    path = tmp_path / "input"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    args = ["plan", kind, str(path), "--time-limit", "1", *extra]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""


def test_missing_and_oversized_files_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing file or one over the size limit is refused before parsing."""
    assert main(["plan", "vrptw", str(tmp_path / "absent"), "--time-limit", "1"]) == 2
    assert "cannot read" in capsys.readouterr().err
    path = tmp_path / "big.txt"
    path.write_text(FT06)
    monkeypatch.setattr(plan_command, "MAX_FILE_BYTES", 10)
    assert main(["plan", "jobshop", str(path), "--time-limit", "1"]) == 2
    assert "limit" in capsys.readouterr().err
    # An endless device is cut off at the limit rather than read forever.
    assert main(["plan", "jobshop", "/dev/zero", "--time-limit", "1"]) == 2
    assert "limit" in capsys.readouterr().err
    assert main(["plan", "vrptw", str(tmp_path), "--time-limit", "1"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_importing_the_planning_package_loads_no_solver_library() -> None:
    """ortools and pyvrp are imported only when a plan is requested."""
    import subprocess
    import sys

    code = (
        "import sys, coordinator.plan, flexfleet.commands.plan; "
        "print(any(m.startswith(('ortools', 'pyvrp')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
