"""Errors of the sales package.

    CoordinatorError (coordinator.errors)
    └── SalesError                anything the sales book refuses
        ├── OrderInvalid          an order or network that cannot be taken (`field` names it)
        ├── OrderConflict         an id reused with other content, or a change the status refuses
        └── SalesUnavailable      this coordinator takes no sales orders

The pure modules raise `ValueError`s with a `field` (`NetworkError`, `PromiseError`,
`TransitionRefused`); the book translates them into this tree.
"""

from __future__ import annotations

from coordinator.errors import CoordinatorError


class SalesError(CoordinatorError):
    """Base of what the sales book refuses; `field` names the offending part, if any."""

    def __init__(self, reason: str, *, field: str = "") -> None:
        super().__init__(reason)
        self.field = field


class OrderInvalid(SalesError):
    """An order (or network document) that cannot be taken."""


class OrderConflict(SalesError):
    """An order id already used with other content, or a change its status refuses."""


class SalesUnavailable(SalesError):
    """The coordinator runs without a sales book."""


__all__ = ["OrderConflict", "OrderInvalid", "SalesError", "SalesUnavailable"]
