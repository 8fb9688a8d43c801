"""What ingest saw, mapped to planning inputs (pure: values in, values out).

`TriggerMapper.map(outcome)` reads one committed ingest batch and returns what the planner
must hear about:

- `MachineSeen`: a node that announced itself as a machine (birth `node_kind: machine`)
  joins the factory. Machine ids in plans are node ids.
- `DepotSeen`: a micro-warehouse (birth `node_kind: warehouse`) may be declared a depot of
  the delivery fleet; depot ids are node ids.
- `MachineDown` / `MachineUp`: a machine is unavailable while it reports the DOWN state
  (a `state_change` event whose `data.to` is "DOWN", or the telemetry signal `state` = 3,
  the PLC register of `firmware_sim.registers`) or while its node is offline (death, or
  silent past its inactivity timeout). Either cause makes it
  down; it is up again when neither holds. Only the net change over a batch is reported,
  so a node that dies and is reborn within one batch does not flap the plan.
- `StockoutRisk`: a SKU at a micro-warehouse fell below its threshold (the same
  thresholds as the low-stock alarm). It is reported once per fall; it re-arms when the
  stock is back at or above the threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from coordinator.ingest.records import (
    AgentEvent,
    BatchOutcome,
    NodeCameOnline,
    NodeWentOffline,
    StockChanged,
)
from protocol import Birth

__all__ = [
    "DOWN_STATE_CODES",
    "STATE_EVENT",
    "STATE_SIGNAL",
    "DepotSeen",
    "MachineDown",
    "MachineSeen",
    "MachineUp",
    "PlanInput",
    "StockoutRisk",
    "TriggerMapper",
    "VehicleSeen",
]

STATE_SIGNAL: Final = "state"
STATE_EVENT: Final = "state_change"
DOWN_STATE_CODES: Final = frozenset({3.0})  # firmware_sim.registers: 0 IDLE 1 SETUP 2 RUN 3 DOWN


@dataclass(frozen=True, slots=True)
class MachineSeen:
    """A machine node the planner did not know."""

    site: str
    node: str


@dataclass(frozen=True, slots=True)
class DepotSeen:
    """A micro-warehouse node the planner did not know."""

    site: str
    node: str


@dataclass(frozen=True, slots=True)
class VehicleSeen:
    """A vehicle node (birth `node_kind: vehicle`): its route goes to it, not its depot."""

    site: str
    node: str


@dataclass(frozen=True, slots=True)
class MachineDown:
    """A machine stopped; `causes` are "state" (it reports DOWN) and/or "offline"."""

    site: str
    node: str
    causes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MachineUp:
    """A machine that was down works again."""

    site: str
    node: str


@dataclass(frozen=True, slots=True)
class StockoutRisk:
    """`sku` at warehouse `node` fell below `threshold`."""

    site: str
    node: str
    sku: str
    qty: int
    threshold: int


PlanInput = MachineSeen | DepotSeen | VehicleSeen | MachineDown | MachineUp | StockoutRisk


class TriggerMapper:
    """Keeps which machines are known and down, and which SKUs are low, across batches.

    Not thread-safe: one ingest commit thread calls it.
    """

    def __init__(self, *, stock_threshold_for: Callable[[str], int | None]) -> None:
        self._threshold_for = stock_threshold_for
        self._machines: set[tuple[str, str]] = set()
        self._warehouses: set[tuple[str, str]] = set()
        self._vehicles: set[tuple[str, str]] = set()
        self._causes: dict[tuple[str, str], set[str]] = {}
        self._low: set[tuple[str, str, str]] = set()

    def restore(self, nodes: Iterable[tuple[str, str, str, bool]]) -> list[PlanInput]:
        """Nodes known from the store as (site, node, kind, online); offline machines start
        down."""
        before = self._down_now()
        seen: list[PlanInput] = []
        for site, node, kind, online in nodes:
            seen.extend(self._see(site, node, kind))
            if kind == "machine":
                self._set_cause((site, node), "offline", not online)
        return seen + self._transitions(before)

    def map(self, outcome: BatchOutcome) -> list[PlanInput]:
        """The planning inputs of one committed ingest batch."""
        before = self._down_now()
        inputs: list[PlanInput] = []
        for accepted in outcome.batch.accepted:
            message = accepted.message
            if isinstance(message, Birth):
                inputs.extend(self._see(message.site, message.node, message.node_kind))
        for happening in outcome.happenings:
            if isinstance(happening, NodeWentOffline | NodeCameOnline):
                key = (happening.site, happening.node)
                if key in self._machines:
                    self._set_cause(key, "offline", isinstance(happening, NodeWentOffline))
            elif isinstance(happening, StockChanged):
                inputs.extend(self._stock(happening))
            elif isinstance(happening, AgentEvent) and happening.event.name == STATE_EVENT:
                event = happening.event
                key = (event.site, event.node)
                if key in self._machines and "to" in event.data:
                    self._set_cause(key, "state", event.data["to"] == "DOWN")
        for site, node, values in outcome.batch.latest:
            reading = values.get(STATE_SIGNAL)
            if reading is not None and (site, node) in self._machines:
                self._set_cause((site, node), "state", reading[1] in DOWN_STATE_CODES)
        return inputs + self._transitions(before)

    def _see(self, site: str, node: str, kind: str) -> list[PlanInput]:
        if kind == "machine" and (site, node) not in self._machines:
            self._machines.add((site, node))
            return [MachineSeen(site, node)]
        if kind == "warehouse" and (site, node) not in self._warehouses:
            self._warehouses.add((site, node))
            return [DepotSeen(site, node)]
        if kind == "vehicle" and (site, node) not in self._vehicles:
            self._vehicles.add((site, node))
            return [VehicleSeen(site, node)]
        return []

    def _set_cause(self, key: tuple[str, str], cause: str, on: bool) -> None:
        causes = self._causes.setdefault(key, set())
        if on:
            causes.add(cause)
        else:
            causes.discard(cause)

    def _down_now(self) -> dict[tuple[str, str], tuple[str, ...]]:
        return {key: tuple(sorted(c)) for key, c in self._causes.items() if c}

    def _transitions(self, before: dict[tuple[str, str], tuple[str, ...]]) -> list[PlanInput]:
        after = self._down_now()
        went_down: list[PlanInput] = [
            MachineDown(site, node, causes)
            for (site, node), causes in sorted(after.items())
            if (site, node) not in before
        ]
        came_up: list[PlanInput] = [
            MachineUp(site, node) for (site, node) in sorted(before) if (site, node) not in after
        ]
        return went_down + came_up

    def _stock(self, change: StockChanged) -> list[PlanInput]:
        threshold = self._threshold_for(change.sku)
        key = (change.site, change.node, change.sku)
        if threshold is None or change.qty >= threshold:
            self._low.discard(key)
            return []
        if key in self._low:
            return []
        self._low.add(key)
        return [StockoutRisk(change.site, change.node, change.sku, change.qty, threshold)]
