"""Errors raised by the notification channels, a branch of the coordinator's tree.

    CoordinatorError (coordinator.errors)
    └── NotifyError               a channel refuses
        └── TooManySubscribers    the SSE broadcaster is at its listener limit

The API maps the tree to status codes in one table (`coordinator.api.errors`).
"""

from __future__ import annotations

from coordinator.errors import CoordinatorError


class NotifyError(CoordinatorError):
    """Base of the notification channels' errors."""


class TooManySubscribers(NotifyError):
    """No room for another live event stream; `limit` is the configured maximum."""

    def __init__(self, reason: str, *, limit: int) -> None:
        super().__init__(reason)
        self.limit = limit
