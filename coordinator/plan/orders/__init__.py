"""Orders as the operator sends them, and replenishment jobs for shelves running low.

`specs` holds jobs, deliveries, the fleet and product recipes in their unconverted form
(and their JSON for the store); `replenishment` the pure decisions (which jobs to submit
for an at-risk stock cover, which open jobs a stock level closes). `replenishment_book`
keeps the recipes and open jobs of a running `PlanRunner` in memory and in its
`PlanState`; it is imported from its module, as it depends on the state port.
"""

from coordinator.plan.orders.replenishment import (
    NewJob,
    Replenishment,
    StockOutcome,
    apply_receipts,
    jobs_to_submit,
    transfer_id,
)
from coordinator.plan.orders.specs import (
    ChangeoverSpec,
    DeliveryOrder,
    DepotSpec,
    JobOrder,
    OperationOrder,
    OrdersClosed,
    OrdersDispatched,
    OrdersTaken,
    ProductSpec,
    ReserveSpec,
    StepOption,
    VehicleSpec,
)

__all__ = [
    "ChangeoverSpec",
    "DeliveryOrder",
    "DepotSpec",
    "JobOrder",
    "NewJob",
    "OperationOrder",
    "OrdersClosed",
    "OrdersDispatched",
    "OrdersTaken",
    "ProductSpec",
    "Replenishment",
    "ReserveSpec",
    "StepOption",
    "StockOutcome",
    "VehicleSpec",
    "apply_receipts",
    "jobs_to_submit",
    "transfer_id",
]
