"""The coordinator's forecast job: model or best baselines, hot reload, last good model kept,
scheduled refreshes and forecasts stored in SQLite."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from coordinator.forecast.errors import RefreshFailed
from coordinator.forecast.model.history import DailySales, panel_from_sales
from coordinator.forecast.serving.baseline_choice import BestBaselineForecaster
from coordinator.forecast.serving.job import ForecastJob
from coordinator.forecast.serving.store import ForecastStore
from coordinator.forecast.training.fit import ExportedModel, write_model
from fleet_runtime.clock import FakeClock
from tests.coordinator.forecast.serving_support import train_sales_model

TODAY = 1_700_000_000 // 86_400


def _sales() -> list[tuple[str, str, str, int, int]]:
    """60 days of weekly-patterned tea sales at s1/w1, and 5 days of cups at s1/w2."""
    tea = [("s1", "w1", "tea", TODAY - d, 9 if d % 7 == 0 else 1) for d in range(60)]
    return [*tea, *(("s1", "w2", "cup", TODAY - d, 2) for d in range(5))]


@pytest.fixture(scope="module")
def model() -> ExportedModel:
    """A tiny 7-day sales model."""
    return train_sales_model(seed=0)


@pytest.fixture(scope="module")
def newer() -> ExportedModel:
    """Another tiny model (a different version)."""
    return train_sales_model(seed=1)


class Jobs:
    """Builds jobs on one database and closes them all at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.db = tmp_path / "f.db"
        self.clock = FakeClock()
        self.opened: list[ForecastJob] = []

    def open(self, model_dir: Path | None = None, *, horizon_days: int = 7) -> ForecastJob:
        job = ForecastJob(
            sales=lambda since: [r for r in _sales() if r[3] >= since],
            store=ForecastStore.open(self.db),
            clock=self.clock,
            model_dir=model_dir,
            horizon_days=horizon_days,
            refresh_interval_s=600.0,
            model_check_interval_s=30.0,
        )
        self.opened.append(job)
        return job


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[Jobs]:
    """A job factory on a fake clock; every job is closed afterwards."""
    made = Jobs(tmp_path)
    yield made
    for job in made.opened:
        job.close()


def _newest(path: Path, step: int) -> None:
    stamp = 2**61 + step
    os.utime(path / "model_card.json", ns=(stamp, stamp))


def test_best_baseline_is_chosen_per_series() -> None:
    """Without a model, a weekly series gets the seasonal naive, a short one MA28, each said so."""
    records = [DailySales("tea", "s/w", d, 9.0 if d % 7 == 0 else 1.0) for d in range(70)]
    records += [DailySales("cup", "s/w", d, 2.0) for d in range(60, 70)]
    panel = panel_from_sales(records)
    result = BestBaselineForecaster(why="no model here").forecast(panel, horizon=7)
    by_id = dict(zip(result.ids, range(panel.n_series), strict=True))
    tea, cup = by_id["tea@s/w"], by_id["cup@s/w"]
    assert result.method[tea] == "sNaive7"
    np.testing.assert_allclose(result.mean[tea], [9 if d % 7 == 0 else 1 for d in range(70, 77)])
    assert result.method[cup] == "MA28"
    assert result.fallback == (True, True)
    assert result.reason(tea).startswith("no model here; sNaive7 had the lowest error")
    assert "10 days of history, too few to compare baselines" in result.reason(cup)
    assert (np.diff(result.quantiles, axis=2) >= 0).all()


def test_without_a_model_every_series_gets_a_baseline_and_says_so(jobs: Jobs) -> None:
    """No model directory: the refresh stores baseline forecasts flagged as such."""
    job = jobs.open()
    out = job.refresh()
    assert [f.unique_id for f in out] == ["cup@s1/w2", "tea@s1/w1"]
    stored = job.store.query(location="s1/w1")
    assert [f.sku for f in stored] == ["tea"]
    assert stored[0].dates[0] == "2023-11-15"  # the day after the clock's today
    assert stored[0].fallback
    assert stored[0].model_version == "baselines"
    assert stored[0].reason.startswith("no forecast model configured")
    assert job.status()["source"] == "baselines"


def test_model_serves_long_series_and_short_ones_fall_back(
    jobs: Jobs, model: ExportedModel, tmp_path: Path
) -> None:
    """With a model, a 60-day series is forecast by it; a 5-day one by its fallback baseline."""
    write_model(model, tmp_path / "models" / "v1")
    job = jobs.open(tmp_path / "models")
    assert job.status()["source"] == "model"  # the session was created at start
    (tea,) = job.refresh()[1:]
    cup = job.store.query(sku="cup")[0]
    assert (tea.method, tea.fallback, tea.reason) == (model.card.model_version, False, "")
    assert tea.model_version == cup.model_version == model.card.model_version
    assert cup.fallback
    assert cup.method == model.card.fallback_baseline
    assert cup.reason.startswith("too little history: 5 days, the model needs 28")
    assert len(cup.p90) == 7
    assert all(a <= b for a, b in zip(cup.p10, cup.p90, strict=True))


def test_new_version_is_hot_loaded_and_a_bad_one_is_refused(
    jobs: Jobs, model: ExportedModel, newer: ExportedModel, tmp_path: Path
) -> None:
    """A newer valid version is swapped in; a broken one after it is refused, loudly, and
    the last good model keeps serving."""
    root = tmp_path / "models"
    write_model(model, root / "v1")
    job = jobs.open(root)
    write_model(newer, root / "v2")
    _newest(root / "v2", 1)
    assert job.check_model()
    assert job.refresh()[1].model_version == newer.card.model_version
    bad = write_model(model, root / "v3")
    (bad / "model.onnx").write_bytes(b"not an onnx graph")
    _newest(bad, 2)
    assert not job.check_model()
    status = job.status()
    assert status["model_version"] == newer.card.model_version
    assert "cannot load" in status["model_error"]
    assert "v3" in status["model_error"]
    assert job.refresh()[1].method == newer.card.model_version


@pytest.mark.parametrize("defect", ["exogenous", "horizon"])
def test_model_the_coordinator_cannot_feed_is_refused(
    jobs: Jobs, model: ExportedModel, tmp_path: Path, defect: str
) -> None:
    """A model needing price/event columns, or with a shorter horizon than configured, is
    refused at start with a clear error, and baselines serve meanwhile."""
    directory = write_model(model, tmp_path / "m")
    horizon = 7
    if defect == "exogenous":
        card = json.loads((directory / "model_card.json").read_text())
        card["exog_names"] = ["sell_price"]
        (directory / "model_card.json").write_text(json.dumps(card))
    else:
        horizon = 14
    job = jobs.open(directory, horizon_days=horizon)
    status = job.status()
    assert status["source"] == "baselines"
    assert defect in status["model_error"]
    forecast = job.refresh()[0]
    assert forecast.fallback
    assert "no forecast model loaded" in forecast.reason


def test_refresh_runs_on_schedule_and_results_survive_a_restart(jobs: Jobs) -> None:
    """Due at start, again only after the interval; a new job serves the stored forecasts."""
    job = jobs.open()
    job.run_pending()
    first = job.status()["last_refresh_ms"]
    assert first is not None
    assert job.status()["series"] == 2
    jobs.clock.advance(599.0)
    job.run_pending()
    assert job.status()["last_refresh_ms"] == first
    jobs.clock.advance(1.0)
    job.run_pending()
    assert job.status()["last_refresh_ms"] == first + 600_000
    job.close()
    again = jobs.open()
    assert again.status()["series"] == 2
    assert [f.sku for f in again.store.query()] == ["cup", "tea"]


def test_a_failed_refresh_keeps_the_stored_forecasts(jobs: Jobs) -> None:
    """History the forecaster refuses raises RefreshFailed and changes nothing."""
    job = jobs.open()
    job.refresh()
    broken = ForecastJob(
        sales=lambda _since: [("s1", "w1", "a@b", TODAY, 1)],  # "@" separates sku and location
        store=ForecastStore.open(jobs.db),
        clock=jobs.clock,
        model_dir=None,
        horizon_days=7,
        refresh_interval_s=600.0,
        model_check_interval_s=30.0,
    )
    jobs.opened.append(broken)
    with pytest.raises(RefreshFailed, match="sku/location"):
        broken.refresh()
    assert "sku/location" in broken.status()["last_refresh_error"]
    assert [f.sku for f in job.store.query()] == ["cup", "tea"]
