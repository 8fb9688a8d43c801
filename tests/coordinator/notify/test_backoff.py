"""The pure backoff policy: capped, jittered, growing."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from coordinator.notify.backoff import next_delay


@given(attempt=st.integers(min_value=-3, max_value=10_000), seed=st.integers(0, 2**32))
def test_delay_is_between_half_step_and_cap(attempt: int, seed: int) -> None:
    """Every delay lies in [step/2, step] with step = min(cap, base·2^(attempt-1))."""
    delay = next_delay(attempt, rng=random.Random(seed), base_s=0.5, cap_s=30.0)
    step = 30.0 if attempt > 64 else min(30.0, 0.5 * 2.0 ** max(attempt - 1, 0))
    assert step / 2 <= delay <= step


def test_delays_grow_until_the_cap() -> None:
    """Minimum delays double per attempt until the cap holds them."""
    rng = random.Random(0)
    lows = [next_delay(a, rng=rng, base_s=1.0, cap_s=8.0) for a in range(1, 8)]
    assert lows[0] < 1.0 + 1e-9
    assert lows[3] >= 4.0
    assert max(lows) <= 8.0


def test_jitter_spreads_retries() -> None:
    """Two senders with different seeds do not retry at the same instant."""
    a = next_delay(5, rng=random.Random(1), base_s=1.0, cap_s=60.0)
    b = next_delay(5, rng=random.Random(2), base_s=1.0, cap_s=60.0)
    assert a != b
