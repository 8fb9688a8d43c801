"""Write forecasts as CSV: `unique_id, ds, p10, p50, p90` (optionally mean, method, fallback)."""

from __future__ import annotations

import csv
from pathlib import Path

from coordinator.forecast.model.csv_input import day_to_iso
from coordinator.forecast.serving.predictor import PanelForecast


def write_predictions(result: PanelForecast, out: Path, *, with_mean: bool = False) -> None:
    """One row per series and forecast day, series in panel order."""
    header = ["unique_id", "ds", "p10", "p50", "p90"]
    if with_mean:
        header += ["mean", "method", "fallback"]
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for s, uid in enumerate(result.ids):
            for h in range(result.horizon):
                q = result.quantiles[s, h]
                row: list[str] = [
                    uid,
                    day_to_iso(int(result.first_days[s]) + h),
                    *(f"{v:.4f}" for v in q),
                ]
                if with_mean:
                    row += [f"{result.mean[s, h]:.4f}", result.method[s], str(result.fallback[s])]
                writer.writerow(row)
