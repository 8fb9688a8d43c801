"""Errors raised by the planning package, a branch of the coordinator's tree.

    CoordinatorError (coordinator.errors)
    └── PlanError                 every error this package raises
        ├── ProblemError          a problem is inconsistent (unknown machine, bad window, ...)
        ├── InstanceFormatError   an instance file cannot be parsed (carries `source`, `line`)
        │   └── InstanceTooLargeError  an instance exceeds the configured size limits
        ├── SolverError           a solver library failed in a way the planner cannot recover from
        ├── TravelTimeError       the travel-time service failed or answered nonsense (`url`)
        ├── OrderRejected         an order, recipe or fleet the runner cannot take (`field`)
        └── PlanningUnavailable   this coordinator runs without the planner

Third-party exceptions are translated at the adapter boundary (`raise ... from exc`); the
API maps the tree to status codes in one table (`coordinator.api.errors`).
"""

from __future__ import annotations

from coordinator.errors import CoordinatorError

__all__ = [
    "InstanceFormatError",
    "InstanceTooLargeError",
    "OrderRejected",
    "PlanError",
    "PlanningUnavailable",
    "ProblemError",
    "SolverError",
    "TravelTimeError",
]


class PlanError(CoordinatorError):
    """Base class of every planning error."""


class ProblemError(PlanError):
    """A planning problem is inconsistent; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InstanceFormatError(PlanError):
    """An instance file is malformed; `source` names it and `line` points at the culprit."""

    def __init__(self, reason: str, *, source: str = "<input>", line: int | None = None) -> None:
        where = source if line is None else f"{source}:{line}"
        super().__init__(f"{where}: {reason}")
        self.reason = reason
        self.source = source
        self.line = line


class InstanceTooLargeError(InstanceFormatError):
    """An instance is larger than the limit the caller allowed."""


class SolverError(PlanError):
    """A solver library failed; `solver` names it."""

    def __init__(self, reason: str, *, solver: str) -> None:
        super().__init__(f"{solver}: {reason}")
        self.reason = reason
        self.solver = solver


class TravelTimeError(PlanError):
    """The travel-time service could not be asked or gave an answer that is not a duration
    matrix; `url` names the service (without its query)."""

    def __init__(self, reason: str, *, url: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.reason = reason
        self.url = url


class OrderRejected(PlanError):
    """An order (or recipe, fleet, reserve) the planner cannot take; `field` names the
    offending part."""

    def __init__(self, reason: str, *, field: str = "") -> None:
        super().__init__(reason)
        self.field = field


class PlanningUnavailable(PlanError):
    """This coordinator runs without the planner."""
