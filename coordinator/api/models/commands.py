"""Bodies of the command routes (`coordinator.api.routes.commands`): a tracked command,
and the documented `config` request."""

from __future__ import annotations

from typing import Any, Final

import orjson
from pydantic import BaseModel

from coordinator.commands.tracking import CommandState, TrackedCommand
from protocol.config_args import CONFIG_KEYS, MAX_DEADBAND, MAX_INTERVAL_MS, MIN_INTERVAL_MS
from protocol.messages import MAX_SIGNALS
from protocol.topics import NAME_PATTERN


class CommandOut(BaseModel):
    """A command the coordinator sent and what became of it. `args` are as sent, or a
    `{truncated, chars, keys}` summary for big ones (plans); `answered_ms` is when the
    node's answer was taken."""

    cmd_id: str
    site: str
    node: str
    name: str
    args: dict[str, Any]
    sent_ms: int
    state: CommandState
    reason: str
    answered_ms: int | None

    @classmethod
    def of(cls, c: TrackedCommand) -> CommandOut:
        """From a tracked command."""
        return cls(
            cmd_id=c.cmd_id,
            site=c.site,
            node=c.node,
            name=c.name,
            args=dict(orjson.loads(c.args)),
            sent_ms=c.sent_ms,
            state=c.state,
            reason=c.reason,
            answered_ms=c.answered_ms,
        )


_DEADBAND: Final = {"type": "number", "minimum": 0, "maximum": MAX_DEADBAND}
_PROPERTIES: Final[dict[str, dict[str, Any]]] = {
    "sampling_interval_ms": {
        "type": "integer",
        "minimum": MIN_INTERVAL_MS,
        "maximum": MAX_INTERVAL_MS,
        "description": "Sampling interval in ms",
    },
    "default_deadband": {**_DEADBAND, "description": "Deadband of signals not in deadbands"},
    "deadbands": {
        "type": "object",
        "maxProperties": MAX_SIGNALS,
        "propertyNames": {"pattern": NAME_PATTERN},
        "additionalProperties": _DEADBAND,
        "description": "Deadband per signal (signals the node announced)",
    },
    "detectors": {
        "type": "object",
        "description": "Detector settings, merged over the node's current ones",
    },
}
CONFIG_REQUEST_SCHEMA: Final[dict[str, Any]] = {
    "title": "ConfigIn",
    "type": "object",
    "minProperties": 1,
    "additionalProperties": False,
    "properties": {key: _PROPERTIES[key] for key in CONFIG_KEYS},
}
"""The JSON schema of a `config` body, for the OpenAPI document (the route checks the
body with `protocol.check_config_args`)."""

__all__ = ["CONFIG_REQUEST_SCHEMA", "CommandOut"]
