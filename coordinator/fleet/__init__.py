"""The fleet twin: live state of every node and micro-warehouse."""

from coordinator.fleet.node import NodeEntry, NodeKey, apply_stock, restore_tracker
from coordinator.fleet.twin import FleetTwin, record_of
from coordinator.fleet.views import NodeCounters, NodeView, SignalValue, StockItem

__all__ = [
    "FleetTwin",
    "NodeCounters",
    "NodeEntry",
    "NodeKey",
    "NodeView",
    "SignalValue",
    "StockItem",
    "apply_stock",
    "record_of",
    "restore_tracker",
]
