"""How the coordinator's process shares its interpreter: garbage collection and thread
switching (`tune_process`, called by `flexfleet coordinator` before it serves).

**Garbage collection.** A running coordinator holds hundreds of thousands of long-lived
objects (orders, their promises and holds, jobs, the current plans) and makes short-lived
ones by the million (every request, every re-plan's views). With Python's default young
generation (a collection every 700 net allocations) many of the short-lived ones survive
long enough to be promoted into the old generation, and each full collection then walks the
whole heap: in a burst of 200 orders a second that was 20 full collections a minute of up
to 0.3 s each, every one stopping all threads (`benchmarks/bench_promise.py`,
BENCHMARKS.md). A young generation of `gc_young_threshold` allocations lets them die
young instead; `gc.freeze()` first takes the objects made at start-up out of every later
walk. Reference counting frees everything that is not in a cycle at once, whatever the
thresholds.

**Thread switching.** The API's event loop shares the interpreter with the planner's,
the reviser's and the group commits' threads. When one of them holds the interpreter, the
loop waits for it up to the switch interval (Python's default 5 ms) at each step of each
request; at the moments of a new plan, when several of them are busy, that wait is most
of a request's time. A shorter interval (`gil_switch_interval_s`, 1 ms) hands the loop
the interpreter sooner, for a little more switching: p99 of the burst 0.35–0.46 s against
0.45–0.50 s with 5 ms, in alternating runs.
"""

from __future__ import annotations

import gc
import sys

__all__ = ["tune_collector", "tune_process"]

_MIDDLE, _OLD = 20, 10  # young collections per middle one, middle ones per full one


def tune_process(*, young_threshold: int, switch_interval_s: float) -> None:
    """`tune_collector(young_threshold)`, and threads switch every `switch_interval_s`
    (0: leave Python's default)."""
    tune_collector(young_threshold)
    if switch_interval_s > 0:
        sys.setswitchinterval(switch_interval_s)


def tune_collector(young_threshold: int) -> None:
    """Freeze what exists now and collect the young generation every `young_threshold`
    net allocations (0: leave Python's defaults)."""
    if young_threshold <= 0:
        return
    gc.freeze()
    gc.set_threshold(young_threshold, _MIDDLE, _OLD)
