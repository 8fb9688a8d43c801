"""Planning: production schedules (CP-SAT) and delivery routes (VRPTW), re-planned on events.

Planners are pure: an immutable problem in, a result out. Solver libraries (ortools,
pyvrp) are imported only inside their adapter modules, when a plan is requested.
"""

from coordinator.plan.debounce import Debouncer, Trigger
from coordinator.plan.diff import RouteDiff, ScheduleDiff, diff_routes, diff_schedules
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
from coordinator.plan.service import PlanService, Publish

__all__ = [
    "CpSatScheduler",
    "Debouncer",
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
    "PlanService",
    "ProblemError",
    "Publish",
    "PyVrpRouter",
    "ReservePolicy",
    "Route",
    "RouteDiff",
    "RoutePlanner",
    "RoutingProblem",
    "RoutingResult",
    "Schedule",
    "ScheduleDiff",
    "SchedulePlanner",
    "ScheduleWeights",
    "ScheduledOperation",
    "SchedulingProblem",
    "Setup",
    "SolverError",
    "Trigger",
    "Unserved",
    "Vehicle",
    "Window",
    "diff_routes",
    "diff_schedules",
]
