"""The southbound port: what the agent needs from a device, whatever protocol it speaks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from protocol import SignalSpec


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """Something the device reported besides values (a state change, a fault).

    `state` "raised" opens the alarm of (node, `name`) at the coordinator and "cleared"
    closes it (an event that clears nothing open is only recorded); None is a one-off
    alarm of its own."""

    name: str
    severity: str = "INDETERMINATE"
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    state: Literal["raised", "cleared"] | None = None


@dataclass(frozen=True, slots=True)
class Reading:
    """One poll of a device: values, stock moves since the last poll, and events.

    `picks` holds units picked for orders per SKU (sales, positive); `stock_changes` every
    other signed change (receipts). They are kept apart so sales survive a receipt of the
    same SKU in the same poll (a receipt first serves waiting backorders). `receipts` are
    transfers received, by transfer id (each sent once as a stock delta naming it).
    `retained` is the device's state after this poll when it changed (None otherwise): the
    agent stores it with this poll's events, in one transaction (`edge_agent.execution`).
    """

    values: tuple[tuple[str, float], ...]
    stock_changes: dict[str, int] = field(default_factory=dict)
    picks: dict[str, int] = field(default_factory=dict)
    events: tuple[DeviceEvent, ...] = ()
    receipts: dict[str, dict[str, int]] = field(default_factory=dict)
    retained: dict[str, Any] | None = None


class Driver(Protocol):
    """A device the agent polls. `read` raises `DriverError` when the device is unreachable."""

    name: str

    def signals(self) -> tuple[SignalSpec, ...]:
        """Every signal the device reports (announced in the birth)."""
        ...

    def read(self, now_s: float) -> Reading:
        """Poll the device at wall time `now_s`."""
        ...

    def stock_levels(self) -> dict[str, int] | None:
        """Current stock per SKU, for devices that hold stock (else None)."""
        ...

    def mode_signals(self) -> dict[str, str]:
        """Signals whose normal depends on the device's operating mode, each with the state
        signal that selects the mode; their statistical detectors learn per mode
        (`edge_agent.modes`)."""
        ...

    def stepped_signals(self) -> frozenset[str]:
        """Signals that move in whole steps (state codes, counters, stock totals); their
        detectors default to `edge_agent.detection.STEPPED_DEFAULTS`."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
