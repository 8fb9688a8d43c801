"""Token buckets per caller: `rate_per_minute` writes on average, `burst` at once.

Pure: the caller passes the time. `take` answers None when the write may go ahead, else the
seconds until it may (the `Retry-After`). Idle buckets are forgotten once full again, and
at most `max_keys` are kept (the oldest dropped), so hostile keys cannot grow memory.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass(slots=True)
class RateLimiter:
    """Per-key token buckets; `rate_per_minute` 0 turns the limit off."""

    rate_per_minute: float
    burst: int
    max_keys: int = 10_000
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def take(self, key: str, now_s: float) -> int | None:
        """Spend one write of `key` at `now_s`; None if allowed, else whole seconds to wait."""
        if self.rate_per_minute <= 0:
            return None
        per_s = self.rate_per_minute / 60.0
        level, then = self._buckets.pop(key, (float(self.burst), now_s))
        level = min(float(self.burst), level + max(0.0, now_s - then) * per_s)
        if level < 1.0:
            self._buckets[key] = (level, now_s)
            return max(1, math.ceil((1.0 - level) / per_s))
        self._buckets[key] = (level - 1.0, now_s)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return None


__all__ = ["RateLimiter"]
