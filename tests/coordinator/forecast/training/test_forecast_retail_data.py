"""The evaluation harness on the shared online-retail panel (300 real SKUs; baselines only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coordinator.forecast.model.csv_input import read_csv
from coordinator.forecast.training.evaluation import backtest, pooled

# The figures published with the reference data set (FLEXFLEET_DATA): mean RMSSE over series
# and the last four 28-day windows, M5 scale from the first non-zero sale.
PUBLISHED = {"MA28": 0.672, "SES": 0.680, "MA7": 0.696, "Naive": 0.718, "sNaive7": 0.830}
MA28_PER_WINDOW = (0.639, 0.563, 0.798, 0.688)


@pytest.mark.data
def test_baselines_reproduce_the_published_retail_backtest(data_dir: Path) -> None:
    """MA28 0.672, SES(0.1) 0.680, MA7 0.696, naive 0.718, sNaive7 0.830 over 4 x 28 days."""
    panel = read_csv(data_dir / "demand" / "online_retail_dev300.csv")
    results = backtest(panel, horizon=28, n_windows=4, train=None)
    means = pooled(results)
    for name, want in PUBLISHED.items():
        assert means[name]["rmsse"] == pytest.approx(want, abs=5e-4), name
    per_window = tuple(r.scores["MA28"].means()["rmsse"] for r in results)
    assert per_window == pytest.approx(MA28_PER_WINDOW, abs=5e-4)
    assert [r.cut for r in results] == [599, 627, 655, 683]
