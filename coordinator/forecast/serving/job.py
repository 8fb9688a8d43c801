"""The coordinator's forecasting job: sales history in, stored forecasts out, on a schedule.

`ForecastJob` owns the model (a `ModelStore` whose one onnxruntime session is created at
start, when a model directory is configured), the `ForecastService`, its
`RefreshSchedule` and the `ForecastStore`. `refresh()` reads the daily sales the store
aggregated from the warehouses' stock deltas, forecasts every SKU × location in one
batch and replaces the stored forecasts; `run_pending()` does whatever is due (a model
check, a scheduled refresh) and is what the background thread calls.

With an `events` source (the announced streams, past uplifts and SKU families), each
refresh also runs the event step (`coordinator.forecast.serving.event_step`): hourly
forecasts for the next 72 h and event-aware daily ones through the event head's
onnxruntime session (`EventHeadModel`, created at start). `request_refresh()` (called when
a stream is posted) makes the next step refresh, so a new stream is in the forecast
within a tick or two of the background thread.

Its `watchers` (e.g. the stock cover, `coordinator.stock.cover_watch.CoverWatch`) are
checked right after each refresh and given a `run_pending()` on every step between them.

Without a model, or while none could be loaded, every series gets its best baseline
(`BestBaselineForecaster`), and each forecast says so. A new model version is picked up
on the next model check; one that fails validation is reported in `status()` while the
last good model keeps serving.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from coordinator.errors import CoordinatorError, StoreError
from coordinator.forecast.errors import (
    ForecastError,
    ModelError,
    ModelLoadError,
    ModelSignatureError,
    RefreshFailed,
)
from coordinator.forecast.events.features import StreamEvent
from coordinator.forecast.events.hourly import EventContext, EventHeadRunner
from coordinator.forecast.model.history import DailySales, panel_from_sales
from coordinator.forecast.model.panel import SeriesPanel
from coordinator.forecast.serving.baseline_choice import BASELINES_VERSION, BestBaselineForecaster
from coordinator.forecast.serving.event_step import HourlyForecast, StreamUnits, apply_events
from coordinator.forecast.serving.model_store import ModelStore
from coordinator.forecast.serving.predictor import ModelRunner, PanelForecast, forecast_with_model
from coordinator.forecast.serving.service import Forecast, ForecastService, RefreshSchedule
from coordinator.forecast.serving.store import ForecastStore
from fleet_runtime.clock import Clock, now_ms

log = logging.getLogger(__name__)

DAY_S = 86_400
HISTORY_DAYS = 2 * 364 + 28  # the model's 364-day window plus a year of baseline residuals

SalesRows = Iterable[tuple[str, str, str, int, int]]
SalesSource = Callable[[int], SalesRows]  # since_day -> (site, node, sku, day, units)


def location_of(site: str, node: str) -> str:
    """The location of a micro-warehouse: `site/node`."""
    return f"{site}/{node}"


def sales_panel(rows: SalesRows, *, today: int) -> SeriesPanel | None:
    """Daily sales per SKU × location, every series running up to `today` (zeros filled).

    Today counts as observed so far: the forecast starts tomorrow. None when no sales.
    """
    records = [
        DailySales(sku, location_of(site, node), day, float(u)) for site, node, sku, day, u in rows
    ]
    if not records:
        return None
    pairs = {(r.sku, r.location) for r in records}
    records += [DailySales(sku, location, today, 0.0) for sku, location in pairs]
    return panel_from_sales(r for r in records if r.day <= today)


def serving_loader(horizon_days: int) -> Callable[[Path], ModelRunner]:
    """A `ModelStore` loader that also refuses models the coordinator cannot feed."""

    def load(path: Path) -> ModelRunner:
        from coordinator.forecast.serving.runtime import OnnxModel

        model = OnnxModel.load(path, intra_op_threads=1)
        card = model.card
        if card.exog_names:
            raise ModelSignatureError(
                f"model needs exogenous columns {list(card.exog_names)}; the coordinator's"
                " sales history has none (train on unique_id, ds, y only)",
                path=path,
            )
        if card.horizon_days < horizon_days:
            raise ModelSignatureError(
                f"model forecasts {card.horizon_days} days; the coordinator is configured"
                f" for {horizon_days} (forecast_horizon_days)",
                path=path,
            )
        return model

    return load


class RefreshWatcher(Protocol):
    """Something that follows the forecasts: checked after each refresh, stepped between."""

    def check(self) -> object:
        """Look at the new forecasts now."""

    def run_pending(self) -> None:
        """Do whatever is due."""


class ServingForecaster:
    """The model in the store when there is one, else the best baseline per series."""

    def __init__(self, models: ModelStore | None) -> None:
        self.models = models

    def runner(self) -> ModelRunner | None:
        """The model in service, or None."""
        if self.models is None:
            return None
        try:
            return self.models.current
        except ModelLoadError:
            return None

    @property
    def model_version(self) -> str:
        """The served model's version, or `baselines`."""
        runner = self.runner()
        return BASELINES_VERSION if runner is None else runner.card.model_version

    def forecast(self, panel: SeriesPanel, *, horizon: int) -> PanelForecast:
        """Forecast every series in one batch, through onnxruntime when a model is loaded."""
        runner = self.runner()
        if runner is not None:
            return forecast_with_model(runner, panel, horizon=horizon)
        if self.models is None:
            why = "no forecast model configured"
        else:
            error = self.models.last_error
            why = f"no forecast model loaded ({error.reason if error else 'none yet'})"
        return BestBaselineForecaster(why=why).forecast(panel, horizon=horizon)


class ForecastJob:
    """Refreshes and stores forecasts from the sales history; see the module docstring."""

    def __init__(
        self,
        *,
        sales: SalesSource,
        store: ForecastStore,
        clock: Clock,
        model_dir: Path | None,
        horizon_days: int,
        refresh_interval_s: float,
        model_check_interval_s: float,
        events: Callable[[], EventContext] | None = None,
        event_head: EventHeadRunner | None = None,
    ) -> None:
        self._sales = sales
        self.store = store
        self._clock = clock
        self.model_dir = model_dir
        self.models = (
            None
            if model_dir is None
            else ModelStore(model_dir, loader=serving_loader(horizon_days))
        )
        self.forecaster = ServingForecaster(self.models)
        self.service = ForecastService(self.forecaster, clock=clock, horizon_days=horizon_days)
        self.schedule = RefreshSchedule(clock=clock, interval_s=refresh_interval_s)
        self._model_checks = RefreshSchedule(clock=clock, interval_s=model_check_interval_s)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_refresh_ms: int | None = None
        self.last_refresh_error: str | None = None
        self.series = store.count()
        self.watchers: list[RefreshWatcher] = []
        self._events = events
        self.event_error: str | None = None
        self.event_head = event_head
        if events is not None and event_head is None:
            self.event_head = self._load_event_head()
        self._hourly: list[HourlyForecast] = []
        self._stream_units: tuple[StreamUnits, dict[str, StreamEvent]] = ({}, {})
        self.check_model()  # the one session is created here, at start

    def _load_event_head(self) -> EventHeadRunner | None:
        from coordinator.forecast.serving.runtime import EventHeadModel

        try:
            return EventHeadModel.load(intra_op_threads=1)
        except ModelError as exc:
            self.event_error = str(exc)
            log.error("event head refused, forecasts without streams: %s", exc)
            return None

    def request_refresh(self) -> None:
        """Refresh at the next step (e.g. a stream was announced or changed)."""
        self.schedule.request()

    def hourly(self) -> list[HourlyForecast]:
        """The hourly forecasts of the last refresh (empty without an events source)."""
        return list(self._hourly)  # replaced whole by each refresh, never changed in place

    def stream_units(self) -> tuple[StreamUnits, dict[str, StreamEvent]]:
        """What the last refresh expects each (stream, SKU) to sell, and the streams as it
        saw them."""
        return self._stream_units

    def check_model(self) -> bool:
        """Load a new model version if there is one; True when one was swapped in.

        A bad model is logged and kept in `status()`; the last good one keeps serving.
        """
        self._model_checks.mark_done()
        if self.models is None:
            return False
        before = str(self.models.last_error)
        swapped = self.models.poll()
        if swapped:
            log.info("forecast model %s loaded", self.forecaster.model_version)
        elif self.models.last_error is not None and str(self.models.last_error) != before:
            log.error(
                "forecast model refused, the last good one serves: %s", self.models.last_error
            )
        return swapped

    def refresh(self) -> list[Forecast]:
        """Forecast every SKU × location from the sales history, store the result and
        check the `watchers` against it.

        Raises `RefreshFailed` or `StoreError`; the stored forecasts are then unchanged.
        """
        with self._lock:
            try:
                today = int(self._clock.now() // DAY_S)
                panel = sales_panel(self._sales(today - HISTORY_DAYS + 1), today=today)
                out = [] if panel is None else self.service.forecast(panel)
                hourly: list[HourlyForecast] = []
                units: tuple[StreamUnits, dict[str, StreamEvent]] = ({}, {})
                if self._events is not None and self.event_head is not None and out:
                    stamp = now_ms(self._clock)
                    step = apply_events(
                        out,
                        now_ms=stamp,
                        runner=self.event_head,
                        context=self._events(),
                        stamp_ms=stamp,
                    )
                    out, hourly = step.daily, step.hourly
                    units = (step.stream_units, {e.stream_id: e for e in step.streams})
                self.store.replace_all(out)
                self.service.publish(out)
                self._hourly, self._stream_units = hourly, units
            except StoreError as exc:
                self.last_refresh_error = str(exc)
                raise
            except ForecastError as exc:
                self.last_refresh_error = str(exc)
                raise RefreshFailed(f"forecast refresh failed: {exc}") from exc
            finally:
                self.schedule.mark_done()
            self.last_refresh_ms = now_ms(self._clock)
            self.last_refresh_error = None
            self.series = len(out)
        for watcher in self.watchers:
            watcher.check()  # new forecasts: every cover changes
        return out

    def run_pending(self) -> None:
        """Check the model and refresh when due; errors are logged and kept, never raised."""
        if self._model_checks.due():
            self.check_model()
        if self.schedule.due():
            try:
                self.refresh()
            except CoordinatorError as exc:
                log.error("forecast refresh failed: %s", exc)
        for watcher in self.watchers:
            watcher.run_pending()

    def status(self) -> dict[str, Any]:
        """What is serving and how the last refresh went (JSON-able)."""
        runner = self.forecaster.runner()
        error = None if self.models is None else self.models.last_error
        return {
            "source": "baselines" if runner is None else "model",
            "model_version": self.forecaster.model_version,
            "model_dir": None if self.model_dir is None else str(self.model_dir),
            "model_error": None if error is None else str(error),
            "horizon_days": self.service.horizon_days,
            "refresh_interval_s": self.schedule.interval_s,
            "last_refresh_ms": self.last_refresh_ms,
            "last_refresh_error": self.last_refresh_error,
            "series": self.series,
            "hourly_series": len(self._hourly),
            "event_error": self.event_error,
        }

    def start(self, *, tick_s: float = 1.0) -> None:
        """Run `run_pending` every `tick_s` in a background thread (the first at once)."""
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while True:
                try:
                    self.run_pending()
                except Exception:  # a bug must not end forecasting for good
                    log.exception("forecast job step failed")
                if self._stop.wait(tick_s):
                    return

        self._thread = threading.Thread(target=loop, name="forecast-job", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread (waits for a refresh in progress)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(60)
            self._thread = None

    def close(self) -> None:
        """Stop and close the forecast store."""
        self.stop()
        self.store.close()


__all__ = [
    "ForecastJob",
    "RefreshWatcher",
    "ServingForecaster",
    "location_of",
    "sales_panel",
    "serving_loader",
]
