"""The one retry policy (`fleet_runtime.backoff.next_delay`): capped, jittered, growing."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet_runtime.backoff import next_delay


@given(attempt=st.integers(min_value=0, max_value=10_000), seed=st.integers(0, 2**32))
def test_delay_lies_between_the_floor_and_the_capped_step(attempt: int, seed: int) -> None:
    """Every delay lies in [base/2, min(cap, base·2^attempt)], even for huge attempt numbers."""
    delay = next_delay(attempt, random.Random(seed), base_s=0.5, cap_s=30.0)
    step = 30.0 if attempt >= 64 else min(30.0, 0.5 * 2.0**attempt)
    assert 0.25 <= delay <= step


def test_delays_grow_until_the_cap() -> None:
    """The ceiling doubles per attempt until the cap holds it; late delays spread over it."""
    first = [next_delay(0, random.Random(s), base_s=1.0, cap_s=8.0) for s in range(50)]
    assert max(first) <= 1.0
    fourth = [next_delay(3, random.Random(s), base_s=1.0, cap_s=8.0) for s in range(50)]
    assert max(fourth) > 4.0  # the ceiling has grown to 8 s
    late = [next_delay(50, random.Random(s), base_s=0.5, cap_s=30.0) for s in range(50)]
    assert max(late) <= 30.0
    assert sum(late) / len(late) > 10.0  # spread over the range, not bunched at the floor


def test_jitter_spreads_retries() -> None:
    """Clients with different random streams do not retry at the same instant."""
    delays = {next_delay(5, random.Random(seed), base_s=1.0, cap_s=60.0) for seed in range(20)}
    assert len(delays) == 20


def test_nonsense_is_refused() -> None:
    """Negative attempts and inverted or zero bounds are errors."""
    with pytest.raises(ValueError, match="attempt"):
        next_delay(-1, random.Random(0))
    with pytest.raises(ValueError, match="base_s"):
        next_delay(0, random.Random(0), base_s=5.0, cap_s=1.0)
    with pytest.raises(ValueError, match="base_s"):
        next_delay(0, random.Random(0), base_s=0.0, cap_s=1.0)
