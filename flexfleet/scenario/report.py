"""The KPI table printed on stdout: one column per run result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flexfleet.scenario.kpis import KEYS


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table(results: Sequence[Mapping[str, Any]]) -> str:
    """The KPIs of each result side by side, then each drill's recovery and hours below its
    level."""
    heads = [f"{r['policy']} (seed {r['seed']})" for r in results]
    rows = [(key, [_cell(r["kpis"][key]) for r in results]) for key in KEYS]
    names = sorted({f"{d['name']}@{int(d['day'])}" for r in results for d in r["kpis"]["drills"]})
    for key in ("recovery_h", "hours_below"):
        for name in names:
            cells = []
            for r in results:
                hit = [d for d in r["kpis"]["drills"] if f"{d['name']}@{int(d['day'])}" == name]
                cells.append(_cell(hit[0].get(key)) if hit else "-")
            rows.append((f"{key} {name}", cells))
    width = max(len(k) for k, _ in rows)
    cols = [max(len(h), *(len(c[i]) for _, c in rows)) for i, h in enumerate(heads)]
    lines = [
        f"{'KPI':<{width}}  " + "  ".join(f"{h:>{w}}" for h, w in zip(heads, cols, strict=True))
    ]
    for key, cells in rows:
        lines.append(
            f"{key:<{width}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(cells, cols, strict=True))
        )
    return "\n".join(lines)


__all__ = ["table"]
