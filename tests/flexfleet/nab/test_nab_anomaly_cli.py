"""`flexfleet anomaly detect` and `flexfleet anomaly eval` end to end."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from flexfleet.cli import main


def spiky_csv(path: Path, *, spike_at: int = 400, rows: int = 600) -> list[float]:
    """A 5-minute series of noise with one spike; returns the values."""
    rng = random.Random(3)
    values = [20.0 + rng.gauss(0, 1) for _ in range(rows)]
    values[spike_at] += 15.0
    with path.open("w", encoding="utf-8") as handle:
        handle.write("timestamp,value\n")
        for i, v in enumerate(values):
            handle.write(f"{1_600_000_000 + 300 * i},{v}\n")
    return values


def test_detect_writes_scored_rows_with_alert_on_the_raise(tmp_path: Path) -> None:
    """Output has one row per input row and alert=1 exactly on the spike."""
    source = tmp_path / "in.csv"
    values = spiky_csv(source)
    out = tmp_path / "out.csv"
    assert main(["anomaly", "detect", str(source), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert list(rows[0]) == ["timestamp", "value", "score", "alert"]
    assert len(rows) == len(values)
    assert [i for i, r in enumerate(rows) if r["alert"] == "1"] == [400]
    assert float(rows[400]["score"]) >= 1.0
    assert float(rows[400]["value"]) == values[400]


def test_detect_defaults_to_standard_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --out the rows go to standard output."""
    source = tmp_path / "in.csv"
    spiky_csv(source, rows=50, spike_at=10)
    assert main(["anomaly", "detect", str(source)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "timestamp,value,score,alert"
    assert len(lines) == 51


def test_detect_signal_column_and_config(tmp_path: Path) -> None:
    """A wide file's column is chosen; a TOML [detectors] table sets limits."""
    source = tmp_path / "wide.csv"
    source.write_text("timestamp,rpm,temp\n1,900,20\n2,950,99\n3,960,20\n", encoding="utf-8")
    config = tmp_path / "detectors.toml"
    config.write_text("[detectors.out_of_range]\nmax_value = 90\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    args = ["anomaly", "detect", str(source), "--signal-column", "temp", "--config", str(config)]
    assert main([*args, "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert [r["alert"] for r in rows] == ["0", "1", "0"]


def test_detect_keeps_rows_without_a_reading_and_reports_the_gap(tmp_path: Path) -> None:
    """An empty cell is a row without a reading: written back with no value and score 0,
    never fed to the detectors; a long run of them is a gap the missing-data detector
    raises on at the next reading (not an out-of-range value at each empty row)."""
    rows = ["ts,temp"] + [f"{60 * i},{20 + (i % 3)}" for i in range(400)]
    rows += [f"{60 * i}," for i in range(400, 460)] + [f"{60 * 460},21"]
    source = tmp_path / "gappy.csv"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    args = ["anomaly", "detect", str(source), "--timestamp-column", "ts", "--out", str(out)]
    assert main(args) == 0
    written = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert len(written) == 461
    assert {(r["value"], r["score"], r["alert"]) for r in written[400:460]} == {("", "0.0000", "0")}
    assert [i for i, r in enumerate(written) if r["alert"] == "1"] == [460]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "file is empty"),
        ("timestamp,value\n1,\n2,\n", "no readings"),
        ("time,value\n1,1\n", "no 'timestamp' column"),
        ("timestamp,value\nnot-a-time,1\n", "bad timestamp"),
        ("timestamp,value\n1,one\n", "is not a number"),
    ],
)
def test_detect_reports_malformed_input_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    """Malformed CSV exits 2 with the reason on standard error, no traceback."""
    source = tmp_path / "bad.csv"
    source.write_text(content, encoding="utf-8")
    assert main(["anomaly", "detect", str(source)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_detect_reports_bad_config_and_unwritable_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Invalid settings and an output path in a missing directory exit 2."""
    source = tmp_path / "in.csv"
    spiky_csv(source, rows=20, spike_at=5)
    config = tmp_path / "bad.toml"
    config.write_text("[detectors.baseline]\nraise_score = -1\n", encoding="utf-8")
    assert main(["anomaly", "detect", str(source), "--config", str(config)]) == 2
    assert "baseline.raise_score" in capsys.readouterr().err
    config.write_text("not toml [", encoding="utf-8")
    assert main(["anomaly", "detect", str(source), "--config", str(config)]) == 2
    out = tmp_path / "missing" / "out.csv"
    assert main(["anomaly", "detect", str(source), "--out", str(out)]) == 2
    assert "cannot write" in capsys.readouterr().err


def make_corpus(root: Path) -> None:
    """A one-file corpus in NAB's layout, with a window around a spike."""
    (root / "data" / "synthetic").mkdir(parents=True)
    spiky_csv(root / "data" / "synthetic" / "spike.csv", spike_at=400, rows=600)
    (root / "labels").mkdir()
    start, end = 1_600_000_000 + 300 * 380, 1_600_000_000 + 300 * 420
    (root / "labels" / "combined_windows.json").write_text(
        json.dumps({"synthetic/spike.csv": [[str(start), str(end)]]}), encoding="utf-8"
    )


def test_eval_scores_a_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """eval prints the file line and the corpus line with the normalised score."""
    make_corpus(tmp_path)
    assert main(["anomaly", "eval", "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    file_line = next(line for line in out.splitlines() if line.startswith("synthetic/spike.csv"))
    assert " 1/1 " in file_line
    corpus_line = next(line for line in out.splitlines() if line.startswith("flexfleet"))
    # hit at row 400 of window 380..420: y = -(420-400+1)/41 = -0.5122,
    # σ(y)/σ(-1) = 0.8683 → normalised 100 · (0.8683 + 1) / 2 = 93.41
    assert "93.41" in corpus_line
    assert "windows detected 1/1" in out


def test_eval_without_a_corpus_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A directory that is not a NAB corpus exits 2 with the reason."""
    assert main(["anomaly", "eval", "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "combined_windows.json: cannot read" in err
    assert "Traceback" not in err


@pytest.mark.data
def test_eval_on_real_industrial_file(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """eval runs on a real NAB file and prints the published HTM score beside ours."""
    nab = data_dir / "anomaly" / "nab"
    name = "realKnownCause/ambient_temperature_system_failure.csv"
    assert main(["anomaly", "eval", "--data", str(nab), "--file", name]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith(name))
    assert "-0.759" in line  # Numenta HTM's published score for this file
