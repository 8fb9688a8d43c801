"""Capped, jittered exponential backoff as a pure function."""

from __future__ import annotations

import random


def next_delay(attempt: int, *, rng: random.Random, base_s: float, cap_s: float) -> float:
    """Seconds to wait before retry number `attempt` (1 for the first retry).

    "Equal jitter" (AWS Architecture Blog, "Exponential Backoff and Jitter", 2015): half of
    the capped exponential step is fixed, half random, so retries from many senders spread
    out but never come back at once.
    """
    # The exponent is bounded so a huge attempt number cannot overflow a float.
    step = min(cap_s, base_s * 2.0 ** min(max(attempt - 1, 0), 60))
    return step / 2.0 + rng.uniform(0.0, step / 2.0)
