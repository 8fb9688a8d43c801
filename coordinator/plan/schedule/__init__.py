"""Production scheduling: the problem, the planners behind one port, and re-planning steps.

`problem` holds the immutable values; `planner` the port (`SchedulePlanner`) with the
CP-SAT and dispatch-rule implementations; `replan` the pure steps that move a problem
forward and apply events. OR-Tools is imported only by `cpsat`, when a plan is requested;
`jobshop_io` reads classic job-shop instances, `tabu` improves their warm start,
`synthetic` builds seeded factories for tests and benchmarks.
"""

from coordinator.plan.schedule.evaluate import violations
from coordinator.plan.schedule.planner import CpSatScheduler, DispatchScheduler, SchedulePlanner
from coordinator.plan.schedule.problem import (
    Job,
    LateJob,
    Machine,
    Operation,
    OperationOption,
    PinnedOperation,
    ReservePolicy,
    Schedule,
    ScheduledOperation,
    ScheduleWeights,
    SchedulingProblem,
    Setup,
    Window,
)
from coordinator.plan.schedule.replan import add_jobs, advance, machine_down, machine_up

__all__ = [
    "CpSatScheduler",
    "DispatchScheduler",
    "Job",
    "LateJob",
    "Machine",
    "Operation",
    "OperationOption",
    "PinnedOperation",
    "ReservePolicy",
    "Schedule",
    "SchedulePlanner",
    "ScheduleWeights",
    "ScheduledOperation",
    "SchedulingProblem",
    "Setup",
    "Window",
    "add_jobs",
    "advance",
    "machine_down",
    "machine_up",
    "violations",
]
