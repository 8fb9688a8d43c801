"""Orders to the door (pure): the delivery an order ships as, and the facts the fleet's
stop events and the warehouses' receipts are for it.

The flow, the simplest that stays true to what the devices report:

- An order served from stock ships when it is `reserved`; an order made in the factories
  ships when it is `produced` (every production job finished) or `at_warehouse` (its units
  were received at a warehouse as the transfer `t.{production job id}`). Either way it
  becomes one delivery for the route planner, `ship.{order id}`: the customer's
  latitude/longitude, the whole order's units as its load, the promised time less the
  service as the end of its window (the goods are handed over by the promise; open when
  that has already passed: the order is late, it still goes), `SERVICE_S` at the door
  (configurable). It is bound to the warehouse its goods are at
  (`depot_id`): only a vehicle based there carries it, loading there. Made units reach a
  warehouse first as a transfer a vehicle picks up at the factory (`coordinator.transfers`):
  a two-leg plan.
- The vehicle's stop events on that delivery move the order: `stop_arrived` → `picked_up`
  (out for delivery), `stop_delivered` → `delivered`, `stop_failed` → `delivery_failed`
  (the planner puts the delivery back into the plan; the next arrival takes the order out
  for delivery again).
- A receipt against `t.{production job id}` of one of the order's jobs →
  `received_at_warehouse`.

Each of these facts moves the order at most once from where it stands
(`coordinator.sales.lifecycle`), so a replayed event or receipt changes nothing.
"""

from __future__ import annotations

from typing import Final

from coordinator.plan.orders.specs import DeliveryOrder

SHIP_PREFIX: Final = "ship."
TRANSFER_PREFIX: Final = "t."
SERVICE_S: Final = 120.0
READY_TO_SHIP: Final = frozenset({"reserved", "produced", "qc_passed", "at_warehouse"})
STOP_FACTS: Final = {
    "stop_arrived": "picked_up",
    "stop_delivered": "delivered",
    "stop_failed": "delivery_failed",
}


def delivery_id(order_id: str) -> str:
    """The route planner's delivery of an order: `ship.{order id}`."""
    return f"{SHIP_PREFIX}{order_id}"


def order_of_delivery(stop_id: str) -> str:
    """The order a delivery (route stop) id ships (empty for other stops)."""
    return stop_id[len(SHIP_PREFIX) :] if stop_id.startswith(SHIP_PREFIX) else ""


def job_of_transfer(transfer_id: str) -> str:
    """The production job whose units a transfer carries (empty for other transfers)."""
    return transfer_id[len(TRANSFER_PREFIX) :] if transfer_id.startswith(TRANSFER_PREFIX) else ""


def stop_fact(event_name: str) -> str | None:
    """The order fact a vehicle's stop event is (None for other events)."""
    return STOP_FACTS.get(event_name)


def customer_delivery(
    order_id: str,
    *,
    lat: float,
    lon: float,
    units: int,
    promised_ms: int,
    now_ms: int,
    service_s: float = SERVICE_S,
    windowed: bool = True,
    depot_id: str | None = None,
) -> DeliveryOrder:
    """The delivery that takes an order's `units` to the customer, delivered by the promise:
    its service starts `service_s` before it at the latest (the customer's promise is
    kept when the goods are handed over, at the end of the service, and routes and
    dispatch bind the start). Due by then (`windowed`, while that is ahead), else as soon as
    a van can (promised still, so it leaves with the next van rather than waiting for
    company); loaded at `depot_id` (None: any depot)."""
    start_by_ms = promised_ms - round(service_s * 1000)
    return DeliveryOrder(
        id=delivery_id(order_id),
        x=0.0,
        y=0.0,
        demand=units,
        due_ms=start_by_ms if windowed and start_by_ms > now_ms else None,
        service_s=service_s,
        lat=lat,
        lon=lon,
        depot_id=depot_id,
        promised_ms=start_by_ms,
    )


__all__ = [
    "READY_TO_SHIP",
    "SERVICE_S",
    "customer_delivery",
    "delivery_id",
    "job_of_transfer",
    "order_of_delivery",
    "stop_fact",
]
