"""Errors raised by the notification channels, a branch of the coordinator's tree.

    CoordinatorError (coordinator.errors)
    └── NotifyError               a channel refuses
        └── TooManySubscribers    the SSE broadcaster is at its listener limit   HTTP 503

Each class names its HTTP status in `http_status` for the API's one error handler.
"""

from __future__ import annotations

from typing import ClassVar

from coordinator.errors import CoordinatorError


class NotifyError(CoordinatorError):
    """Base of the notification channels' errors."""

    http_status: ClassVar[int] = 400


class TooManySubscribers(NotifyError):
    """No room for another live event stream; `limit` is the configured maximum."""

    http_status: ClassVar[int] = 503

    def __init__(self, reason: str, *, limit: int) -> None:
        super().__init__(reason)
        self.limit = limit
