"""The routing port and its implementations (solver libraries are imported lazily).

PyVRP is the default: measured on the Solomon instances it leaves a far smaller gap
than OR-Tools routing at the same time limit (see BENCHMARKS.md, ## Planning).

Determinism: `PyVrpRouter(deterministic=True)` stops each search after a fixed number
of iterations (the time limit still applies as a safety net), so the same problem and
seed give the same routes unless the wall clock cuts in first on a loaded machine;
`wall_limit_s` sets that safety net apart from the time limit, for callers that need the
same routes on any machine more than routes on time. By default it stops on wall time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from coordinator.plan.routing.problem import RoutingProblem, RoutingResult

__all__ = ["OrToolsRouter", "PyVrpRouter", "RoutePlanner", "warm_up"]


class RoutePlanner(Protocol):
    """Turns a routing problem into routes within a time limit."""

    def plan(self, problem: RoutingProblem, *, time_limit_s: float, seed: int = 0) -> RoutingResult:
        """Routes for `problem`, found within `time_limit_s` seconds."""
        ...


def warm_up() -> None:
    """Import PyVRP now, so the first plan's time limit is spent solving."""
    import coordinator.plan.routing.pyvrp_adapter  # noqa: F401


@dataclass(frozen=True, slots=True)
class PyVrpRouter:
    """PyVRP's iterated local search with a budget-sized late-acceptance history.

    With `num_workers > 1`, searches with consecutive seeds run side by side, swap their
    best solution halfway, and the extra ones then try one vehicle fewer (see
    `routing.pyvrp_adapter`); the shortest feasible result is kept.
    """

    num_workers: int = 1
    deterministic: bool = False
    # Conservative: about 300 iterations/s measured on 100 customers under load, so the
    # iteration limit (not the clock) ends the search and the result is reproducible.
    iterations_per_s: int = 150
    # Deterministic mode: the wall-clock safety net instead of the time limit (None: the
    # time limit). Set well above it, the iteration limit ends every search.
    wall_limit_s: float | None = None

    def plan(self, problem: RoutingProblem, *, time_limit_s: float, seed: int = 0) -> RoutingResult:
        """Routes for `problem` within `time_limit_s` seconds."""
        from coordinator.plan.routing.pyvrp_adapter import solve_pyvrp

        iterations = (
            max(1, int(time_limit_s * self.iterations_per_s)) if self.deterministic else None
        )
        wall_s = time_limit_s
        if self.deterministic and self.wall_limit_s is not None:
            wall_s = max(time_limit_s, self.wall_limit_s)
        return solve_pyvrp(
            problem,
            time_limit_s=wall_s,
            seed=seed,
            num_workers=self.num_workers,
            max_iterations=iterations,
        )


@dataclass(frozen=True, slots=True)
class OrToolsRouter:
    """OR-Tools routing: parallel cheapest insertion, then guided local search."""

    def plan(self, problem: RoutingProblem, *, time_limit_s: float, seed: int = 0) -> RoutingResult:
        """Routes for `problem` within `time_limit_s` seconds."""
        from coordinator.plan.routing.ortools_adapter import solve_ortools

        return solve_ortools(problem, time_limit_s=time_limit_s, seed=seed)
