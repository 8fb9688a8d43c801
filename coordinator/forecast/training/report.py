"""Text and JSON reports of evaluation results (final window and backtest side by side)."""

from __future__ import annotations

from typing import Any

import numpy as np

from coordinator.forecast.training.evaluation import METRICS, MODEL, WindowResult, pooled


def _table(rows: dict[str, dict[str, float]]) -> list[str]:
    lines = [f"  {'method':8s} " + " ".join(f"{m:>8s}" for m in METRICS)]
    for name, scores in rows.items():
        lines.append(f"  {name:8s} " + " ".join(f"{scores[m]:8.3f}" for m in METRICS))
    return lines


RMSSE_GOAL = 0.05  # the model's mean RMSSE at least 5 % below the best baseline's
COVERAGE_GOAL = (0.85, 0.95)  # share of actuals at or below P90


def _verdict(rows: dict[str, dict[str, float]]) -> str:
    if MODEL not in rows:
        return "  (baselines only)"
    model = rows[MODEL]
    base = {n: s["rmsse"] for n, s in rows.items() if n != MODEL}
    best = min(base, key=lambda n: base[n])
    change = model["rmsse"] / base[best] - 1
    side = "below" if change < 0 else "above"
    spl = {n: s["spl"] for n, s in rows.items() if n != MODEL}
    best_spl = min(spl, key=lambda n: spl[n])
    spl_change = model["spl"] / spl[best_spl] - 1
    spl_side = "below" if spl_change < 0 else "above"
    low, high = COVERAGE_GOAL
    inside = "inside" if low <= model["cov_p90"] <= high else "outside"
    return "\n".join(
        [
            f"  model RMSSE {model['rmsse']:.3f} is {abs(change):.1%} {side} the best"
            f" baseline, {best} ({base[best]:.3f}); goal: ≥ {RMSSE_GOAL:.0%} below",
            f"  model SPL {model['spl']:.3f} is {abs(spl_change):.1%} {spl_side} the best"
            f" baseline's, {best_spl} ({spl[best_spl]:.3f}); goal: below every baseline",
            f"  model P90 coverage {model['cov_p90']:.1%}, {inside} the goal {low:.0%}–{high:.0%}",
        ]
    )


def format_report(results: list[WindowResult], *, data_path: str) -> str:
    """Human-readable report: per-series final window, then the backtest means."""
    final = results[-1]
    out = [
        f"data: {data_path}",
        "",
        f"final window ({final.horizon} days), RMSSE / MASE per series:",
    ]
    names = list(final.scores)
    out.append(f"  {'series':14s} " + " ".join(f"{n:>13s}" for n in names))
    for s, uid in enumerate(final.ids):
        cells = [f"{final.scores[n].rmsse[s]:6.3f}/{final.scores[n].mase[s]:6.3f}" for n in names]
        out.append(f"  {uid:14s} " + " ".join(cells))
    means = final.summary()
    cells = [f"{means[n]['rmsse']:6.3f}/{means[n]['mase']:6.3f}" for n in names]
    out.append(f"  {'MEAN':14s} " + " ".join(cells))
    out += ["", "final window means:", *_table(means), _verdict(means)]
    if len(results) > 1:
        out += ["", f"rolling-origin backtest, {len(results)} windows, mean over windows:"]
        agg = pooled(results)
        out += [*_table(agg), _verdict(agg)]
        out.append("  mean RMSSE per window (oldest first):")
        for r in results:
            row = " ".join(f"{n}={r.summary()[n]['rmsse']:.3f}" for n in names)
            out.append(f"    window at day {r.cut}: {row}")
    for r in results:
        if r.left_out:
            out.append(
                f"  window at day {r.cut}: {len(r.left_out)} series without data over the"
                f" whole window left out: {_some(r.left_out)}"
            )
        unscored = r.unscored()
        if unscored:
            out.append(
                f"  window at day {r.cut}: {len(unscored)} series with no sales change before"
                f" it (M5 scale 0) not in the means: {_some(unscored)}"
            )
    return "\n".join(out)


def _some(ids: tuple[str, ...]) -> str:
    return ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else "")


def report_json(results: list[WindowResult]) -> dict[str, Any]:
    """JSON-able scores: per window (means and per series) and the backtest means."""
    windows = []
    for r in results:
        per_series = {
            n: {m: [None if np.isnan(v) else float(v) for v in getattr(s, m)] for m in METRICS}
            for n, s in r.scores.items()
        }
        windows.append(
            {
                "cut": r.cut,
                "ids": list(r.ids),
                "left_out": list(r.left_out),
                "unscored": list(r.unscored()),
                "means": r.summary(),
                "per_series": per_series,
            }
        )
    return {"windows": windows, "backtest_means": pooled(results)}
