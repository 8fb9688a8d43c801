"""Errors of command tracking and the config request, a branch of the coordinator's tree.

    CoordinatorError (coordinator.errors)
    └── CommandError              a command the coordinator cannot send
        ├── InvalidCommand        arguments refused before sending; `field` names the part
        ├── NodeNotReady          the node is offline or lacks the capability
        ├── CommandNotSent        the broker did not take the command
        └── CommandsUnavailable   this coordinator runs without command tracking

The API maps the tree to status codes in one table (`coordinator.api.errors`).
"""

from __future__ import annotations

from coordinator.errors import CoordinatorError


class CommandError(CoordinatorError):
    """Base of the errors of `coordinator.commands`."""


class InvalidCommand(CommandError):
    """Command arguments refused before anything is sent."""

    def __init__(self, reason: str, *, field: str = "") -> None:
        super().__init__(reason)
        self.field = field


class NodeNotReady(CommandError):
    """The node cannot take the command now: offline, or it does not list the command in
    its birth capabilities."""

    def __init__(self, reason: str, *, key: str = "") -> None:
        super().__init__(reason)
        self.key = key


class CommandNotSent(CommandError):
    """The command was recorded but the MQTT client refused to queue it."""

    def __init__(self, reason: str, *, key: str = "") -> None:
        super().__init__(reason)
        self.key = key


class CommandsUnavailable(CommandError):
    """This coordinator runs without command tracking."""


__all__ = [
    "CommandError",
    "CommandNotSent",
    "CommandsUnavailable",
    "InvalidCommand",
    "NodeNotReady",
]
