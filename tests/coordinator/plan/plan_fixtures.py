"""Small instances written by the tests themselves (no shared data needed)."""

from __future__ import annotations

from coordinator.plan.schedule.problem import Job, Machine, Operation, OperationOption

# ft06 (Fisher & Thompson 1963) in OR-Library format; optimum makespan 55.
FT06 = """\
# ft06, optimum 55
6 6
2 1 0 3 1 6 3 7 5 3 4 6
1 8 2 5 4 10 5 10 0 10 3 4
2 5 3 4 5 8 0 9 1 1 4 7
1 5 0 5 2 5 3 3 4 8 5 9
2 9 1 3 4 5 5 4 0 3 3 1
1 3 3 3 5 9 0 10 4 4 2 1
"""

# Three customers around one depot; Solomon text format.
SOLOMON_TINY = """\
TINY

VEHICLE
NUMBER     CAPACITY
  2         20

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0      0          0          0          0       1000          0
    1      10         0          5          0       1000          1
    2      0          10         5          0       1000          1
    3      10         10         5          0       1000          1
"""

VRPLIB_TINY = """\
NAME : TINY
TYPE : CVRPTW
DIMENSION : 4
VEHICLES : 2
CAPACITY : 20
SERVICE_TIME : 1
EDGE_WEIGHT_TYPE : EUC_2D
NODE_COORD_SECTION
1 0 0
2 10 0
3 0 10
4 10 10
DEMAND_SECTION
1 0
2 5
3 5
4 5
TIME_WINDOW_SECTION
1 0 1000
2 0 1000
3 0 1000
4 0 1000
DEPOT_SECTION
1
-1
EOF
"""


def op(op_id: str, *options: tuple[str, int], family: str = "") -> Operation:
    """An operation with (machine, duration) options."""
    return Operation(op_id, tuple(OperationOption(m, d) for m, d in options), family)


def job(
    job_id: str,
    *ops: Operation,
    release: int = 0,
    due: int | None = None,
    weight: int = 1,
    rush: bool = False,
) -> Job:
    """A job of the given operations."""
    return Job(job_id, tuple(ops), release=release, due=due, weight=weight, rush=rush)


def machines(*ids: str) -> tuple[Machine, ...]:
    """Machines without downtime."""
    return tuple(Machine(i) for i in ids)
