"""How the coordinator's process collects garbage.

A running coordinator holds hundreds of thousands of long-lived objects (orders, their
promises and holds, jobs, the current plans) and makes short-lived ones by the million
(every request, every re-plan's views). With Python's default young generation (a
collection every 700 net allocations) many of the short-lived ones survive long enough to
be promoted into the old generation, and each full collection then walks the whole heap:
in a burst of 200 orders a second that was 20 full collections a minute of up to 0.3 s each,
every one stopping all threads (`benchmarks/bench_promise.py`, BENCHMARKS.md). A young
generation of `young_threshold` allocations lets them die young instead; `gc.freeze()`
first takes the objects made at start-up out of every later walk. Reference counting frees
everything that is not in a cycle at once, whatever the thresholds.
"""

from __future__ import annotations

import gc

__all__ = ["tune_collector"]

_MIDDLE, _OLD = 20, 10  # young collections per middle one, middle ones per full one


def tune_collector(young_threshold: int) -> None:
    """Freeze what exists now and collect the young generation every `young_threshold`
    net allocations (0: leave Python's defaults)."""
    if young_threshold <= 0:
        return
    gc.freeze()
    gc.set_threshold(young_threshold, _MIDDLE, _OLD)
