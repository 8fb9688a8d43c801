"""The monitor's inlined hot path against the detectors' reference `step` methods.

`ReferenceMonitor` is `SignalMonitor` with `update` written plainly: every detector stepped
through its own `step`, no inlining, no cached flags. Hypothesis feeds both the same random
streams (NaN, infinities, huge values, flat runs, spikes, gaps, repeated and backward
timestamps, gap checks and live reconfigures) and requires identical scores and anomalies.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.detectors import Anomaly, DetectorConfig, SignalMonitor
from edge_agent.detectors.monitor import learnable, out_of_range_score


class ReferenceMonitor(SignalMonitor):
    """`SignalMonitor` stepping each detector through its reference `step` method."""

    def update(self, ts_ms: int, value: float) -> list[Anomaly]:
        """Feed one sample the plain way; returns the anomalies raised or cleared by it."""
        x = value if isinstance(value, float) else self._coerce(value)
        if self.last_ts_ms is not None and ts_ms <= self.last_ts_ms:
            self.dropped_samples += 1
            return []
        dt_ms = 0 if self.last_ts_ms is None else ts_ms - self.last_ts_ms
        self.last_ts_ms = ts_ms
        self.samples += 1
        self._window.append(x)
        cfg = self.config.judged()
        warm = self.samples > cfg.warmup_samples
        events: list[Anomaly] = []
        scores: list[float] = [0.0]

        def judge(name: str, score: float, raise_at: float, clear_at: float) -> None:
            change = self._latches[name].feed(score, raise_at, clear_at, cfg.clear_after_samples)
            if change:
                events.append(self._change(name, change, score, ts_ms, x))
            scores.append(score / raise_at)

        if dt_ms and cfg.missing.enabled:
            judge("missing", self._missing.step(dt_ms, warm), 1.0, 1.0)
        limits = cfg.out_of_range
        has_limits = limits.min_value is not None or limits.max_value is not None
        if not learnable(x) or has_limits or self._o_latch.active:
            judge("out_of_range", out_of_range_score(x, limits), 1.0, 1.0)
        if learnable(x):
            if cfg.baseline.enabled:
                s = self._baseline.step(x, ts_ms)
                if warm:
                    judge("baseline", s, cfg.baseline.raise_score, cfg.baseline.clear_score)
            if cfg.rate_of_change.enabled:
                s = self._rate.step(x, dt_ms)
                if warm:
                    rc = cfg.rate_of_change
                    judge("rate_of_change", s, rc.raise_score, rc.clear_score)
            if cfg.flatline.enabled:
                s = self._flatline.step(x)
                if warm:
                    judge("flatline", s, 1.0, 1.0)
        self.score = max(scores)
        return events


def _configs() -> st.SearchStrategy[DetectorConfig]:
    """Small warm-ups (so the warm paths run within a short stream) and varied settings."""
    maybe_limit = st.none() | st.floats(-50.0, 150.0)
    return st.builds(
        lambda warmup, clear, window, b_on, raise_b, novelty, r_on, rate, f_on, tol, run, m_on, min_gap, max_gap, lo, hi, sensitivity: (
            DetectorConfig.from_dict(
                {
                    "warmup_samples": warmup,
                    "sensitivity": sensitivity,
                    "clear_after_samples": clear,
                    "window_samples": window,
                    "baseline": {
                        "enabled": b_on,
                        "raise_score": raise_b,
                        "clear_score": raise_b / 2,
                        "novelty_ratio": novelty,
                        "sustained_samples": 4,
                        "season_slots": 4,
                        "season_period_s": 40.0,
                    },
                    "rate_of_change": {
                        "enabled": r_on,
                        "max_abs_rate_per_s": rate,
                        "novelty_ratio": novelty,
                    },
                    "flatline": {"enabled": f_on, "tolerance_abs": tol, "min_run_samples": run},
                    "missing": {"enabled": m_on, "min_gap_ms": min_gap, "max_gap_ms": max_gap},
                    "out_of_range": _limits(lo, hi),
                }
            )
        ),
        st.integers(0, 60),
        st.integers(1, 8),
        st.integers(1, 8),
        st.booleans(),
        st.floats(1.0, 8.0),
        st.sampled_from([0.0, 1.05, 2.0]),
        st.booleans(),
        st.none() | st.floats(0.5, 500.0),
        st.booleans(),
        st.sampled_from([0.0, 0.05]),
        st.integers(2, 10),
        st.booleans(),
        st.integers(0, 500),
        st.none() | st.integers(50, 5000),
        maybe_limit,
        maybe_limit,
        st.sampled_from([1.0, 0.5, 2.0]),
    )


def _limits(lo: float | None, hi: float | None) -> dict[str, Any]:
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    return {"min_value": lo, "max_value": hi}


# A stream is a list of segments, each expanded to samples by a seeded generator, so the
# streams are long enough to pass every warm-up while Hypothesis still chooses their shape.
_segments = st.one_of(
    st.tuples(
        st.just("noise"), st.integers(10, 300), st.floats(-100.0, 100.0), st.floats(0.0, 5.0)
    ),
    st.tuples(
        st.just("flat"), st.integers(1, 80), st.sampled_from([20.0, 0.0, -3.5]), st.just(0.0)
    ),
    st.tuples(st.just("value"), st.just(1), st.floats(-1e3, 1e3), st.just(0.0)),
    st.tuples(
        st.just("value"),
        st.just(1),
        st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e200, -1e151]),
        st.just(0.0),
    ),
    st.tuples(st.just("int"), st.integers(1, 20), st.integers(-100, 100), st.just(0.0)),
    st.tuples(st.just("gap"), st.sampled_from([900, 5000, 60_000]), st.just(0.0), st.just(0.0)),
    st.tuples(st.just("repeat"), st.integers(0, 3), st.just(0.0), st.just(0.0)),
    st.tuples(st.just("back"), st.integers(1, 500), st.just(0.0), st.just(0.0)),
    st.tuples(st.just("check"), st.integers(0, 120_000), st.just(0.0), st.just(0.0)),
    st.tuples(st.just("reconfigure"), st.integers(0, 2), st.just(0.0), st.just(0.0)),
)
Action = tuple[str, int, float]


def _expand(segments: list[tuple[str, int, float, float]], seed: int) -> list[Action]:
    """The actions of a stream: ("sample", ts step, value), ("check", ms ahead, 0) or
    ("reconfigure", config index, 0)."""
    rng = random.Random(seed)
    actions: list[Action] = []

    def sample(value: float) -> None:
        actions.append(("sample", rng.choice((100, 100, 100, 97, 103)), value))

    for kind, n, a, b in segments:
        if kind == "noise":
            for _ in range(n):
                sample(a + rng.gauss(0.0, b))
        elif kind == "flat":
            for _ in range(n):
                sample(a)
        elif kind == "value":
            sample(a)
        elif kind == "int":
            for _ in range(n):
                actions.append(("sample", 100, int(a)))  # ints are coerced
        elif kind == "gap":
            actions.append(("sample", n, 20.0))
        elif kind == "repeat":
            actions.append(("sample", 0, a))  # same timestamp: dropped
        elif kind == "back":
            actions.append(("sample", -n, a))  # earlier timestamp: dropped
        else:
            actions.append((kind, n, 0.0))
    return actions


def _same(a: list[Anomaly], b: list[Anomaly]) -> bool:
    """Equal anomalies, NaN included (repr compares NaN windows by their text)."""
    return repr(a) == repr(b)


@settings(max_examples=300, deadline=None)
@given(
    first=_configs(),
    later=st.lists(_configs(), min_size=1, max_size=3),
    segments=st.lists(_segments, min_size=4, max_size=40),
    seed=st.integers(0, 2**32),
)
def test_inlined_update_matches_the_reference_steps(
    first: DetectorConfig,
    later: list[DetectorConfig],
    segments: list[tuple[str, int, float, float]],
    seed: int,
) -> None:
    """Random streams, gap checks and reconfigures give identical scores and anomalies."""
    fast = SignalMonitor("m/s", first)
    slow = ReferenceMonitor("m/s", first)
    ts = 1_000_000
    for i, (kind, n, value) in enumerate(_expand(segments, seed)):
        if kind == "sample":
            at = ts + n  # n <= 0: a repeated or earlier timestamp, dropped
            ts = max(ts, at)
            got, want = fast.update(at, value), slow.update(at, value)
        elif kind == "check":
            got, want = fast.check_missing(ts + n), slow.check_missing(ts + n)
        else:
            config = later[n % len(later)]
            got, want = fast.reconfigure(config), slow.reconfigure(config)
        assert _same(got, want), (i, kind, got, want)
        assert repr(fast.score) == repr(slow.score), (i, fast.score, slow.score)
        assert fast.active == slow.active
        assert fast.dropped_samples == slow.dropped_samples


def test_reference_monitor_reaches_every_detector() -> None:
    """The comparison is not vacuous: the plain path raises each of the five detectors."""
    config = DetectorConfig.from_dict(
        {
            "warmup_samples": 20,
            "out_of_range": {"max_value": 100.0},
            "flatline": {"min_run_samples": 5},
            "missing": {"min_gap_ms": 0},
        }
    )
    fast = SignalMonitor("m/s", config)
    slow = ReferenceMonitor("m/s", config)
    stream = [(i * 100, 20.0 + (i % 5) * 0.1) for i in range(60)]
    stream += [(6_000, 90.0), (6_100, 200.0)]  # rate, baseline, out of range
    stream += [(6_200 + i * 100, 20.0) for i in range(40)]  # flat: the flatline
    stream += [(60_000, 20.5)]  # a gap: missing
    raised: set[str] = set()
    for ts, value in stream:
        got, want = fast.update(ts, value), slow.update(ts, value)
        assert _same(got, want)
        raised |= {a.detector for a in want if a.state == "raised"}
    assert raised == {"baseline", "rate_of_change", "flatline", "out_of_range", "missing"}
