"""Errors raised by the simulated devices.

SimError                 anything the simulators refuse
├── SimConfigError       a parameter out of range (`field`, `reason`)
└── DeviceServerError    the Modbus TCP server could not start or serve (`host`, `port`)
"""

from __future__ import annotations


class SimError(Exception):
    """Base of every error raised by `firmware_sim`."""


class SimConfigError(SimError, ValueError):
    """A simulator parameter is invalid; `field` names it and `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class DeviceServerError(SimError):
    """The simulated device's Modbus TCP server failed on `host`:`port`."""

    def __init__(self, reason: str, *, host: str, port: int) -> None:
        super().__init__(f"{reason} ({host}:{port})")
        self.reason = reason
        self.host = host
        self.port = port
