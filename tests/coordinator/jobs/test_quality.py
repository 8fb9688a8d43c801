"""Scrap judged against its limit, and re-make jobs (pure)."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coordinator.jobs.progress import OperationProgress, TrackedJob, job_progress
from coordinator.jobs.quality import judge_scrap, remake_id, remake_order, scrap_share, scrap_tail
from coordinator.plan.orders.specs import JobOrder, OperationOrder

T0 = 1_700_000_000_000


def exact_tail(made: int, scrap: int, limit: Fraction) -> Fraction:
    """P(X >= scrap), X ~ Binomial(made, limit), in exact rational arithmetic."""
    return sum(
        (
            comb(made, k) * limit**k * (1 - limit) ** (made - k)
            for k in range(max(scrap, 0), made + 1)
        ),
        Fraction(0),
    )


@settings(max_examples=300, deadline=None)
@given(
    made=st.integers(0, 400),
    scrap=st.integers(-2, 402),
    limit=st.fractions(min_value=0, max_value=1, max_denominator=200),
)
def test_the_tail_matches_exact_arithmetic(made: int, scrap: int, limit: Fraction) -> None:
    """On both sides of the mode, at the ends (limit 0 and 1, no scrap, scrap beyond what
    was made), the tail is the exact binomial one to 1e-12."""
    got = scrap_tail(made, scrap, float(limit))
    assert 0.0 <= got <= 1.0
    assert abs(got - float(exact_tail(made, scrap, limit))) < 1e-12


def test_the_tail_of_large_batches_stays_finite() -> None:
    """10⁶ parts (terms far below double precision's smallest number at the far end): the
    tail is still a probability, near 0 and near 1 on the two sides of the limit."""
    assert scrap_tail(1_000_000, 60_000, 0.05) < 1e-100
    assert scrap_tail(1_000_000, 40_000, 0.05) > 1 - 1e-12
    assert 0.4 < scrap_tail(1_000_000, 50_000, 0.05) < 0.6


def test_a_limit_outside_zero_to_one_is_refused() -> None:
    """A share of 1.5 or -0.1 is a mistake, not a limit."""
    for limit in (1.5, -0.1, float("nan")):
        with pytest.raises(ValueError, match="limit"):
            scrap_tail(10, 1, limit)


def test_one_small_batch_with_one_scrap_is_not_over_its_limit() -> None:
    """1 of 4 at a 5 % limit (25 %) is a one-in-five chance: not over at alpha 0.01."""
    evidence = judge_scrap([(3, 1)], limit=0.05, alpha=0.01)
    assert (evidence.batches, evidence.good, evidence.scrap, evidence.over) == (1, 3, 1, False)
    assert evidence.share == 0.25
    assert abs(evidence.p_value - (1 - 0.95**4)) < 1e-12


def test_batches_are_pooled_before_they_are_judged() -> None:
    """Four such batches together (4 of 16, p = 0.007) are over; a fifth clean one of 40
    parts brings it back (4 of 56, p = 0.16)."""
    four = [(3, 1)] * 4
    assert judge_scrap(four, limit=0.05, alpha=0.01).over
    assert not judge_scrap([*four, (40, 0)], limit=0.05, alpha=0.01).over


def test_a_zero_limit_is_over_at_the_first_scrap_and_a_full_one_never() -> None:
    """limit 0: any scrap is impossible at it; limit 1: every part may be scrap."""
    assert judge_scrap([(100, 1)], limit=0.0, alpha=0.01).over
    assert not judge_scrap([(100, 0)], limit=0.0, alpha=0.01).over
    assert not judge_scrap([(0, 100)], limit=1.0, alpha=0.01).over


def test_bad_counts_and_alpha_are_refused() -> None:
    """Negative counts and an alpha outside (0, 1) raise instead of judging nonsense."""
    with pytest.raises(ValueError, match="negative"):
        judge_scrap([(5, -1)], limit=0.05, alpha=0.01)
    for alpha in (0.0, 1.0, -0.5):
        with pytest.raises(ValueError, match="alpha"):
            judge_scrap([(5, 1)], limit=0.05, alpha=alpha)
    assert judge_scrap([], limit=0.05, alpha=0.01).p_value == 1.0


def test_scrap_share_of_nothing_is_zero() -> None:
    """No units made: no scrap share (no division by zero)."""
    assert scrap_share(0, 0) == 0.0


def test_remake_covers_the_shortfall_with_scaled_durations() -> None:
    """A job short by 30 of 100 is re-made for 30 units, its steps 30 % as long."""
    order = JobOrder(
        "j1",
        (OperationOrder({"m1": 1000.0, "m2": 1200.0}, family="red"), OperationOrder({"m3": 100.0})),
        due_ms=T0 + 10**7,
        quantity=100,
        sku="cup",
    )
    progress = job_progress(
        TrackedJob("j1", 100, 2),
        [
            OperationProgress("j1:0", "j1", "m1", "done", 80, 20, T0, T0 + 1, T0 + 1),
            OperationProgress("j1:1", "j1", "m3", "done", 70, 10, T0 + 2, T0 + 3, T0 + 3),
        ],
    )
    remake = remake_order(order, progress)
    assert remake is not None
    assert (remake.id, remake.quantity, remake.sku, remake.due_ms) == (
        "j1.r1",
        30,
        "cup",
        T0 + 10**7,
    )
    assert remake.operations[0].options == {"m1": 300.0, "m2": 360.0}
    assert remake.operations[0].family == "red"
    assert remake.operations[1].options == {"m3": 30.0}


def test_no_remake_for_a_finished_job() -> None:
    """A job whose good units reached its quantity needs no re-make."""
    order = JobOrder("j1", (OperationOrder({"m1": 10.0}),), quantity=5)
    progress = job_progress(
        TrackedJob("j1", 5, 1), [OperationProgress("j1:0", "j1", "m1", "done", 5, 9, T0, T0, T0)]
    )
    assert remake_order(order, progress) is None


def test_remake_ids_count_up_and_stay_within_the_id_length() -> None:
    """`x` → `x.r1` → `x.r2`; a 60-character id keeps its suffix within 60 characters."""
    assert remake_id("x") == "x.r1"
    assert remake_id("x.r1") == "x.r2"
    long = remake_id("a" * 60)
    assert len(long) == 60
    assert long.endswith(".r1")
