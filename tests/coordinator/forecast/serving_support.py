"""Tiny models the coordinator can serve (trained on sales only, no exogenous columns)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from coordinator.forecast.model.history import DailySales, panel_from_sales
from coordinator.forecast.training.fit import ExportedModel, train_model, with_seed, write_model
from tests.coordinator.forecast.forecast_support import TINY_CONFIG, synthetic_rows

SERVING_CONFIG = replace(TINY_CONFIG, hidden_units=4, epochs=1, origin_stride_days=7)


def train_sales_model(*, seed: int = 0) -> ExportedModel:
    """A 7-day model trained in well under a second on four synthetic sales series."""
    rows = synthetic_rows(n_series=4, n_days=90, short_days=90, seed=seed)
    day0 = 19_000
    dates = sorted({r[1] for r in rows})
    day_of = {d: day0 + i for i, d in enumerate(dates)}
    sku_loc = [r[0].split("@") for r in rows]
    panel = panel_from_sales(
        DailySales(sku, f"s/{loc}", day_of[r[1]], r[2])
        for (sku, loc), r in zip(sku_loc, rows, strict=True)
    )
    return train_model(panel, with_seed(SERVING_CONFIG, seed))


def write_sales_model(directory: Path, *, seed: int = 0) -> ExportedModel:
    """Train `train_sales_model(seed)` and write it into `directory`."""
    model = train_sales_model(seed=seed)
    write_model(model, directory)
    return model
