"""The evaluation harness on the shared M5 subset (baselines only, fast)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from coordinator.forecast.model.csv_input import read_csv
from coordinator.forecast.training.evaluation import evaluate_window


@pytest.mark.data
def test_baselines_reproduce_reference_scores(data_dir: Path) -> None:
    """Naive, sNaive7, MA28, SES(0.1), Croston(0.1) match the reference TSV on the final window."""
    panel = read_csv(data_dir / "demand" / "m5_sales_exog_small.csv")
    result = evaluate_window(panel, cut=1941, horizon=28, model=None)
    lines = (data_dir / "demand" / "m5_small_baseline_scores.tsv").read_text().splitlines()
    table = list(csv.DictReader([ln for ln in lines if not ln.startswith("#")], delimiter="\t"))
    columns = {"Naive": "Naive", "sNaive7": "sNaive7", "MA28": "MA28", "SES": "SES_a0.1"}
    columns["Croston"] = "Croston_a0.1"
    for row in table:
        uid = row["unique_id"]
        for ours, theirs in columns.items():
            want_rmsse, want_mase = (float(v) for v in row[theirs].split("/"))
            scores = result.scores[ours]
            if uid == "MEAN":
                got = scores.means()
                assert got["rmsse"] == pytest.approx(want_rmsse, abs=6e-4)
                assert got["mase"] == pytest.approx(want_mase, abs=6e-4)
            else:
                s = result.ids.index(uid)
                assert scores.rmsse[s] == pytest.approx(want_rmsse, abs=6e-4)
                assert scores.mase[s] == pytest.approx(want_mase, abs=6e-4)
