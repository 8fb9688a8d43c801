"""The NAB scoring rules, written from Lavin & Ahmad (2015) and the NAB documentation.

For one data file of `n_rows` rows with anomaly windows (inclusive row ranges) and the rows
where a detector fired:

* The first 15 % of the rows (at most 750) are a probationary period: detections there
  count for nothing and its rows are left out of the TP/TN/FP/FN counts.
* Inside a window only the earliest detection counts. Its reward is
  ``A_tp · σ(y) / σ(-1)`` where ``y = -(right - i + 1) / width`` is the relative position
  (−1 at the window's left edge, ~0 at its right edge) and ``σ(y) = 2/(1 + e^{5y}) − 1`` is
  the scaled sigmoid; so a detection at the left edge earns exactly ``A_tp``.
* A window without a detection costs ``A_fn``.
* Every detection outside a window costs ``A_fp · σ(d)`` (a negative number) where ``d`` is
  the distance past the end of the preceding window relative to that window's width
  (``|right - i| / (width - 1)``), and ``σ(d) = −1`` when there is no preceding window or
  ``d > 3``. Detections just after a window are thus cheap, far ones cost the full ``A_fp``.

Counts follow NAB: TP/FN are detected / undetected rows inside windows, FP/TN outside.
Corpus scores are normalised so the null detector (no detections) scores 0 and the perfect
detector (one detection at each window's left edge) scores 100.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PROBATION_FRACTION = 0.15
PROBATION_MAX_ROWS = 750  # 15 % of 5000, NAB's cap


@dataclass(frozen=True, slots=True)
class Profile:
    """A NAB application profile: the weights of true positives, false positives and misses."""

    name: str
    tp_weight: float = 1.0
    fp_weight: float = 0.11
    fn_weight: float = 1.0


STANDARD = Profile("standard", 1.0, 0.11, 1.0)
REWARD_LOW_FP_RATE = Profile("reward_low_FP_rate", 1.0, 0.22, 1.0)
REWARD_LOW_FN_RATE = Profile("reward_low_FN_rate", 1.0, 0.11, 2.0)
PROFILES: tuple[Profile, ...] = (STANDARD, REWARD_LOW_FP_RATE, REWARD_LOW_FN_RATE)


@dataclass(frozen=True, slots=True)
class FileScore:
    """The NAB score of one file under one profile, with NAB's row counts.

    `window_hits` holds, per window, the row of the detection that counted (None if missed).
    """

    score: float
    tp: int
    tn: int
    fp: int
    fn: int
    total: int
    windows: int
    window_hits: tuple[int | None, ...]


def scaled_sigmoid(relative_position: float) -> float:
    """NAB's σ: 1 far before (−), 0 at, −1 far after (+) a window's right edge; −1 beyond +3."""
    if relative_position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * relative_position)) - 1.0


_MAX_TP = scaled_sigmoid(-1.0)


def probationary_rows(n_rows: int) -> int:
    """Rows at the start of a file where detections are ignored (15 %, at most 750)."""
    return min(math.floor(PROBATION_FRACTION * n_rows), PROBATION_MAX_ROWS)


def score_file(
    n_rows: int,
    windows: Sequence[tuple[int, int]],
    detections: Iterable[int],
    profile: Profile = STANDARD,
) -> FileScore:
    """Score the detections (row indices) of one file against its windows (inclusive rows).

    Windows must be sorted, disjoint and inside ``0..n_rows-1``; detections outside that
    range are ignored.
    """
    probation = probationary_rows(n_rows)
    for left, right in windows:
        if not 0 <= left <= right < n_rows:
            raise ValueError(f"window ({left}, {right}) outside 0..{n_rows - 1}")
    for (_, prev_right), (next_left, _) in itertools.pairwise(windows):
        if next_left <= prev_right:
            raise ValueError("windows must be sorted and disjoint")
    rows = sorted({i for i in detections if probation <= i < n_rows})
    counted = [right >= probation for _, right in windows]
    hits: list[int | None] = [None] * len(windows)
    fp_total = 0.0
    tp = fp = 0
    w = 0  # index of the first window whose right edge is >= the current row
    for i in rows:
        while w < len(windows) and windows[w][1] < i:
            w += 1
        if w < len(windows) and windows[w][0] <= i:
            tp += 1
            if hits[w] is None:
                hits[w] = i
            continue
        fp += 1
        if w == 0:
            fp_total -= profile.fp_weight
        else:
            prev_left, prev_right = windows[w - 1]
            width = prev_right - prev_left + 1
            distance = abs(prev_right - i) / max(width - 1, 1)
            fp_total += profile.fp_weight * scaled_sigmoid(distance)
    score = fp_total
    window_rows = 0
    for k, (left, right) in enumerate(windows):
        if not counted[k]:
            continue
        window_rows += right - max(left, probation) + 1
        hit = hits[k]
        if hit is None:
            score -= profile.fn_weight
        else:
            width = right - left + 1
            position = -(right - hit + 1) / width
            score += profile.tp_weight * scaled_sigmoid(position) / _MAX_TP
    scored_rows = n_rows - probation
    return FileScore(
        score=score,
        tp=tp,
        tn=scored_rows - window_rows - fp,
        fp=fp,
        fn=window_rows - tp,
        total=n_rows,
        windows=sum(counted),
        window_hits=tuple(hits),
    )


def null_score(windows: int, profile: Profile = STANDARD) -> float:
    """Raw score of the detector that never fires, for `windows` windows."""
    return -profile.fn_weight * windows


def perfect_score(windows: int, profile: Profile = STANDARD) -> float:
    """Raw score of the detector that fires once at each window's left edge."""
    return profile.tp_weight * windows


def normalised(raw: float, windows: int, profile: Profile = STANDARD) -> float:
    """NAB's normalisation: 100 · (raw − null) / (perfect − null); 0 when there are no windows."""
    low = null_score(windows, profile)
    high = perfect_score(windows, profile)
    if high == low:
        return 0.0
    return 100.0 * (raw - low) / (high - low)
