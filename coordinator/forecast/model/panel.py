"""Many daily series held as one right-aligned matrix, the shape every step works on.

Each series keeps its own last day (`end_days`); shorter series are padded with NaN on
the left, so `y[:, -k:]` is always "the last k days" of every series and all the
forecasting code is vectorised over series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from coordinator.forecast.errors import DataError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SeriesPanel:
    """Daily history of several series (SKU × location), right-aligned.

    `y` is `[n_series, n_days]` with NaN before each series' first day; `exog` is
    `[n_series, n_days, n_exog]` aligned the same way; `end_days` holds each series'
    last date as days since 1970-01-01; `lengths` the number of real days.
    """

    ids: tuple[str, ...]
    y: FloatArray
    exog: FloatArray
    exog_names: tuple[str, ...]
    end_days: IntArray
    lengths: IntArray

    def __post_init__(self) -> None:
        n = len(self.ids)
        if self.y.ndim != 2 or self.y.shape[0] != n:
            raise DataError(f"y must be [n_series, n_days], got {self.y.shape}")
        if self.exog.shape != (n, self.y.shape[1], len(self.exog_names)):
            raise DataError(f"exog shape {self.exog.shape} does not match y {self.y.shape}")
        if self.end_days.shape != (n,) or self.lengths.shape != (n,):
            raise DataError("end_days and lengths need one entry per series")

    @property
    def n_series(self) -> int:
        """Number of series."""
        return len(self.ids)

    @property
    def n_days(self) -> int:
        """Width of the padded matrix (the longest series)."""
        return int(self.y.shape[1])

    def head(self, n_days: int) -> SeriesPanel:
        """The panel cut back to its first `n_days` columns (an earlier forecast origin).

        Only meaningful when all series end on the same date, as in a backtest.
        """
        if not 0 < n_days <= self.n_days:
            raise DataError(f"cannot cut {self.n_days} days to {n_days}")
        drop = self.n_days - n_days
        lengths = np.maximum(self.lengths - drop, 0).astype(np.int64)
        return SeriesPanel(  # views, not copies: panels are never written to
            ids=self.ids,
            y=self.y[:, :n_days],
            exog=self.exog[:, :n_days, :],
            exog_names=self.exog_names,
            end_days=(self.end_days - drop).astype(np.int64),
            lengths=lengths,
        )

    def select(self, rows: np.ndarray) -> SeriesPanel:
        """The panel of the series at indices `rows`, in that order."""
        return SeriesPanel(
            ids=tuple(self.ids[int(i)] for i in rows),
            y=self.y[rows],
            exog=self.exog[rows],
            exog_names=self.exog_names,
            end_days=self.end_days[rows],
            lengths=self.lengths[rows],
        )

    def future_exog(self, start: int, horizon: int) -> FloatArray:
        """Exogenous values of columns `start .. start+horizon-1` (known-future values)."""
        if start + horizon > self.n_days:
            raise DataError("future exogenous window runs past the data")
        return self.exog[:, start : start + horizon, :].copy()

    def carried_exog(self, horizon: int) -> FloatArray:
        """Assumed future exogenous values when none are given.

        Columns holding only 0/1 over the last year (event flags) are assumed 0 — no
        event known — and every other column (prices) carries its last value forward.
        """
        last = self.exog[:, -1, :]
        future = np.repeat(last[:, None, :], horizon, axis=1)
        for k in range(len(self.exog_names)):
            column = self.exog[:, -364:, k]
            if np.all((column == 0.0) | (column == 1.0) | np.isnan(column)):
                future[:, :, k] = 0.0
        return np.asarray(future, dtype=np.float64)
