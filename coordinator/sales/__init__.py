"""Sales orders: the network they are served from, and the promise made to the customer.

- `coordinator.sales.capacity`: each factory's free capacity (machine-seconds per time bucket,
  inside opening hours, with a rush reserve), built from the current schedule;
- `coordinator.sales.network`: factories, micro-warehouses, who makes which SKU, allocation
  rules (validated, errors naming the JSON path);
- `coordinator.sales.promise`: the promise engine (pure): stock first, else production split
  across factories, and the constraint that bound the date;
- `coordinator.sales.lifecycle`: statuses and the facts that move them (pure);
- `coordinator.sales.records`: what is stored, the `SalesStore` port and its in-memory double
  (`coordinator.store.sales` keeps it in SQLite);
- `coordinator.sales.book`: the service: atomic promises and holds, retries, cancellation,
  corrections, tracking tokens, jobs for the planner.
"""

from coordinator.sales.capacity import CapacityPool, OpeningHours, pool_from_schedule
from coordinator.sales.network import (
    Factory,
    Network,
    NetworkError,
    Warehouse,
    network_from_json,
    recipe_at,
)
from coordinator.sales.promise import (
    AllocationRule,
    FactoryOffer,
    Line,
    LinePromise,
    MadePart,
    Promise,
    PromiseError,
    Recipe,
    StockPart,
    WarehouseStock,
    haversine_km,
    promise_order,
)

__all__ = [
    "AllocationRule",
    "CapacityPool",
    "Factory",
    "FactoryOffer",
    "Line",
    "LinePromise",
    "MadePart",
    "Network",
    "NetworkError",
    "OpeningHours",
    "Promise",
    "PromiseError",
    "Recipe",
    "StockPart",
    "Warehouse",
    "WarehouseStock",
    "haversine_km",
    "network_from_json",
    "pool_from_schedule",
    "promise_order",
    "recipe_at",
]
