"""The production-scheduling problem and its result, as immutable values.

Times are integers in one unit chosen by the caller (minutes in the coordinator, the
benchmark's own unit for classic instances). A job is a chain of operations; each
operation may run on any of its `options` (machine, duration) — a flexible job shop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from operator import attrgetter
from typing import Any, TypeVar

from coordinator.plan.errors import ProblemError

__all__ = [
    "Job",
    "LateJob",
    "Machine",
    "Operation",
    "OperationOption",
    "PinnedOperation",
    "ReservePolicy",
    "Schedule",
    "ScheduleWeights",
    "ScheduledOperation",
    "SchedulingProblem",
    "Setup",
    "Window",
]

_Class = TypeVar("_Class", bound=type)


def _pickled_as_arguments(cls: _Class) -> _Class:
    """Pickle instances as their constructor's arguments (the fields, in order).

    A problem crosses to the planner's process at every re-plan (`schedule.isolated`):
    the dataclasses' own pickling of slotted instances runs Python code for every field of
    every operation, while this reads an instance's fields in one call (about three
    times faster on a problem of thousands of operations); caches are not pickled.
    """
    names = tuple(f.name for f in fields(cls))
    if not all(f.init and not f.kw_only for f in fields(cls)):
        raise TypeError(f"{cls.__name__}: every field must be a positional argument")
    read: Callable[[Any], Any] = attrgetter(*names)
    arguments: Callable[[Any], tuple[Any, ...]] = (
        (lambda self: (read(self),)) if len(names) == 1 else read
    )

    def reduce(self: Any) -> tuple[type, tuple[Any, ...]]:
        return (cls, arguments(self))

    setattr(cls, "__reduce__", reduce)  # noqa: B010 (a method set on the class)
    return cls


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class Window:
    """A half-open time interval [start, end)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ProblemError(f"window end {self.end} must be after start {self.start}")


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class Machine:
    """A machine with the windows in which it cannot work (breakdowns, maintenance)."""

    id: str
    unavailable: tuple[Window, ...] = ()
    initial_family: str = ""


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class OperationOption:
    """One machine an operation may run on, and how long it takes there."""

    machine_id: str
    duration: int

    def __post_init__(self) -> None:
        if self.duration < 0:
            raise ProblemError(f"negative duration {self.duration} on {self.machine_id}")


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class Operation:
    """One step of a job; `family` selects the changeover time between operations."""

    id: str
    options: tuple[OperationOption, ...]
    family: str = ""

    def __post_init__(self) -> None:
        if not self.options:
            raise ProblemError(f"operation {self.id} has no machine option")


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class Job:
    """A chain of operations with a release time, an optional due time and a weight."""

    id: str
    operations: tuple[Operation, ...]
    release: int = 0
    due: int | None = None
    weight: int = 1
    rush: bool = False

    def __post_init__(self) -> None:
        if not self.operations:
            raise ProblemError(f"job {self.id} has no operation")
        if self.weight < 0:
            raise ProblemError(f"job {self.id} has negative weight {self.weight}")


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class Setup:
    """Changeover time on any machine when `to_family` follows `from_family`."""

    from_family: str
    to_family: str
    duration: int


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class PinnedOperation:
    """An operation that has started (or is frozen): it keeps this machine and start."""

    operation_id: str
    machine_id: str
    start: int


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class ReservePolicy:
    """Keep `share` of each machine free for rush jobs in every `period` up to `horizon`.

    The reserved slice sits at the end of each period; only rush jobs may use it.
    """

    share: float = 0.0
    period: int = 60
    horizon: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.share < 1.0:
            raise ProblemError(f"reserve share {self.share} outside [0, 1)")
        if self.period <= 0 or self.horizon < 0:
            raise ProblemError("reserve period must be positive and horizon non-negative")
        if self.slice_length >= self.period:
            raise ProblemError(
                f"a reserve share of {self.share} reserves the whole period of {self.period}"
                " units (the slice is at least one unit): lengthen the period"
            )

    @property
    def slice_length(self) -> int:
        """Units reserved at the end of each period (0 without a reserve; at least 1 with)."""
        return max(1, round(self.period * self.share)) if self.share > 0.0 else 0


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class ScheduleWeights:
    """Objective weights: a weighted sum that approximates the lexicographic order
    tardiness > changeover > makespan, plus a penalty per moved operation."""

    tardiness: int = 1000
    changeover: int = 10
    makespan: int = 1
    moved_operation: int = 50


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class ScheduledOperation:
    """Where and when one operation runs; `setup` is the changeover right before it."""

    operation_id: str
    job_id: str
    machine_id: str
    start: int
    end: int
    setup: int = 0


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class LateJob:
    """A job that misses its due time, by how much, and why (`reason` is a short code,
    `detail` a sentence in plan units); the figures behind the reason, in plan units, so a
    reader can phrase them in its own time: the machine and operation concerned (not for
    too_short_window), the earliest start and shortest processing left (too_short_window),
    the machine's unavailable window (machine_unavailable) and the operation's wait
    (machine_capacity, reserved_capacity)."""

    job_id: str
    due: int
    completion: int
    reason: str
    detail: str
    machine_id: str | None = None
    operation_id: str | None = None
    earliest_start: int | None = None
    processing: int | None = None
    unavailable_from: int | None = None
    unavailable_until: int | None = None
    waited: int | None = None


@_pickled_as_arguments
@dataclass(frozen=True, slots=True)
class Schedule:
    """A complete, feasible schedule and how it was found."""

    operations: tuple[ScheduledOperation, ...]
    makespan: int
    weighted_tardiness: int
    changeover: int
    late_jobs: tuple[LateJob, ...] = ()
    status: str = "feasible"  # "optimal", "feasible" or "fallback"
    solver: str = ""
    lower_bound: int | None = None
    operations_moved: int = 0
    wall_time_s: float = 0.0

    def by_operation(self) -> dict[str, ScheduledOperation]:
        """Index the scheduled operations by operation id."""
        return {op.operation_id: op for op in self.operations}


@_pickled_as_arguments
@dataclass(frozen=True)
class SchedulingProblem:
    """Everything the scheduler needs; validated on construction.

    `now` and `frozen_horizon`: operations of `previous` starting before
    `now + frozen_horizon` keep their slot, and no other operation may start before it.
    """

    machines: tuple[Machine, ...]
    jobs: tuple[Job, ...]
    setups: tuple[Setup, ...] = ()
    now: int = 0
    frozen_horizon: int = 0
    pinned: tuple[PinnedOperation, ...] = ()
    reserve: ReservePolicy = field(default_factory=ReservePolicy)
    weights: ScheduleWeights = field(default_factory=ScheduleWeights)
    previous: Schedule | None = None
    name: str = ""

    @cached_property
    def operations_by_id(self) -> Mapping[str, tuple[Job, int, Operation]]:
        """Operation id → (its job, its position in the job, the operation); built once
        per problem (a re-plan reads it from several steps)."""
        return {op.id: (job, pos, op) for job in self.jobs for pos, op in enumerate(job.operations)}

    @cached_property
    def longest_setup(self) -> int:
        """The longest changeover between any two families (0 without changeovers)."""
        return max((setup.duration for setup in self.setups), default=0)

    def __post_init__(self) -> None:
        machine_ids = [m.id for m in self.machines]
        if len(set(machine_ids)) != len(machine_ids):
            raise ProblemError("duplicate machine id")
        known = set(machine_ids)
        op_ids: set[str] = set()
        job_ids: set[str] = set()
        for job in self.jobs:
            if job.id in job_ids:
                raise ProblemError(f"duplicate job id {job.id}")
            job_ids.add(job.id)
            for op in job.operations:
                if op.id in op_ids:
                    raise ProblemError(f"duplicate operation id {op.id}")
                op_ids.add(op.id)
                for opt in op.options:
                    if opt.machine_id not in known:
                        raise ProblemError(
                            f"operation {op.id} names unknown machine {opt.machine_id}"
                        )
        for pin in self.pinned:
            if pin.operation_id not in op_ids:
                raise ProblemError(f"pinned operation {pin.operation_id} is not in any job")
            if pin.machine_id not in known:
                raise ProblemError(f"pinned operation {pin.operation_id} on unknown machine")
        if self.frozen_horizon < 0:
            raise ProblemError("frozen horizon must be non-negative")

    def setup_time(self, from_family: str, to_family: str) -> int:
        """Changeover between two families (0 for the same family or an unknown pair)."""
        if from_family == to_family:
            return 0
        return self._setup_table().get((from_family, to_family), 0)

    def _setup_table(self) -> dict[tuple[str, str], int]:
        table: dict[tuple[str, str], int] | None = self.__dict__.get("_setups_cache")
        if table is None:
            table = {(s.from_family, s.to_family): s.duration for s in self.setups}
            object.__setattr__(self, "_setups_cache", table)
        return table

    def operation_count(self) -> int:
        """Number of operations over all jobs."""
        return sum(len(job.operations) for job in self.jobs)
