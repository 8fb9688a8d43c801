"""Planning: production schedules (CP-SAT) and delivery routes (VRPTW), re-planned on events.

Planners are pure: an immutable problem in, a result out. Solver libraries (ortools,
pyvrp) are imported only inside their adapter modules, when a plan is requested.

Layout: `schedule` (production scheduling), `routing` (delivery routes), `orders`
(orders as sent, replenishment); shared by both plans: `state` (the durable state port),
`snapshot`, `diff`, `debounce`, `triggers`, `errors`; `service` (`PlanService`, one
re-planning step) and `runner` (`PlanRunner`, the threaded runner inside the coordinator).
"""

from coordinator.plan.debounce import Debouncer, Trigger
from coordinator.plan.diff import RouteDiff, ScheduleDiff, diff_routes, diff_schedules
from coordinator.plan.errors import (
    InstanceFormatError,
    InstanceTooLargeError,
    OrderRejected,
    PlanError,
    PlanningUnavailable,
    ProblemError,
    SolverError,
)
from coordinator.plan.routing import (
    Depot,
    Order,
    OrToolsRouter,
    PinnedStop,
    PyVrpRouter,
    Route,
    RoutePlanner,
    RoutingProblem,
    RoutingResult,
    Unserved,
    Vehicle,
)
from coordinator.plan.schedule import (
    CpSatScheduler,
    DispatchScheduler,
    Job,
    LateJob,
    Machine,
    Operation,
    OperationOption,
    PinnedOperation,
    ReservePolicy,
    Schedule,
    ScheduledOperation,
    SchedulePlanner,
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
    "OrderRejected",
    "PinnedOperation",
    "PinnedStop",
    "PlanError",
    "PlanService",
    "PlanningUnavailable",
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
