"""Jobs as the shop floor carries them out: progress from the machines' counts.

`facts` holds what machines and warehouses report (operation counts, receipts); `progress`
folds reports into operation and job progress (pure); `quality` judges finished batches
and makes re-make jobs for a shortfall (imported from its module: it builds orders of
`coordinator.plan`); `overdue` finds planned starts a machine never reported. The store
keeps progress in `coordinator.store.jobs`; `coordinator.jobs.tracker` wires it all to
the planner and the alarms.
"""

from coordinator.jobs.facts import OPERATION_STATES, OperationReport, OperationState, Receipt
from coordinator.jobs.overdue import Overdue, PlannedStart, overdue_starts
from coordinator.jobs.progress import (
    JOB_STATES,
    JobProgress,
    JobState,
    OperationProgress,
    TrackedJob,
    advance_operation,
    job_progress,
    operation_id,
)

__all__ = [
    "JOB_STATES",
    "OPERATION_STATES",
    "JobProgress",
    "JobState",
    "OperationProgress",
    "OperationReport",
    "OperationState",
    "Overdue",
    "PlannedStart",
    "Receipt",
    "TrackedJob",
    "advance_operation",
    "job_progress",
    "operation_id",
    "overdue_starts",
]
