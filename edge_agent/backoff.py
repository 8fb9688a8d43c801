"""The one reconnect policy: capped exponential backoff with full jitter.

Used for the MQTT broker and for southbound devices alike; paho's own retry is off.
"Full jitter" (AWS Architecture Blog, "Exponential Backoff and Jitter", 2015) spreads a
fleet's reconnects after a broker restart instead of having every agent retry in step.
"""

from __future__ import annotations

import random


def next_delay(
    attempt: int, rng: random.Random, *, base_s: float = 0.5, cap_s: float = 30.0
) -> float:
    """Seconds to wait before reconnect attempt number `attempt` (0 = first retry).

    Uniform in [base_s / 2, min(cap_s, base_s × 2**attempt)]: never zero (so a flapping
    peer is not hammered), never above `cap_s`.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    if not 0 < base_s <= cap_s:
        raise ValueError(f"need 0 < base_s <= cap_s, got base_s={base_s}, cap_s={cap_s}")
    ceiling = cap_s if attempt >= 64 else min(cap_s, base_s * 2.0**attempt)
    floor = min(base_s / 2.0, ceiling)
    return rng.uniform(floor, ceiling)
