"""An operator's `config` for one node: checked, addressed and sent through the `CommandLog`.

The coordinator checks what it can without knowing the node's signals (the shape and
bounds of `protocol.config_args`), that the node exists, is online and lists `config` in
its birth capabilities; the node checks the rest and answers ok or a nack with its reason.
"""

from __future__ import annotations

from coordinator.commands.errors import InvalidCommand, NodeNotReady
from coordinator.commands.log import CommandLog
from coordinator.commands.tracking import TrackedCommand
from coordinator.fleet.twin import FleetTwin
from protocol import CONFIG_COMMAND, EncodeError, InvalidMessage, check_config_args


def send_config(
    *, twin: FleetTwin, commands: CommandLog, node: str, site: str | None, args: object
) -> TrackedCommand:
    """Send `args` as a `config` command to `node` (of `site`, needed when the id exists
    at several sites); the recorded command.

    Raises `InvalidCommand` (arguments), `NotFound` / `InvalidQuery` (node), `NodeNotReady`
    (offline, or no `config` capability) and `CommandNotSent` (MQTT client).
    """
    try:
        check_config_args(args)
    except InvalidMessage as exc:
        raise InvalidCommand(exc.reason, field=exc.field) from None
    assert isinstance(args, dict)  # check_config_args accepted an object; JSON makes dicts
    view = twin.node(node, site=site)
    where = f"{view.site}/{view.node}"
    if not view.online:
        why = view.offline_reason or "no birth seen"
        raise NodeNotReady(f"node {where} is offline ({why}): it cannot take config now", key=where)
    if CONFIG_COMMAND not in view.capabilities:
        raise NodeNotReady(
            f"node {where} does not take config commands (not in its birth capabilities)",
            key=where,
        )
    try:
        return commands.send(site=view.site, node=view.node, name=CONFIG_COMMAND, args=args)
    except InvalidMessage as exc:  # nested too deep, a key too long, a value not JSON
        raise InvalidCommand(exc.reason, field=exc.field) from None
    except EncodeError as exc:
        raise InvalidCommand(exc.reason, field="body") from None


__all__ = ["send_config"]
