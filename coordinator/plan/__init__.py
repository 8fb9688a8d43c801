"""Planning: production schedules (CP-SAT) and delivery routes (VRPTW), re-planned on events.

Planners are pure: an immutable problem in, a result out. Solver libraries (ortools,
pyvrp) are imported only inside their adapter modules, when a plan is requested.
"""

from coordinator.plan.errors import (
    InstanceFormatError,
    InstanceTooLargeError,
    PlanError,
    ProblemError,
    SolverError,
)
from coordinator.plan.routing_planner import OrToolsRouter, PyVrpRouter, RoutePlanner
from coordinator.plan.routing_problem import (
    Depot,
    Order,
    PinnedStop,
    Route,
    RoutingProblem,
    RoutingResult,
    Unserved,
    Vehicle,
)
from coordinator.plan.schedule_planner import CpSatScheduler, DispatchScheduler, SchedulePlanner
from coordinator.plan.schedule_problem import (
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

__all__ = [
    "CpSatScheduler",
    "Depot",
    "DispatchScheduler",
    "InstanceFormatError",
    "InstanceTooLargeError",
    "Job",
    "LateJob",
    "Machine",
    "Operation",
    "OperationOption",
    "OrToolsRouter",
    "Order",
    "PinnedOperation",
    "PinnedStop",
    "PlanError",
    "ProblemError",
    "PyVrpRouter",
    "ReservePolicy",
    "Route",
    "RoutePlanner",
    "RoutingProblem",
    "RoutingResult",
    "Schedule",
    "SchedulePlanner",
    "ScheduleWeights",
    "ScheduledOperation",
    "SchedulingProblem",
    "Setup",
    "SolverError",
    "Unserved",
    "Vehicle",
    "Window",
]
