"""Small synthetic demand data written by the tests themselves."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from coordinator.forecast.training.fit import TrainConfig

TINY_CONFIG = TrainConfig(horizon_days=7, origin_stride_days=4, min_history_days=28)


def synthetic_rows(
    *, n_series: int = 5, n_days: int = 160, short_days: int = 20, seed: int = 7
) -> list[tuple[str, str, float, float, int]]:
    """Rows (id, date, y, price, event) of weekly-seasonal Poisson series; the last is short."""
    rng = np.random.default_rng(seed)
    start = dt.date(2023, 1, 2)
    rows = []
    for s in range(n_series):
        length = short_days if s == n_series - 1 else n_days
        offset = n_days - length
        level = 1.0 + 2.0 * s
        for d in range(length):
            day = offset + d
            weekly = 1.4 if day % 7 in (5, 6) else 0.9
            price = 2.0 if day < n_days // 2 else 1.8
            event = int(day % 30 == 0)
            y = rng.poisson(level * weekly * (1.3 if event else 1.0))
            date = (start + dt.timedelta(days=day)).isoformat()
            rows.append((f"SKU{s}@A", date, float(y), price, event))
    return rows


def write_csv(path: Path, rows: list[tuple[str, str, float, float, int]] | None = None) -> Path:
    """Write synthetic rows as a long-format CSV with price and event columns."""
    rows = synthetic_rows() if rows is None else rows
    lines = ["unique_id,ds,y,sell_price,event_flag"]
    lines += [f"{u},{d},{y:g},{p:g},{e}" for u, d, y, p, e in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
