"""Errors raised by the edge agent.

AgentError                  anything the agent refuses or cannot do
├── ConfigError             a configuration value is missing, mistyped or out of range (`field`, `reason`)
├── OutboxError             the on-disk outbox cannot be used (`path`)
│   └── OutboxFull          no room for an event/stock message even after dropping telemetry
├── DriverError             the southbound device cannot be read (`device`)
├── CommandRejected         a command that is unknown or has invalid arguments (`command`, `reason`)
└── PlanRefused             a plan the device will not carry out (`reason`)
"""

from __future__ import annotations


class AgentError(Exception):
    """Base of every error raised by `edge_agent`."""


class ConfigError(AgentError, ValueError):
    """A configuration value is invalid; `field` is its dotted name, `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class OutboxError(AgentError):
    """The outbox database at `path` cannot be opened or written."""

    def __init__(self, reason: str, *, path: str) -> None:
        super().__init__(f"{reason} ({path})")
        self.reason = reason
        self.path = path


class OutboxFull(OutboxError):
    """An event or stock message of `size` bytes does not fit under the hard limit."""

    def __init__(self, reason: str, *, path: str, size: int, limit: int) -> None:
        super().__init__(reason, path=path)
        self.size = size
        self.limit = limit


class DriverError(AgentError):
    """The device behind a driver could not be read; `device` names it."""

    def __init__(self, reason: str, *, device: str) -> None:
        super().__init__(f"{device}: {reason}")
        self.reason = reason
        self.device = device


class CommandRejected(AgentError):
    """A command the agent will not carry out; `reason` goes back in the nack."""

    def __init__(self, command: str, reason: str) -> None:
        super().__init__(f"{command}: {reason}")
        self.command = command
        self.reason = reason


class PlanRefused(AgentError):
    """A schedule or route the device will not carry out; it keeps its current work."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
