"""Folding samples into latest values and rollups: the column-wise path equals the general one."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from coordinator.ingest.fold import Rollups, _fold_general, _fold_rectangular, fold_samples

T0 = 1_700_000_010_000  # 30 s into a minute


def _close(a: Rollups, b: Rollups) -> bool:
    return a.keys() == b.keys() and all(
        all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9) for x, y in zip(a[k], b[k], strict=True))
        for k in a
    )


@st.composite
def batches(draw: st.DrawFn) -> list[tuple[str, int, float]]:
    signals = draw(
        st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True)
    )
    rows = draw(st.integers(1, 6))
    step = draw(st.sampled_from([0, 1, 10, 5_000]))
    start = T0 + draw(st.integers(0, 30_000))
    values = st.floats(-1e6, 1e6, allow_nan=False)
    out = [(s, start + r * step, draw(values)) for r in range(rows) for s in signals]
    if draw(st.booleans()):
        out = draw(st.permutations(out))
    return list(out)


@settings(max_examples=150, deadline=None)
@given(first=batches(), second=batches())
def test_column_path_matches_general_path(
    first: list[tuple[str, int, float]], second: list[tuple[str, int, float]]
) -> None:
    """Whatever the batch shape, both paths leave the same latest values and rollups."""
    fast_latest: dict[str, tuple[int, float]] = {}
    fast_rollups: Rollups = {}
    slow_latest: dict[str, tuple[int, float]] = {}
    slow_rollups: Rollups = {}
    for batch in (first, second):
        fold_samples(batch, fast_latest, fast_rollups)
        _fold_general(batch, slow_latest, slow_rollups)
    assert fast_latest.keys() == slow_latest.keys()
    for name, (ts, value) in slow_latest.items():
        assert fast_latest[name][0] == ts
        # equal timestamps: either value is "latest"; a batch never repeats (signal, ts) in practice
        same_ts = [v for s, t, v in first + second if s == name and t == ts]
        assert fast_latest[name][1] in same_ts
        assert value in same_ts
    assert _close(fast_rollups, slow_rollups)


def test_rectangular_batch_takes_the_column_path() -> None:
    """A batch of whole rows in time order within one minute is folded column-wise."""
    rows = [(s, T0 + r * 10, float(r)) for r in range(3) for s in ("x", "y")]
    latest: dict[str, tuple[int, float]] = {}
    rollups: Rollups = {}
    assert _fold_rectangular(rows, latest, rollups)
    assert latest == {"x": (T0 + 20, 2.0), "y": (T0 + 20, 2.0)}
    assert rollups[("x", T0 - T0 % 60_000)] == [0.0, 2.0, 3.0, 3]


def test_other_shapes_fall_back() -> None:
    """Ragged rows, unordered times or a minute boundary fall back to the general loop."""
    assert not _fold_rectangular([("x", T0, 1.0), ("y", T0, 1.0), ("x", T0 + 1, 1.0)], {}, {})
    assert not _fold_rectangular([("x", T0 + 5, 1.0), ("x", T0, 1.0)], {}, {})
    assert not _fold_rectangular([("x", T0, 1.0), ("x", T0 + 30_000, 1.0)], {}, {})
