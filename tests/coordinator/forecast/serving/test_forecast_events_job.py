"""The forecast job's event step: a requested refresh brings a new stream into the daily
and hourly forecasts, and an event head that fails leaves the stored forecasts as they
were."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from coordinator.forecast.errors import ModelLoadError, RefreshFailed
from coordinator.forecast.events.features import HOUR_MS, StreamEvent
from coordinator.forecast.events.hourly import EventContext
from coordinator.forecast.serving.job import ForecastJob
from coordinator.forecast.serving.runtime import EventHeadModel
from coordinator.forecast.serving.store import ForecastStore
from fleet_runtime.clock import FakeClock

TODAY = 1_700_000_000 // 86_400


class _Broken:
    """An event head whose runtime fails, as a corrupt session would."""

    def run(self, base: np.ndarray, events: np.ndarray, params: np.ndarray) -> np.ndarray:
        raise ModelLoadError("event head inference failed: boom", path=None)


@pytest.fixture
def streams() -> list[StreamEvent]:
    """The announced streams the job reads (empty at first)."""
    return []


@pytest.fixture
def job(tmp_path: Path, streams: list[StreamEvent]) -> Iterator[ForecastJob]:
    """A job on a fake clock: tea sells 4 a day at s1/w1, cup 2 at s1/w2."""
    sales = [("s1", "w1", "tea", TODAY - d, 4) for d in range(30)]
    sales += [("s1", "w2", "cup", TODAY - d, 2) for d in range(30)]
    opened = ForecastJob(
        sales=lambda since: [r for r in sales if r[3] >= since],
        store=ForecastStore.open(tmp_path / "f.db"),
        clock=FakeClock(),
        model_dir=None,
        horizon_days=7,
        refresh_interval_s=3600.0,
        model_check_interval_s=30.0,
        events=lambda: EventContext(streams=tuple(streams)),
        event_head=EventHeadModel.load(),
    )
    yield opened
    opened.close()


def test_a_requested_refresh_takes_in_a_new_stream(
    job: ForecastJob, streams: list[StreamEvent]
) -> None:
    """Between scheduled refreshes nothing changes; after `request_refresh` the next step
    adds the stream's 12 orders to tea's hours and its day, and nothing to cup."""
    job.run_pending()
    assert job.status()["hourly_series"] == 2
    quiet = {f.sku: f for f in job.hourly()}
    start = quiet["tea"].first_hour_ms + 30 * HOUR_MS
    streams.append(StreamEvent("ls", start, start + 2 * HOUR_MS, ("tea",), 12.0))
    job.run_pending()
    assert all(sum(f.event_units) == 0 for f in job.hourly())  # not due yet
    job.request_refresh()
    job.run_pending()
    loud = {f.sku: f for f in job.hourly()}
    assert sum(loud["tea"].event_units) == pytest.approx(12.0, rel=1e-4)
    assert loud["cup"].mean == quiet["cup"].mean
    daily = {f.sku: f for f in job.service.latest()}
    assert sum(daily["tea"].event_units) == pytest.approx(12.0, rel=1e-4)
    assert daily["cup"].event_units == ()
    stored = {f.sku: f for f in job.store.query(limit=10)}
    assert stored["tea"].event_units == daily["tea"].event_units
    units, seen = job.stream_units()
    assert units == {("ls", "tea"): pytest.approx(12.0, rel=1e-4)}
    assert seen == {"ls": streams[0]}


def test_a_failing_event_head_keeps_the_stored_forecasts(
    job: ForecastJob, streams: list[StreamEvent]
) -> None:
    """The head fails mid-refresh: `RefreshFailed`, the stored and served forecasts are
    the last good ones, and the error is in the status."""
    before = job.refresh()
    streams.append(StreamEvent("ls", 0, 1, ("tea",), 1.0))
    job.event_head = _Broken()
    with pytest.raises(RefreshFailed, match="boom"):
        job.refresh()
    assert job.store.query(limit=10) == sorted(before, key=lambda f: f.unique_id)
    assert job.service.latest() == sorted(before, key=lambda f: f.unique_id)
    assert "boom" in str(job.status()["last_refresh_error"])
