"""The scorer reproduces NAB's published per-file results from the detectors' raw output."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from flexfleet.nab.corpus import load_windows, published_normalised, published_scores, window_rows
from flexfleet.nab.scoring import normalised, score_file
from flexfleet.nab.series import read_series

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def nab(data_dir: Path) -> Path:
    """The NAB corpus directory."""
    return data_dir / "anomaly" / "nab"


@pytest.mark.parametrize("detector", ["numenta", "windowedGaussian"])
def test_thresholded_outputs_reproduce_published_scores(nab: Path, detector: str) -> None:
    """Thresholding each realKnownCause output file gives NAB's Score, TP, FP and FN exactly."""
    windows = load_windows(nab)
    published = published_scores(nab)[detector]
    outputs = sorted((nab / "results" / detector / "realKnownCause").glob("*.csv"))
    assert len(outputs) == 7
    for output in outputs:
        name = "realKnownCause/" + output.name.removeprefix(detector + "_")
        expected = published[name]
        series = read_series(nab / "data" / name)
        with output.open(encoding="utf-8") as handle:
            scores = [float(row["anomaly_score"]) for row in csv.DictReader(handle)]
        assert len(scores) == len(series)
        detections = [i for i, s in enumerate(scores) if s >= expected.threshold]
        result = score_file(len(series), window_rows(series, windows[name]), detections)
        assert result.score == pytest.approx(expected.score, abs=1e-6), name
        assert (result.tp, result.fp, result.fn, result.tn) == (
            expected.tp,
            expected.fp,
            expected.fn,
            expected.tn,
        ), name


def test_machine_temperature_htm_score(nab: Path) -> None:
    """NAB's published standard score of numenta on machine_temperature, 1.3601, is reproduced."""
    name = "realKnownCause/machine_temperature_system_failure.csv"
    series = read_series(nab / "data" / name)
    output = nab / "results" / "numenta" / "realKnownCause" / f"numenta_{name.split('/')[1]}"
    with output.open(encoding="utf-8") as handle:
        scores = [float(row["anomaly_score"]) for row in csv.DictReader(handle)]
    detections = [i for i, s in enumerate(scores) if s >= 0.542187690735]
    result = score_file(len(series), window_rows(series, load_windows(nab)[name]), detections)
    assert round(result.score, 4) == 1.3601


def test_normalisation_reproduces_published_corpus_scores(nab: Path) -> None:
    """Summing published per-file scores and normalising gives final_results.json."""
    windows = sum(len(w) for w in load_windows(nab).values())
    final = published_normalised(nab)
    for detector, per_file in published_scores(nab).items():
        if len(per_file) < 58 or detector not in final:
            continue
        raw = sum(s.score for s in per_file.values())
        assert normalised(raw, windows) == pytest.approx(final[detector]["standard"], abs=1e-3)
