"""Commands to nodes: sent through one `CommandLog`, recorded, matched to their acks,
expired when unanswered; the `config` request of the operators' API.

See `coordinator.commands.tracking` for the rules and `coordinator.commands.errors` for
the exception tree.
"""

from coordinator.commands.errors import (
    CommandError,
    CommandNotSent,
    CommandsUnavailable,
    InvalidCommand,
    NodeNotReady,
)
from coordinator.commands.log import MAX_COMMAND_ROWS, CommandLog, new_cmd_id
from coordinator.commands.port import CommandStore, MemoryCommandStore
from coordinator.commands.tracking import STATES, CommandState, TrackedCommand

__all__ = [
    "MAX_COMMAND_ROWS",
    "STATES",
    "CommandError",
    "CommandLog",
    "CommandNotSent",
    "CommandState",
    "CommandStore",
    "CommandsUnavailable",
    "InvalidCommand",
    "MemoryCommandStore",
    "NodeNotReady",
    "TrackedCommand",
    "new_cmd_id",
]
