"""Detector configuration: frozen, validated, loadable from (and dumpable to) plain dicts.

A dict is what the agent's TOML file and its live `config` command carry, e.g.::

    {"warmup_samples": 200, "baseline": {"raise_score": 7.0}, "out_of_range": {"max_value": 90}}

`DetectorConfig.from_dict` builds a whole configuration (missing keys take defaults);
`config.merged(partial)` applies a partial dict to an existing one. Unknown keys, wrong
types and out-of-range values raise `DetectorConfigError` naming the dotted field.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

from edge_agent.detectors.errors import DetectorConfigError


def _check(condition: bool, name: str, reason: str) -> None:
    if not condition:
        raise DetectorConfigError(name, reason)


def _positive(value: float, name: str) -> None:
    _check(math.isfinite(value) and value > 0, name, f"must be a finite number > 0, got {value!r}")


def _raise_clear(raise_score: float, clear_score: float, prefix: str) -> None:
    _positive(raise_score, f"{prefix}.raise_score")
    _check(
        math.isfinite(clear_score) and 0 <= clear_score <= raise_score,
        f"{prefix}.clear_score",
        f"must be between 0 and raise_score ({raise_score}), got {clear_score!r}",
    )


@dataclass(frozen=True, slots=True)
class BaselineConfig:
    """Robust adaptive baseline: distance of a sample from a drifting level, in robust spreads.

    Level and spread are exponentially weighted, outlier-clipped estimates whose half-lives
    (in samples) set how fast they follow slow drift. The score of a sample is its distance
    from the level divided by the spread, combined with the same distance averaged over the
    last `sustained_samples` samples (so a sustained shift raises even when no single sample
    is extreme). A score raises when it reaches `raise_score` and also `novelty_ratio` times
    the highest score of the recent past (a peak halving every `peak_half_life_samples`):
    set `novelty_ratio` to 0 for a fixed threshold.

    A time-of-day model runs beside the level: `season_slots` offsets over a period of
    `season_period_s` (a day), each remembering about `season_half_life_periods` periods.
    After three periods, deviations are measured from it instead while its residual spread
    is below `season_enter_ratio` times the plain one (and until it exceeds
    `season_leave_ratio` times it). `season_slots = 0` switches it off.

    A drift statistic (Page's two-sided CUSUM of the deviation in spreads, each sample
    clipped at three spreads, less `drift_allowance` spreads a sample, updated every
    `sustained_samples` samples) catches a shift too small for either score that persists
    while the level catches up. It raises once per incident, when it reaches `drift_limit`
    spreads and beats the novelty gate of its own peak; `drift_limit = 0` switches it off.
    The default limit is where it fires on Gaussian noise as rarely as one sample reaches
    the default `raise_score` (Siegmund's approximation of the average run length).
    """

    enabled: bool = True
    level_half_life_samples: float = 60.0
    spread_half_life_samples: float = 400.0
    sustained_samples: int = 24
    raise_score: float = 6.0
    clear_score: float = 3.0
    novelty_ratio: float = 1.05
    peak_half_life_samples: float = 30000.0
    season_slots: int = 48
    season_period_s: float = 86400.0
    season_half_life_periods: float = 3.0
    season_enter_ratio: float = 0.6
    season_leave_ratio: float = 1.0
    drift_allowance: float = 0.5
    drift_limit: float = 18.7

    def __post_init__(self) -> None:
        _positive(self.level_half_life_samples, "baseline.level_half_life_samples")
        _positive(self.drift_allowance, "baseline.drift_allowance")
        _check(
            math.isfinite(self.drift_limit) and self.drift_limit >= 0,
            "baseline.drift_limit",
            f"must be a finite number >= 0 (0 = off), got {self.drift_limit!r}",
        )
        _check(
            math.isfinite(self.novelty_ratio) and self.novelty_ratio >= 0,
            "baseline.novelty_ratio",
            f"must be a finite number >= 0, got {self.novelty_ratio!r}",
        )
        _positive(self.peak_half_life_samples, "baseline.peak_half_life_samples")
        _positive(self.spread_half_life_samples, "baseline.spread_half_life_samples")
        _check(
            1 <= self.sustained_samples <= 4096,
            "baseline.sustained_samples",
            f"must be in 1..4096, got {self.sustained_samples!r}",
        )
        _raise_clear(self.raise_score, self.clear_score, "baseline")
        _check(
            0 <= self.season_slots <= 10_000,
            "baseline.season_slots",
            f"must be in 0..10000, got {self.season_slots!r}",
        )
        _check(
            math.isfinite(self.season_period_s) and 1.0 <= self.season_period_s <= 1e9,
            "baseline.season_period_s",
            f"must be a number of seconds in 1..1e9, got {self.season_period_s!r}",
        )
        _positive(self.season_half_life_periods, "baseline.season_half_life_periods")
        _check(
            math.isfinite(self.season_enter_ratio) and 0 < self.season_enter_ratio <= 1,
            "baseline.season_enter_ratio",
            f"must be in (0, 1], got {self.season_enter_ratio!r}",
        )
        _check(
            math.isfinite(self.season_leave_ratio)
            and self.season_enter_ratio <= self.season_leave_ratio <= 10,
            "baseline.season_leave_ratio",
            f"must be between season_enter_ratio ({self.season_enter_ratio}) and 10, "
            f"got {self.season_leave_ratio!r}",
        )


@dataclass(frozen=True, slots=True)
class RateOfChangeConfig:
    """Step between consecutive samples, in robust typical steps (and optionally per second).

    `max_abs_rate_per_s`, when set, also raises whenever |Δvalue| / Δt exceeds it,
    whatever the history (an engineering limit of the sensor or process). The novelty gate
    works as in `BaselineConfig`.
    """

    enabled: bool = True
    spread_half_life_samples: float = 400.0
    raise_score: float = 12.0
    clear_score: float = 4.0
    novelty_ratio: float = 1.05
    peak_half_life_samples: float = 30000.0
    max_abs_rate_per_s: float | None = None

    def __post_init__(self) -> None:
        _positive(self.spread_half_life_samples, "rate_of_change.spread_half_life_samples")
        _check(
            math.isfinite(self.novelty_ratio) and self.novelty_ratio >= 0,
            "rate_of_change.novelty_ratio",
            f"must be a finite number >= 0, got {self.novelty_ratio!r}",
        )
        _positive(self.peak_half_life_samples, "rate_of_change.peak_half_life_samples")
        _raise_clear(self.raise_score, self.clear_score, "rate_of_change")
        if self.max_abs_rate_per_s is not None:
            _positive(self.max_abs_rate_per_s, "rate_of_change.max_abs_rate_per_s")


@dataclass(frozen=True, slots=True)
class FlatlineConfig:
    """Stuck sensor: the value has not moved by more than `tolerance_abs` for a long run.

    A run raises once it is at least `min_run_samples` long and `run_factor` times longer
    than the longest run seen recently, so a signal that is always quantised or often idle
    does not alarm; a signal that has never moved (a constant) never raises.
    """

    enabled: bool = True
    min_run_samples: int = 30
    run_factor: float = 2.0
    tolerance_abs: float = 0.0

    def __post_init__(self) -> None:
        _check(
            2 <= self.min_run_samples <= 10_000_000,
            "flatline.min_run_samples",
            f"must be in 2..10000000, got {self.min_run_samples!r}",
        )
        _check(
            math.isfinite(self.run_factor) and self.run_factor >= 1.0,
            "flatline.run_factor",
            f"must be a finite number >= 1, got {self.run_factor!r}",
        )
        _check(
            math.isfinite(self.tolerance_abs) and self.tolerance_abs >= 0,
            "flatline.tolerance_abs",
            f"must be a finite number >= 0, got {self.tolerance_abs!r}",
        )


@dataclass(frozen=True, slots=True)
class OutOfRangeConfig:
    """Hard limits of the signal; NaN, ±inf and |value| > 1e150 are always out of range."""

    min_value: float | None = None
    max_value: float | None = None

    def __post_init__(self) -> None:
        for name in ("min_value", "max_value"):
            value = getattr(self, name)
            if value is not None:
                _check(
                    math.isfinite(value), f"out_of_range.{name}", f"must be finite, got {value!r}"
                )
        if self.min_value is not None and self.max_value is not None:
            _check(
                self.min_value <= self.max_value,
                "out_of_range.max_value",
                f"must be >= min_value ({self.min_value}), got {self.max_value}",
            )


@dataclass(frozen=True, slots=True)
class MissingConfig:
    """Missing data: a gap longer than `gap_factor` typical sampling intervals.

    The typical interval is learnt from the stream, and so is the longest recent gap (a peak
    halving every `peak_half_life_samples`): a gap raises when it exceeds `gap_factor`
    typical intervals and `novelty_ratio` times that peak, so irregularly sampled sources do
    not alarm on their usual gaps. `max_gap_ms`, when set, is a fixed limit used instead
    (active from the first sample). Gaps shorter than `min_gap_ms` never count.
    """

    enabled: bool = True
    gap_factor: float = 10.0
    min_gap_ms: int = 0
    max_gap_ms: int | None = None
    novelty_ratio: float = 1.05
    peak_half_life_samples: float = 30000.0

    def __post_init__(self) -> None:
        _check(
            math.isfinite(self.novelty_ratio) and self.novelty_ratio >= 0,
            "missing.novelty_ratio",
            f"must be a finite number >= 0, got {self.novelty_ratio!r}",
        )
        _positive(self.peak_half_life_samples, "missing.peak_half_life_samples")
        _check(
            math.isfinite(self.gap_factor) and self.gap_factor > 1.0,
            "missing.gap_factor",
            f"must be a finite number > 1, got {self.gap_factor!r}",
        )
        _check(self.min_gap_ms >= 0, "missing.min_gap_ms", f"must be >= 0, got {self.min_gap_ms}")
        if self.max_gap_ms is not None:
            _check(self.max_gap_ms > 0, "missing.max_gap_ms", f"must be > 0, got {self.max_gap_ms}")


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Configuration of every detector on one signal (see each section's docstring).

    `warmup_samples` samples are learnt from before the statistical detectors may raise
    (out-of-range and missing data are active at once). A raised detector clears after its
    score has stayed below its clear threshold for `clear_after_samples` samples in a row,
    so a flapping signal is one event. `window_samples` recent values travel with each
    anomaly. For a signal judged per operating mode (`edge_agent.modes`), `settle_s` is how
    long after a change of mode its statistical detectors neither learn nor raise: the
    spin-up, warm-up or run-down that follows a start, a changeover or a stop is not an
    anomaly (hard limits and missing data still apply). `sensitivity` scales how readily the
    statistical detectors raise: their raise and clear scores are divided by it (2 raises at
    half the score, 0.5 at twice it; hard limits, flatline and missing data are unchanged) —
    the knob for a signal operators keep marking false.
    """

    warmup_samples: int = 150
    clear_after_samples: int = 30
    window_samples: int = 16
    settle_s: float = 60.0
    sensitivity: float = 1.0
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    rate_of_change: RateOfChangeConfig = field(default_factory=RateOfChangeConfig)
    flatline: FlatlineConfig = field(default_factory=FlatlineConfig)
    out_of_range: OutOfRangeConfig = field(default_factory=OutOfRangeConfig)
    missing: MissingConfig = field(default_factory=MissingConfig)

    def __post_init__(self) -> None:
        _check(
            0 <= self.warmup_samples <= 10_000_000,
            "warmup_samples",
            f"must be in 0..10000000, got {self.warmup_samples!r}",
        )
        _check(
            1 <= self.clear_after_samples <= 10_000_000,
            "clear_after_samples",
            f"must be in 1..10000000, got {self.clear_after_samples!r}",
        )
        _check(
            1 <= self.window_samples <= 4096,
            "window_samples",
            f"must be in 1..4096, got {self.window_samples!r}",
        )
        _check(
            math.isfinite(self.settle_s) and 0 <= self.settle_s <= 86400,
            "settle_s",
            f"must be in 0..86400 seconds, got {self.settle_s!r}",
        )
        _check(
            math.isfinite(self.sensitivity) and 0.1 <= self.sensitivity <= 10.0,
            "sensitivity",
            f"must be in 0.1..10, got {self.sensitivity!r}",
        )

    def judged(self) -> DetectorConfig:
        """The configuration the detectors run with: raise and clear scores of the
        statistical detectors divided by `sensitivity`."""
        if self.sensitivity == 1.0:
            return self
        k = self.sensitivity
        baseline = dataclasses.replace(
            self.baseline,
            raise_score=self.baseline.raise_score / k,
            clear_score=self.baseline.clear_score / k,
        )
        rate = dataclasses.replace(
            self.rate_of_change,
            raise_score=self.rate_of_change.raise_score / k,
            clear_score=self.rate_of_change.clear_score / k,
        )
        return dataclasses.replace(self, baseline=baseline, rate_of_change=rate)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """A configuration from a (possibly partial) dict; missing keys take defaults."""
        return _build(cls, data, "")

    def merged(self, overrides: Mapping[str, Any]) -> DetectorConfig:
        """This configuration with the values of a partial dict applied on top."""
        return DetectorConfig.from_dict(_deep_merge(self.to_dict(), overrides, ""))

    def to_dict(self) -> dict[str, Any]:
        """The configuration as a plain dict (round-trips through `from_dict`)."""
        return dataclasses.asdict(self)


_T = TypeVar("_T")

_SECTIONS: dict[str, type[Any]] = {
    "baseline": BaselineConfig,
    "rate_of_change": RateOfChangeConfig,
    "flatline": FlatlineConfig,
    "out_of_range": OutOfRangeConfig,
    "missing": MissingConfig,
}


def _deep_merge(base: dict[str, Any], overrides: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    if not isinstance(overrides, Mapping):
        raise DetectorConfigError(prefix or "<root>", "must be a table/dict")
    result = dict(base)
    for key, value in overrides.items():
        if key in _SECTIONS and not prefix and isinstance(base.get(key), dict):
            result[key] = _deep_merge(base[key], value, key)
        else:
            result[key] = value
    return result


def _coerce(value: Any, hint: Any, name: str) -> Any:
    """Check `value` against a field's type hint; ints are accepted where floats are."""
    allowed = typing.get_args(hint) or (hint,)
    if value is None:
        _check(type(None) in allowed, name, "must not be empty")
        return None
    if bool in allowed:
        _check(isinstance(value, bool), name, f"must be true or false, got {value!r}")
        return value
    if isinstance(value, bool):
        raise DetectorConfigError(name, f"must be a number, got {value!r}")
    if int in allowed:
        _check(isinstance(value, int), name, f"must be an integer, got {value!r}")
        return value
    if float in allowed:
        _check(isinstance(value, int | float), name, f"must be a number, got {value!r}")
        return float(value)
    raise DetectorConfigError(name, f"unsupported value {value!r}")  # pragma: no cover


def _build(cls: type[_T], data: Mapping[str, Any], prefix: str) -> _T:
    if not isinstance(data, Mapping):
        raise DetectorConfigError(prefix or "<root>", "must be a table/dict")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if key not in names:
            raise DetectorConfigError(dotted, "unknown setting")
        section = _SECTIONS.get(key) if not prefix else None
        if section is not None:
            kwargs[key] = _build(section, value, dotted)
        else:
            kwargs[key] = _coerce(value, hints[key], dotted)
    return cls(**kwargs)
