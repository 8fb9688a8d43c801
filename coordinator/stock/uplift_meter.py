"""`StreamUpliftMeter`: measures each live stream once it has ended and keeps the result,
and gives the forecast the past uplifts (`coordinator.stock.stream_uplift`).

It follows the forecast job (`RefreshWatcher`): on each step it looks, at most every
`interval_s`, for streams that ended at least `settle_s` ago (so the warehouses' late
stock deltas are in) and have no measurement yet, measures them from the store's sales
and `live_stream` flag samples, and keeps each measurement once. Measuring is idempotent:
a crash between two streams re-measures only those not kept yet.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from coordinator.errors import CoordinatorError
from coordinator.stock.live_streams import LiveStream
from coordinator.stock.stream_uplift import (
    DAY_MS,
    HOUR_MS,
    PastUplifts,
    RealisedUplift,
    measure,
    on_air,
    past_uplifts,
)
from fleet_runtime.clock import Clock, now_ms

log = logging.getLogger(__name__)


class UpliftStore(Protocol):
    """Where measurements are kept and measured from (`coordinator.store.stream_uplifts`)."""

    def put(self, measured: RealisedUplift) -> bool:
        """Keep a stream's measurement once."""

    def get(self, stream_id: str) -> RealisedUplift | None:
        """A stream's measurement."""

    def recent(self, *, limit: int = 500) -> list[RealisedUplift]:
        """The newest measurements first."""

    def units_between(self, skus: Sequence[str], start_ms: int, end_ms: int) -> dict[str, float]:
        """Units of the SKUs picked in the span."""

    def units_on_days(self, skus: Sequence[str], first_day: int, last_day: int) -> dict[str, float]:
        """Units of the SKUs sold on the days."""

    def flag_samples(self, start_ms: int, end_ms: int) -> list[tuple[int, float]]:
        """`live_stream` flag samples in the span."""


class StreamUpliftMeter:
    """Measures ended streams and serves the past uplifts (see the module)."""

    def __init__(
        self,
        *,
        store: UpliftStore,
        streams: Callable[[], Sequence[LiveStream]],
        family_of: Callable[[], Mapping[str, str]],
        clock: Clock,
        settle_s: float = 600.0,
        interval_s: float = 60.0,
        baseline_days: int = 28,
        pre_hours: float = 6.0,
    ) -> None:
        self._store = store
        self._streams = streams
        self._family_of = family_of
        self._clock = clock
        self.settle_s = settle_s
        self.interval_s = interval_s
        self.baseline_days = baseline_days
        self.pre_hours = pre_hours
        self._last_run: float | None = None
        self._lock = threading.Lock()
        self._past: PastUplifts | None = None

    def measure_one(self, stream: LiveStream) -> RealisedUplift:
        """Measure one stream from the store (not kept)."""
        window = on_air(
            stream,
            self._store.flag_samples(stream.start_ms - HOUR_MS, stream.end_ms + HOUR_MS),
        )
        skus = list(stream.featured_skus)
        start, end, _ = window
        pre_ms = int(self.pre_hours * HOUR_MS)
        day = start // DAY_MS
        return measure(
            stream,
            window=window,
            units=self._store.units_between(skus, start, end),
            pre_units=self._store.units_between(skus, start - pre_ms, start),
            baseline_units=self._store.units_on_days(skus, day - self.baseline_days, day - 1),
            baseline_days=self.baseline_days,
            pre_hours=self.pre_hours,
            measured_ms=now_ms(self._clock),
        )

    def check(self) -> list[RealisedUplift]:
        """Measure and keep every settled stream without a measurement; those kept now."""
        with self._lock:
            self._last_run = self._clock.monotonic()
            settled = now_ms(self._clock) - int(self.settle_s * 1000)
            kept = []
            for stream in self._streams():
                if stream.end_ms > settled or self._store.get(stream.id) is not None:
                    continue
                measured = self.measure_one(stream)
                if self._store.put(measured):
                    kept.append(measured)
            if kept or self._past is None:
                self._past = past_uplifts(self._store.recent(), self._family_of())
            return kept

    def run_pending(self) -> None:
        """`check` when `interval_s` has passed; errors are logged, never raised."""
        if (
            self._last_run is not None
            and self._clock.monotonic() - self._last_run < self.interval_s
        ):
            return
        try:
            self.check()
        except CoordinatorError as exc:
            log.error("stream uplift measurement failed: %s", exc)

    def past(self) -> PastUplifts:
        """The past uplifts of the last check (none before the first)."""
        past = self._past
        return PastUplifts({}, {}, 0.0) if past is None else past

    def get(self, stream_id: str) -> RealisedUplift | None:
        """A stream's measurement, or None."""
        return self._store.get(stream_id)


__all__ = ["StreamUpliftMeter", "UpliftStore"]
