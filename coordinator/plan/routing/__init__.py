"""Delivery routing (VRPTW with several depots): the problem and the routers behind one port.

`problem` holds the immutable values; `planner` the port (`RoutePlanner`) with the PyVRP
and OR-Tools implementations; `compile` turns a problem into the integer form both solvers
read and `explain` turns their answer back. pyvrp and OR-Tools are imported only by
`pyvrp_adapter` and `ortools_adapter`, when a plan is requested; `vrptw_io` reads Solomon
and VRPLIB instances; `departures` says when a planned tour leaves its depot (dynamic
dispatch).
"""

from coordinator.plan.routing.departures import (
    DeparturePolicy,
    PendingStop,
    could_depart,
    departure_reason,
    latest_departure_s,
)
from coordinator.plan.routing.planner import OrToolsRouter, PyVrpRouter, RoutePlanner
from coordinator.plan.routing.problem import (
    Depot,
    Order,
    PinnedStop,
    Route,
    RoutingProblem,
    RoutingResult,
    Unserved,
    Vehicle,
)

__all__ = [
    "DeparturePolicy",
    "Depot",
    "OrToolsRouter",
    "Order",
    "PendingStop",
    "PinnedStop",
    "PyVrpRouter",
    "Route",
    "RoutePlanner",
    "RoutingProblem",
    "RoutingResult",
    "Unserved",
    "Vehicle",
    "could_depart",
    "departure_reason",
    "latest_departure_s",
]
