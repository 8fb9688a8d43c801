"""`flexfleet scenario run`: table on stdout, progress on stderr, JSON to OUT, exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flexfleet.cli import main
from flexfleet.scenario.kpis import KEYS

SMALL = str(Path(__file__).with_name("small.toml"))


def test_run_writes_json_table_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A baseline run prints every KPI, reports progress per day and writes JSON and a PNG."""
    out, png = tmp_path / "out.json", tmp_path / "out.png"
    code = main(
        ["scenario", "run", SMALL, "--policy", "baseline", "--days", "2", "--seed", "2",
         "--json", str(out), "--drill", "machine-breakdown@1", "--plot", str(png)]
    )  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    for key in KEYS:
        assert key in captured.out
    assert "recovery_h machine-breakdown@1" in captured.out
    assert "day 2/2" in captured.err
    result = json.loads(out.read_text())
    assert set(KEYS) <= set(result["kpis"])
    assert result["kpis"]["drills"][0]["name"] == "machine-breakdown"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--drill", "flood@1"], "expected NAME@DAY"),
        (["--drill", "warehouse-fire@7"], "DAY must be"),
        (["--days", "0"], "--days"),
        (["--speed", "-1"], "--speed"),
        (["--broker", "tcp://127.0.0.1:1883"], "expected mqtt://HOST[:PORT]"),
        (["--seed", "-5"], "--seed must be in 0..4294967295, got -5"),
        (["--plot", "/proc/no-such-dir/p.png"], "cannot write /proc/no-such-dir/p.png"),
        (["--plot", "p.png", "--compare", "/no-such-run.json"], "--compare /no-such-run.json"),
        (["--plot", "p.png", "--compare", SMALL], "not a run's JSON"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """Bad drills, days or speed end with exit code 2 and say why; nothing is written."""
    out = tmp_path / "out.json"
    base = ["scenario", "run", SMALL, "--policy", "baseline", "--days", "2", "--json", str(out)]
    code = main(base + args)
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_an_output_under_a_file_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--json` where no file can be written: exit 2 at once, before day 1."""
    (tmp_path / "a-file").write_text("")
    out = tmp_path / "a-file" / "out.json"
    code = main(["scenario", "run", SMALL, "--policy", "baseline", "--json", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert f"cannot write {out}" in err
    assert "day 1" not in err


def test_bad_scenario_file_names_field_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scenario with a machine in two factories fails before running, naming the line."""
    bad = tmp_path / "bad.toml"
    bad.write_text(Path(SMALL).read_text().replace('id = "m3"', 'id = "m1"'))
    code = main(
        ["scenario", "run", str(bad), "--policy", "baseline", "--json", str(tmp_path / "o")]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert f"{bad}:36: factory[1].machine[0].id" in err


def test_run_through_a_private_broker(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--broker auto`: the same table and JSON keys, and what crossed the broker on stderr."""
    out = tmp_path / "out.json"
    code = main(
        ["scenario", "run", SMALL, "--policy", "baseline", "--days", "1", "--seed", "2",
         "--json", str(out), "--broker", "auto"]
    )  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    assert "broker: " in captured.err
    assert "plan commands crossed" in captured.err
    assert set(KEYS) <= set(json.loads(out.read_text())["kpis"])


def test_an_unreachable_broker_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listens at the broker URL: exit code 1 and the URL named, no JSON written."""
    from flexfleet.broker import free_port

    out, port = tmp_path / "out.json", free_port()
    code = main(
        ["scenario", "run", SMALL, "--policy", "baseline", "--days", "1", "--json", str(out),
         "--broker", f"mqtt://127.0.0.1:{port}"]
    )  # fmt: skip
    assert code == 1
    assert f"127.0.0.1:{port}" in capsys.readouterr().err
    assert not out.exists()
