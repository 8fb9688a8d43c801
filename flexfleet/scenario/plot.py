"""`--plot FILE`: a PNG of the daily on-time rate, stock-out hours during announced streams
and utilisation of one or more runs, with their drills marked on the same timeline
(matplotlib, from the `scenario` extra, imported only here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

COLOURS = {"flexfleet": "tab:blue", "baseline": "tab:orange"}


def plot(results: Sequence[Mapping[str, Any]], path: Path) -> None:
    """Write the PNG of `results` (run results as `run_scenario` returns them) to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True)
    on_time, stockouts, utilisation = axes
    width = 0.8 / max(1, len(results))
    for k, result in enumerate(results):
        colour = COLOURS.get(result["policy"])
        label = f"{result['policy']} (seed {result['seed']})"
        # a day's figures are drawn at its middle, so drills (at their hour) fall inside it
        days = [row["day"] + 0.5 for row in result["daily"]]
        rates = [row["on_time_rate"] for row in result["daily"]]
        on_time.plot(
            [d for d, r in zip(days, rates, strict=True) if r is not None],
            [r for r in rates if r is not None],
            marker="o" if k == 0 else "s",
            markersize=3,
            alpha=0.85,
            color=colour,
            label=label,
        )
        stockouts.bar(
            [d + (k - (len(results) - 1) / 2) * width for d in days],
            [row["stockout_h"] for row in result["daily"]],
            width=width,
            color=colour,
            label=label,
        )
        utilisation.plot(
            days, [row["utilisation"] for row in result["daily"]], color=colour, label=label
        )
        for drill in result["kpis"]["drills"]:
            for ax in axes:
                ax.axvline(drill["day"], color="tab:red", linestyle="--", linewidth=1)
            on_time.annotate(
                drill["name"], (drill["day"], 0.02), xycoords=("data", "axes fraction"),
                rotation=90, fontsize=8, color="tab:red",
            )  # fmt: skip
    on_time.set_ylabel("on-time rate\n(orders due that day)")
    on_time.set_ylim(0, 1.02)
    on_time.axhline(0.97, color="grey", linestyle=":", linewidth=1)
    stockouts.set_ylabel("stock-out hours\n(announced streams)")
    utilisation.set_ylabel("utilisation\n(producing / open)")
    utilisation.set_xlabel("day of the run (figures of a day at its middle; drills dashed)")
    on_time.legend(loc="lower right", fontsize=8)
    name = results[0]["scenario"] if results else ""
    fig.suptitle(f"{name}: daily outcomes")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


__all__ = ["plot"]
