"""Which statistical part should the model's output head mix into its mean? One training
run per cut scores many candidates, each chosen per training run on the inner windows
exactly as `training.fit.choose_head` chooses.

    .venv/bin/python benchmarks/forecast_head_variants.py [--data CSV] [--horizon 28]
        [--windows 4] [--drop-last 0]

Before each cut (the last `--windows` windows after dropping `--drop-last` days) the
network is fitted as `forecast eval` fits it (inner windows, then all days before the
cut); every variant then gets its head (statistical part, weekday shape and blend with
the lowest mean RMSSE on the inner windows, or a fixed blend) and forecasts the window.
The mean is computed in numpy here (the same arithmetic as the exported head); the
figures of the served model come from `forecast eval`. Printed: mean RMSSE per variant
and window, relative to MA28 and to the best baseline on the same windows, and the head
each cut chose.
The variants leave out the closure calendar (`model.closures`, 0 on expected closures),
which the served model applies since 2026-12-06 night; its effect is scored by
`forecast_headroom.py` and `forecast eval`.

Candidate statistical parts (each a level per series, as a ratio to the model's level):
- `ensemble`: MA28, TSB and least-squares SES averaged (the head before the winsorised
  level); `wins28 q0.9` / `q0.95`: the winsorised 28-day mean (`winsorised_mean`);
- `wins28 gated`: the winsorised mean, but 0 while the series' trailing run of zeros
  (≥ 7 days) is improbable under its own zero share of the year before the run
  (p0 ** run < 1e-3: a stock-out, not a quiet spell);
- `wins28 short`: the winsorised mean, but the winsorised 14-day mean when that departs
  from it by more than a factor 2 either way (a recent change of level);
- `ens+wins`: the ensemble and the winsorised mean averaged; `wins+tsb+ses`: the ensemble
  with MA28 replaced by the winsorised mean; `wins ensemble`: MA28, TSB and SES all on the
  capped history; other cap quantiles and windows; a factor on the level chosen per run;
- `wins28 q0.8 open`: the winsorised mean over the days the panel traded
  (`features.closed_days`: holidays left out of the level), with the head chosen on all
  inner days or on the days the panel traded only;
- variants with a fixed blend, a finer blend grid, or the weekday shape of the capped
  history.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from coordinator.forecast.model.baselines import BASELINES
from coordinator.forecast.model.csv_input import read_csv
from coordinator.forecast.model.features import (
    WINDOW_DAYS,
    closed_days,
    feature_names,
    selling_day_cap,
    winsorised_mean,
)
from coordinator.forecast.model.panel import FloatArray, SeriesPanel
from coordinator.forecast.model.weekday import pooled_weekday_shape, weekday_of
from coordinator.forecast.serving.predictor import panel_features
from coordinator.forecast.training.fit import (
    BLEND_GRID,
    TrainConfig,
    _Fitted,
    _inner_windows,
    _InnerWindows,
    _mean_rmsse,
    _rows,
)
from coordinator.forecast.training.metrics import rmsse
from flexfleet.commands.forecast import DEFAULT_EVAL_FILE, shared_data_dir

GATE_PROBABILITY = 1e-3
Level = Callable[[FloatArray], FloatArray]  # history [n, t] (NaN before start) -> [n]


def _window(train: FloatArray) -> tuple[FloatArray, np.ndarray]:
    y = train[:, -WINDOW_DAYS:]
    observed = np.isfinite(y)
    return np.where(observed, y, 0.0), observed


def wins(days: int, q: float) -> Level:
    """The winsorised mean of the last `days` days, capped at the year's q of selling days."""

    def level(train: FloatArray) -> FloatArray:
        filled, observed = _window(train)
        return winsorised_mean(filled, observed, days=days, quantile=q)

    return level


def wins_open(train: FloatArray) -> FloatArray:
    """The winsorised 28-day mean (q0.8) over the days the panel traded (`closed_days`)."""
    filled, observed = _window(train)
    closed = closed_days(filled, observed, np.zeros(len(filled), dtype=np.int64))
    return winsorised_mean(filled, observed, quantile=0.8, closed=closed)


def ma28(train: FloatArray) -> FloatArray:
    """The plain 28-day mean."""
    filled, observed = _window(train)
    seen = observed[:, -28:].sum(axis=1)
    return np.asarray(np.where(seen > 0, filled[:, -28:].sum(axis=1) / np.maximum(seen, 1), 0.0))


def stocked_out(train: FloatArray, min_run: int = 7) -> np.ndarray:
    """Per series: a trailing run of ≥ `min_run` zeros improbable under its earlier zero share."""
    out = []
    for row in train:
        values = row[np.isfinite(row)]
        sold = np.flatnonzero(values > 0)
        run = len(values) - 1 - int(sold[-1]) if sold.size else len(values)
        before = values[: len(values) - run][-364:]
        p0 = float((before == 0).mean()) if before.size else 1.0
        out.append(run >= min_run and p0**run < GATE_PROBABILITY)
    return np.array(out, dtype=bool)


def gated(train: FloatArray) -> FloatArray:
    """The winsorised 28-day mean, 0 for a series that looks stocked out."""
    return np.where(stocked_out(train), 0.0, wins(28, 0.9)(train))


def short_on_change(train: FloatArray) -> FloatArray:
    """The winsorised 28-day mean, or the 14-day one when it departs by more than 2x."""
    long, short = wins(28, 0.9)(train), wins(14, 0.9)(train)
    departs = (short > 2 * long) | (short < long / 2)
    return np.where(departs, short, long)


def capped(train: FloatArray, q: float = 0.8) -> FloatArray:
    """The whole history with each day capped at the year's q of selling days."""
    filled, _ = _window(train)
    return np.asarray(np.minimum(train, selling_day_cap(filled, q)[:, None]))


def wins_tsb(train: FloatArray) -> FloatArray:
    """TSB(0.1, 0.1) on the capped history."""
    return BASELINES["TSB"](capped(train), 1).point[:, 0]


def wins_ses(train: FloatArray) -> FloatArray:
    """SES(0.1) on the capped history."""
    return BASELINES["SES"](capped(train), 1).point[:, 0]


def wins_ensemble(train: FloatArray) -> FloatArray:
    """The ensemble with every part on the capped history: winsorised MA28, TSB, SES."""
    return (wins(28, 0.8)(train) + wins_tsb(train) + wins_ses(train)) / 3


def capped_shape(panel: SeriesPanel) -> FloatArray:
    """The pooled weekday shape of the capped history."""
    return np.asarray(pooled_weekday_shape(replace(panel, y=capped(panel.y))))


# extra levels the script computes itself (the feature columns give `ensemble`)
LEVELS: dict[str, Level] = {
    "wins28 q0.9": wins(28, 0.9),
    "wins28 q0.95": wins(28, 0.95),
    "wins28 q0.8": wins(28, 0.8),
    "wins28 q0.8 open": wins_open,
    "wins28 q0.75": wins(28, 0.75),
    "wins28 q0.7": wins(28, 0.7),
    "wins28 q0.6": wins(28, 0.6),
    "wins28 q0.85": wins(28, 0.85),
    "wins21 q0.9": wins(21, 0.9),
    "wins35 q0.9": wins(35, 0.9),
    "wins42 q0.9": wins(42, 0.9),
    "wins28+56 q0.9": lambda train: (wins(28, 0.9)(train) + wins(56, 0.9)(train)) / 2,
    "wins28 gated": gated,
    "wins28 short": short_on_change,
    "ma28": ma28,
    "wins ensemble q0.8": wins_ensemble,
    "wins28+wtsb q0.8": lambda train: (wins(28, 0.8)(train) + wins_tsb(train)) / 2,
}


def derived(parts: dict[str, FloatArray]) -> dict[str, FloatArray]:
    """Candidate ratios from the ensemble and the levels (all `[m]` ratios to the level)."""
    out = dict(parts)
    w = parts["wins28 q0.9"]
    out["ens+wins"] = (parts["ensemble"] + w) / 2
    out["wins+tsb+ses"] = (3 * parts["ensemble"] - parts["ma28"] + w) / 3
    for factor in SCALED:
        out[f"wins28 q0.8 x{factor:g}"] = parts["wins28 q0.8"] * factor
    return out


SCALED = (0.9, 0.95, 1.05, 1.1)


@dataclass(frozen=True)
class Variant:
    """Statistical parts the head may choose among, and a fixed blend (None: chosen)."""

    parts: tuple[str, ...]
    blend: float | None = None
    grid: tuple[float, ...] = BLEND_GRID
    capped_shape: bool = False
    trading_only: bool = False  # choose on the inner days the panel traded only


VARIANTS = {
    "current: ensemble": Variant(("ensemble",)),
    "(a) wins28 q0.9": Variant(("wins28 q0.9",)),
    "(a) wins28 q0.95": Variant(("wins28 q0.95",)),
    "(b) choose ensemble | wins28": Variant(("ensemble", "wins28 q0.9")),
    "(b) wins28 gated": Variant(("wins28 gated",)),
    "(b) wins28 short": Variant(("wins28 short",)),
    "(b) choose ensemble | wins28 gated": Variant(("ensemble", "wins28 gated")),
    "(c) ens+wins": Variant(("ens+wins",)),
    "(c) wins+tsb+ses": Variant(("wins+tsb+ses",)),
    "(c) network/wins28 at 0.5": Variant(("wins28 q0.9",), blend=0.5),
    "(c) network/ens+wins at 0.5": Variant(("ens+wins",), blend=0.5),
    "(c) choose ens | wins | ens+wins": Variant(("ensemble", "wins28 q0.9", "ens+wins")),
    "(a) wins28 q0.8": Variant(("wins28 q0.8",)),
    "(d) wins28 q0.8 over trading days": Variant(("wins28 q0.8 open",)),
    "(d) the same, head chosen on trading days": Variant(("wins28 q0.8 open",), trading_only=True),
    "(a) wins28 q0.85": Variant(("wins28 q0.85",)),
    "(a) wins28 q0.75": Variant(("wins28 q0.75",)),
    "(a) wins28 q0.7": Variant(("wins28 q0.7",)),
    "(a) wins28 q0.6": Variant(("wins28 q0.6",)),
    "(a) wins21 q0.9": Variant(("wins21 q0.9",)),
    "(a) wins35 q0.9": Variant(("wins35 q0.9",)),
    "(a) wins42 q0.9": Variant(("wins42 q0.9",)),
    "(a) mean of wins28 and wins56": Variant(("wins28+56 q0.9",)),
    "(a) wins28 q0.8, capped weekday shape": Variant(("wins28 q0.8",), capped_shape=True),
    "(c) winsorised ensemble q0.8": Variant(("wins ensemble q0.8",)),
    "(c) winsorised ensemble, capped shape": Variant(("wins ensemble q0.8",), capped_shape=True),
    "(c) wins28 + winsorised TSB": Variant(("wins28+wtsb q0.8",)),
    "(b) cap quantile chosen per run (0.7 / 0.8 / 0.9)": Variant(
        ("wins28 q0.8", "wins28 q0.7", "wins28 q0.9")
    ),
    "(b) wins28 q0.8 times a factor chosen per run": Variant(
        ("wins28 q0.8", *(f"wins28 q0.8 x{f:g}" for f in SCALED))
    ),
    "(a) wins28 q0.9, blend grid 0.1": Variant(
        ("wins28 q0.9",), grid=tuple(k / 10 for k in range(11))
    ),
}


def inner_parts(
    inner: _InnerWindows, history: SeriesPanel, config: TrainConfig
) -> dict[str, FloatArray]:
    """Every candidate's ratio on the inner windows' rows."""
    h, k = config.horizon_days, config.calibration_windows
    cut = history.n_days - k * h
    if int(inner.series_of.max()) >= history.n_series:
        raise SystemExit("inner windows were sampled; this script needs all series")
    parts = {"ensemble": inner.stat_means["ensemble"]}
    for name, level in LEVELS.items():
        per_window = np.stack([level(history.y[:, : cut + j * h]) for j in range(k)])
        parts[name] = per_window[inner.window_of, inner.series_of] / inner.level
    return derived(parts)


def trading_rows(inner: _InnerWindows, panel: SeriesPanel, config: TrainConfig) -> np.ndarray:
    """Per inner row: was its target day one the panel traded on (not `closed_days`)?
    The rows of one window and series are its horizon days in order."""
    h, k = config.horizon_days, config.calibration_windows
    cut = panel.n_days - k * h
    group = inner.window_of * panel.n_series + inner.series_of
    start = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    step = np.arange(len(group)) - np.repeat(start, np.diff(np.r_[start, len(group)]))
    observed = np.isfinite(panel.y)
    filled = np.where(observed, panel.y, 0.0)
    closed = closed_days(filled, observed, np.full(panel.n_series, int(panel.end_days.max())))[0]
    return np.asarray(~closed[cut + inner.window_of * h + step], dtype=bool)


def only(inner: _InnerWindows, keep: np.ndarray) -> _InnerWindows:
    """The inner windows' rows where `keep`."""
    return replace(
        inner,
        actual=inner.actual[keep],
        window_of=inner.window_of[keep],
        series_of=inner.series_of[keep],
        level=inner.level[keep],
        raw=inner.raw[keep],
        stat_means={name: v[keep] for name, v in inner.stat_means.items()},
        stat_quantiles=inner.stat_quantiles[keep],
        inv_rmsse_scale=inner.inv_rmsse_scale[keep],
        inv_mase_scale=inner.inv_mase_scale[keep],
        weekday=inner.weekday[keep],
        target_open=inner.target_open[keep],
    )


def choose(
    inner: _InnerWindows,
    parts: dict[str, FloatArray],
    variant: Variant,
    default_blend: float,
    inner_capped_shape: FloatArray,
) -> tuple[str, bool, float]:
    """The (part, weekday, blend) with the lowest inner mean RMSSE, ties as `choose_head`."""
    blends = variant.grid if variant.blend is None else (variant.blend,)
    if variant.capped_shape:
        inner = replace(inner, shape=tuple(float(v) for v in inner_capped_shape))
    scores = {
        (p, on, w): _mean_rmsse(
            inner,
            inner.level * (w * inner.raw[:, 0] + (1 - w) * parts[p] * inner.shaped(on)),
        )
        for p in variant.parts
        for on in (False, True)
        for w in blends
    }
    return min(
        scores,
        key=lambda k: (scores[k], variant.parts.index(k[0]), k[1], abs(k[2] - default_blend)),
    )


def score_cut(
    panel: SeriesPanel, cut: int, config: TrainConfig
) -> tuple[dict[str, float], dict[str, str]]:
    """Every baseline's and variant's mean RMSSE on the window at `cut`, and each
    variant's chosen head."""
    h = config.horizon_days
    names = feature_names(panel.exog_names)
    complete = np.isfinite(panel.y[:, cut : cut + h]).all(axis=1)
    full = panel.select(np.flatnonzero(complete))
    history = full.head(cut)
    train, actual = history.y, full.y[:, cut : cut + h]
    scores = {
        name: float(np.nanmean(rmsse(train, actual, fit(train, h).point)))
        for name, fit in BASELINES.items()
    }
    seen = panel.head(cut)  # the model is fitted on every series, as in `backtest`
    inner = _inner_windows(seen, config, lambda _: None)
    if inner is None:
        raise SystemExit(f"no inner windows before cut {cut}")
    inner_p = inner_parts(inner, seen, config)
    k = config.calibration_windows
    inner_shape = capped_shape(seen.head(seen.n_days - k * h))
    net = _Fitted(_rows(seen, config, lambda _: None), config, names)
    rows = panel_features(
        history,
        horizon=h,
        window_days=WINDOW_DAYS,
        exog_names=history.exog_names,
        future=full.future_exog(cut, h),
    )
    raw = net.predict(rows.x).astype(np.float64)[:, 0].reshape(full.n_series, h)
    level = rows.level.reshape(full.n_series, h)
    ens_cols = [names.index(n) for n in ("ma28_rel", "tsb_rel", "ses_fit_rel")]
    test_p = {"ensemble": rows.x[:, ens_cols].astype(np.float64).mean(axis=1).reshape(level.shape)}
    for name, lv in LEVELS.items():
        test_p[name] = lv(train)[:, None] / level
    test_p = derived(test_p)
    days = history.end_days[:, None] + 1 + np.arange(h)[None, :]
    factor = np.asarray(pooled_weekday_shape(seen))[weekday_of(days)]
    capped_factor = capped_shape(seen)[weekday_of(days)]
    short = history.lengths < config.min_history_days
    fallback = BASELINES["MA28"](train[short], h).point
    chosen = {}
    for vname, variant in VARIANTS.items():
        if variant.trading_only:
            keep = trading_rows(inner, seen, config)
            sub = {name: v[keep] for name, v in inner_p.items()}
            part, on, w = choose(only(inner, keep), sub, variant, config.mean_blend, inner_shape)
        else:
            part, on, w = choose(inner, inner_p, variant, config.mean_blend, inner_shape)
        shape = capped_factor if variant.capped_shape else factor
        stat = test_p[part] * (shape if on else 1.0)
        mean = np.maximum(level * (w * raw + (1 - w) * stat), 0.0)
        mean[short] = fallback
        scores[vname] = float(np.nanmean(rmsse(train, actual, mean)))
        chosen[vname] = f"{part}{' wd' if on else ''} {w:g}"
    return scores, chosen


def main() -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=shared_data_dir() / DEFAULT_EVAL_FILE)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--windows", type=int, default=4)
    parser.add_argument("--drop-last", type=int, default=0)
    args = parser.parse_args()
    panel = read_csv(args.data)
    panel = panel.head(panel.n_days - args.drop_last)
    h = args.horizon
    cuts = [panel.n_days - k * h for k in range(args.windows, 0, -1)]
    config = TrainConfig(horizon_days=h)
    scores: dict[str, list[float]] = {n: [] for n in [*BASELINES, *VARIANTS]}
    chosen: dict[str, list[str]] = {n: [] for n in VARIANTS}
    for cut in cuts:
        print(f"cut {cut}", file=sys.stderr, flush=True)
        cut_scores, cut_chosen = score_cut(panel, cut, config)
        for name, value in cut_scores.items():
            scores[name].append(value)
        for name, how in cut_chosen.items():
            chosen[name].append(how)
    best = min(BASELINES, key=lambda n: np.mean(scores[n]))
    ref_ma, ref_best = float(np.mean(scores["MA28"])), float(np.mean(scores[best]))
    print(f"{panel.n_series} series, cuts {cuts}, horizon {h}; best baseline {best}")
    print(f"{'method':38} {'RMSSE':>7} {'vs MA28':>8} {'vs best':>8}  per window / chosen")
    for name, vals in scores.items():
        m = float(np.mean(vals))
        per = " / ".join(f"{v:.3f}" for v in vals)
        how = "; ".join(chosen.get(name, []))
        print(
            f"{name:38} {m:7.4f} {100 * (m / ref_ma - 1):+7.1f}% {100 * (m / ref_best - 1):+7.1f}%"
            f"  {per}  {how}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
