"""Errors of command tracking and the config request.

CoordinatorError (coordinator.errors)
└── CommandError              a command the coordinator cannot send
    ├── InvalidCommand        arguments refused before sending (422); `field` names the part
    ├── NodeNotReady          the node is offline or lacks the capability (409)
    └── CommandNotSent        the broker did not take the command (503)
"""

from __future__ import annotations

from coordinator.errors import CoordinatorError


class CommandError(CoordinatorError):
    """Base of the errors of `coordinator.commands`."""


class InvalidCommand(CommandError):
    """Command arguments refused before anything is sent."""

    http_status = 422

    def __init__(self, reason: str, *, field: str = "") -> None:
        super().__init__(reason)
        self.field = field


class NodeNotReady(CommandError):
    """The node cannot take the command now: offline, or it does not list the command in
    its birth capabilities."""

    http_status = 409

    def __init__(self, reason: str, *, key: str = "") -> None:
        super().__init__(reason)
        self.key = key


class CommandNotSent(CommandError):
    """The command was recorded but the MQTT client refused to queue it."""

    http_status = 503

    def __init__(self, reason: str, *, key: str = "") -> None:
        super().__init__(reason)
        self.key = key


__all__ = ["CommandError", "CommandNotSent", "InvalidCommand", "NodeNotReady"]
