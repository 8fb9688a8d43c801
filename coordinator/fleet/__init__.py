"""The fleet twin: live state of every node and micro-warehouse."""

from coordinator.fleet.fleet_reads import FleetReads, NodeSource, fleet_reads, stored_twin
from coordinator.fleet.node import NodeEntry, NodeKey, apply_stock, restore_tracker
from coordinator.fleet.twin import FleetTwin, record_of
from coordinator.fleet.views import NodeCounters, NodeView, SignalValue, StockItem

__all__ = [
    "FleetReads",
    "FleetTwin",
    "NodeCounters",
    "NodeEntry",
    "NodeKey",
    "NodeSource",
    "NodeView",
    "SignalValue",
    "StockItem",
    "apply_stock",
    "fleet_reads",
    "record_of",
    "restore_tracker",
    "stored_twin",
]
