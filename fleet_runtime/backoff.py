"""The one retry policy of flexfleet: capped exponential backoff with full jitter.

Pure and shared: the edge agent's broker and Modbus reconnects, the coordinator's broker
reconnects (paho's own retry is off everywhere) and the coordinator's webhook retries all
wait `next_delay(attempt, rng, ...)`. "Full jitter" (AWS Architecture Blog, "Exponential
Backoff and Jitter", 2015) spreads a fleet's retries after a broker restart instead of having
every client retry in step; the floor of `base_s / 2` keeps a flapping peer from being
hammered.
"""

from __future__ import annotations

import random


def next_delay(
    attempt: int, rng: random.Random, *, base_s: float = 0.5, cap_s: float = 30.0
) -> float:
    """Seconds to wait before retry number `attempt` (0 = the first retry).

    Uniform in [base_s / 2, min(cap_s, base_s × 2**attempt)]: never zero, never above
    `cap_s`. Raises `ValueError` for a negative attempt or bounds outside 0 < base_s <= cap_s.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    if not 0 < base_s <= cap_s:
        raise ValueError(f"need 0 < base_s <= cap_s, got base_s={base_s}, cap_s={cap_s}")
    ceiling = cap_s if attempt >= 64 else min(cap_s, base_s * 2.0**attempt)
    floor = min(base_s / 2.0, ceiling)
    return rng.uniform(floor, ceiling)


__all__ = ["next_delay"]
