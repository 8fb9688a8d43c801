"""Errors of the stock package.

CoordinatorError (coordinator.errors)
└── StockError                anything the stock side refuses (`field` names the part)
    ├── StreamInvalid         a live stream that cannot be taken (422)
    ├── StreamConflict        a change to a stream that has already started (409)
    ├── StreamsUnavailable    this coordinator keeps no live streams (503)
    └── PlanInvalid           a stock placement problem or policy that cannot be planned (422)
"""

from __future__ import annotations

from coordinator.errors import CoordinatorError


class StockError(CoordinatorError):
    """Base of what the stock side refuses; `field` names the offending part, if any."""

    def __init__(self, reason: str, *, field: str = "") -> None:
        super().__init__(reason)
        self.field = field


class StreamInvalid(StockError):
    """A live stream that cannot be taken: in the past, too long, unknown SKUs, ..."""


class StreamConflict(StockError):
    """A change to a live stream that has already started (it is kept as it was)."""


class StreamsUnavailable(StockError):
    """The coordinator runs without a live-stream book."""


class PlanInvalid(StockError):
    """A stock placement problem or policy that cannot be planned (`field` names the part)."""


__all__ = ["PlanInvalid", "StockError", "StreamConflict", "StreamInvalid", "StreamsUnavailable"]
