"""The NAB scoring rules on small hand-made cases whose scores are worked out here."""

from __future__ import annotations

import math

import pytest

from flexfleet.nab.scoring import (
    REWARD_LOW_FN_RATE,
    REWARD_LOW_FP_RATE,
    STANDARD,
    normalised,
    probationary_rows,
    scaled_sigmoid,
    score_file,
)

# 100 rows: probation = floor(0.15 * 100) = 15 rows; one window of 20 rows, rows 40..59.
ROWS = 100
WINDOW = [(40, 59)]
MAX_TP = 2 / (1 + math.exp(-5)) - 1  # σ(-1) = 0.9866142981514305


def test_scaled_sigmoid_values() -> None:
    """σ is 0 at the right edge, σ(-1) at the left edge and -1 beyond three widths."""
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(-1.0) == pytest.approx(0.9866142981514305)
    assert scaled_sigmoid(3.5) == -1.0
    assert scaled_sigmoid(1.0) == pytest.approx(-0.9866142981514305)


def test_probationary_rows_is_fifteen_percent_capped_at_750() -> None:
    """Probation is floor(15 %) of the rows, never more than 750."""
    assert probationary_rows(100) == 15
    assert probationary_rows(4032) == 604
    assert probationary_rows(22695) == 750


def test_detection_at_left_edge_earns_exactly_the_tp_weight() -> None:
    """A detection on a window's first row scores A_tp: σ(-1)/σ(-1) = 1."""
    result = score_file(ROWS, WINDOW, [40])
    assert result.score == pytest.approx(1.0)
    assert (result.tp, result.fp, result.fn, result.tn) == (1, 0, 19, 65)
    assert normalised(result.score, 1) == pytest.approx(100.0)


def test_detection_mid_window_is_scaled_by_relative_position() -> None:
    """Row 50: y = -(59-50+1)/20 = -0.5, σ(-0.5) = 0.848284, / 0.986614 = 0.859793."""
    result = score_file(ROWS, WINDOW, [50])
    assert result.score == pytest.approx(0.859793, abs=1e-6)
    assert result.window_hits == (50,)


def test_only_the_earliest_detection_in_a_window_counts() -> None:
    """Rows 45, 50, 58: the window scores as row 45 (y = -0.75 → 0.966989), TP counts all three."""
    expected = (2 / (1 + math.exp(5 * -0.75)) - 1) / MAX_TP
    result = score_file(ROWS, WINDOW, [58, 50, 45])
    assert result.score == pytest.approx(expected)
    assert expected == pytest.approx(0.966989, abs=1e-6)
    assert result.tp == 3


def test_missed_window_costs_the_fn_weight() -> None:
    """No detection: -1 (standard), -2 (reward_low_FN_rate); normalised to 0."""
    assert score_file(ROWS, WINDOW, []).score == -1.0
    assert score_file(ROWS, WINDOW, [], REWARD_LOW_FN_RATE).score == -2.0
    assert normalised(-1.0, 1) == 0.0
    assert normalised(-2.0, 1, REWARD_LOW_FN_RATE) == 0.0


def test_false_positive_before_any_window_costs_the_full_fp_weight() -> None:
    """Row 20 (after probation, before the window): -A_fp = -0.11, plus the missed window."""
    result = score_file(ROWS, WINDOW, [20])
    assert result.score == pytest.approx(-1.11)
    assert score_file(ROWS, WINDOW, [20], REWARD_LOW_FP_RATE).score == pytest.approx(-1.22)
    assert (result.tp, result.fp) == (0, 1)


def test_false_positive_after_a_window_is_weighted_by_distance() -> None:
    """Row 69: d = |59-69| / (20-1) = 0.5263, σ(d) = -0.865731, × 0.11 = -0.095230."""
    result = score_file(ROWS, WINDOW, [40, 69])
    assert result.score == pytest.approx(1.0 - 0.095230, abs=1e-6)
    far = score_file(ROWS, WINDOW, [40, 99])  # d = 40/19 = 2.105 → σ = -0.99995
    assert far.score == pytest.approx(1.0 - 0.11 * 0.999946, abs=1e-6)


def test_detections_in_the_probationary_period_are_ignored() -> None:
    """Rows before 15 % neither score nor count."""
    result = score_file(ROWS, WINDOW, [0, 5, 14])
    assert result.score == -1.0
    assert result.fp == 0
    assert result.tn == 65


def test_two_windows_and_a_false_positive_between_them() -> None:
    """Windows 20..29 and 60..79; hits at 20 (1.0) and 70 (y=-0.5 → 0.859793); FP at 40.

    The FP at row 40 follows window 20..29: d = 11/9 = 1.2222, σ(d) = -0.995574, × 0.11 = -0.109513.
    """
    result = score_file(ROWS, [(20, 29), (60, 79)], [20, 40, 70])
    fp = 0.11 * (2 / (1 + math.exp(5 * 11 / 9)) - 1)
    assert fp == pytest.approx(-0.109513, abs=1e-6)
    assert result.score == pytest.approx(1.0 + 0.859793 + fp, abs=1e-6)
    assert result.windows == 2


def test_window_inside_probation_is_not_scored() -> None:
    """A window wholly in the probationary period is neither a miss nor a hit."""
    result = score_file(ROWS, [(2, 10), (40, 59)], [5, 40])
    assert result.score == pytest.approx(1.0)
    assert result.windows == 1


def test_bad_windows_are_refused() -> None:
    """Windows outside the file or overlapping raise ValueError."""
    with pytest.raises(ValueError, match="outside"):
        score_file(ROWS, [(90, 120)], [])
    with pytest.raises(ValueError, match="disjoint"):
        score_file(ROWS, [(20, 40), (30, 50)], [])


def test_normalisation_of_several_windows() -> None:
    """Raw 0 with 4 windows: (0 - (-4)) / (4 - (-4)) = 50 %."""
    assert normalised(0.0, 4, STANDARD) == pytest.approx(50.0)
    assert normalised(1.0, 0) == 0.0
