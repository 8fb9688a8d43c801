"""The facts the shop floor and the warehouses report, as the job tracker reads them.

Ingest turns wire messages into these values (`coordinator.ingest.progress`); everything
downstream (progress, quality, re-planning, receipts) reads only them.

Counters are cumulative per operation: `good` and `scrap` are the units made so far, as a
machine's counters read. A replayed or reordered report therefore carries lower or equal
counts and can never add units twice; a receipt is keyed by its transfer id.

A `FleetFact` is what the sales book and the planner act on once its batch is committed
(a vehicle's stop event, a warehouse's receipt): it is kept in an inbox with the batch and
taken out once acted on, so a coordinator killed in between acts on it at its next start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from protocol.reports import STOP_EVENTS

OperationState = Literal["setup", "run", "paused", "done"]
OPERATION_STATES: Final = ("setup", "run", "paused", "done")


@dataclass(frozen=True, slots=True)
class OperationReport:
    """What a machine said about one operation at `ts_ms`: its state and its counters."""

    site: str
    node: str
    job_id: str
    operation_id: str
    state: OperationState
    good: int
    scrap: int
    ts_ms: int

    def __post_init__(self) -> None:
        if self.state not in OPERATION_STATES:
            raise ValueError(f"unknown operation state {self.state!r}")
        if self.good < 0 or self.scrap < 0:
            raise ValueError("counts cannot be negative")


@dataclass(frozen=True, slots=True)
class Receipt:
    """A warehouse received a transfer: `quantity` units of `sku` against `transfer_id`."""

    site: str
    node: str
    transfer_id: str
    sku: str
    quantity: int
    ts_ms: int

    def __post_init__(self) -> None:
        if self.quantity < 0:
            raise ValueError("a receipt cannot be negative")


RECEIVED: Final = "received"
"""The name of a receipt's fleet fact (the stop events keep their own names)."""
FLEET_FACT_NAMES: Final = (*STOP_EVENTS, RECEIVED)


@dataclass(frozen=True, slots=True)
class FleetFact:
    """A fact of the fleet acted on once committed: a vehicle's stop event (`name` one of
    `protocol.reports.STOP_EVENTS`, `ref` the stop id) or a warehouse's receipt (`name`
    "received", `ref` the transfer id); `node` reported it."""

    site: str
    node: str
    name: str
    ref: str

    def __post_init__(self) -> None:
        if self.name not in FLEET_FACT_NAMES:
            raise ValueError(f"unknown fleet fact {self.name!r}")


__all__ = [
    "FLEET_FACT_NAMES",
    "OPERATION_STATES",
    "RECEIVED",
    "FleetFact",
    "OperationReport",
    "OperationState",
    "Receipt",
]
