"""Sales orders: the network they are served from, and the promise made to the customer.

- `coordinator.sales.capacity`: each factory's free capacity (machine-seconds per time bucket,
  inside opening hours, with a rush reserve), built from the current schedule;
- `coordinator.sales.network`: factories, micro-warehouses, who makes which SKU, allocation
  rules (validated, errors naming the JSON path);
- `coordinator.sales.promise`: the promise engine (pure): stock first, else production split
  across factories, and the constraint that bound the date;
- `coordinator.sales.reach`: whether a van of the network reaches a destination (pure);
- `coordinator.sales.lifecycle`: statuses and the facts that move them (pure);
- `coordinator.sales.revision`: what a re-plan says of each promise (pure);
- `coordinator.sales.records`: what is stored, the `SalesStore` port and its in-memory double
  (`coordinator.store.sales` keeps it in SQLite);
- `coordinator.sales.shipping`: orders to the door (pure): the delivery an order ships as,
  and the facts the fleet's stop events and the warehouses' receipts are for it;
- `coordinator.sales.book`: the service: atomic promises and holds, retries, cancellation,
  corrections, tracking tokens, jobs and deliveries for the planner.
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
from coordinator.sales.reach import unreachable_reason
from coordinator.sales.revision import Revision, revise_delivery, revise_production
from coordinator.sales.shipping import customer_delivery, delivery_id, order_of_delivery

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
    "Revision",
    "StockPart",
    "Warehouse",
    "WarehouseStock",
    "customer_delivery",
    "delivery_id",
    "haversine_km",
    "network_from_json",
    "order_of_delivery",
    "pool_from_schedule",
    "promise_order",
    "recipe_at",
    "revise_delivery",
    "revise_production",
    "unreachable_reason",
]
