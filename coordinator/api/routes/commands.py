"""`/api/v1/commands`: the commands the coordinator sent to nodes and their answers
(viewer), and `POST /api/v1/nodes/{node}/config`: an operator's live settings for one node.

The config route reads its body itself, at most `MAX_CONFIG_BODY_BYTES`, so a hostile body
is refused before it is parsed; it then sends the command and waits up to `wait_s` for
the node's answer: 200 ok, 422 rejected (with the node's reason), 202 not answered yet
(follow it at `GET /api/v1/commands/{cmd_id}`).
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from coordinator.api.deps import (
    CommandIdPath,
    CommandsDep,
    IdQuery,
    NodePath,
    OperatorDep,
    TwinDep,
    ViewerDep,
)
from coordinator.api.errors import BodyTooLarge
from coordinator.api.models.commands import CONFIG_REQUEST_SCHEMA, CommandOut
from coordinator.commands import CommandState, InvalidCommand
from coordinator.commands.config_request import send_config

router = APIRouter(tags=["commands"])

MAX_CONFIG_BODY_BYTES: Final = 64 * 1024
MAX_WAIT_S: Final = 30.0
_STATUS_OF_STATE: Final[dict[str, int]] = {"ok": 200, "rejected": 422}


async def _bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"request body of {declared} bytes exceeds {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(f"request body exceeds {limit} bytes")
    return bytes(body)


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidCommand(f"body is not JSON: {exc}"[:300], field="body") from None


@router.post(
    "/api/v1/nodes/{node}/config",
    summary="Change a node's live settings",
    response_model=CommandOut,
    responses={
        202: {"model": CommandOut, "description": "Sent, no answer within wait_s"},
        404: {"description": "Unknown node"},
        409: {"description": "Node offline, or it does not take config commands"},
        413: {"description": "Body over 64 KiB"},
        422: {"description": "Arguments refused here, or rejected by the node (with reason)"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": CONFIG_REQUEST_SCHEMA}},
        }
    },
)
async def post_config(
    node: NodePath,
    request: Request,
    twin: TwinDep,
    commands: CommandsDep,
    _who: OperatorDep,
    site: IdQuery | None = None,
    wait_s: Annotated[float, Query(ge=0, le=MAX_WAIT_S)] = 5.0,
) -> JSONResponse:
    """Send a `config` command (sampling interval, deadbands, detector settings) and wait
    up to `wait_s` for the node's answer."""
    args = _json(await _bounded_body(request, MAX_CONFIG_BODY_BYTES))
    sent = await run_in_threadpool(
        lambda: send_config(twin=twin, commands=commands, node=node, site=site, args=args)
    )
    final = await run_in_threadpool(lambda: commands.wait(sent.cmd_id, timeout_s=wait_s))
    body: dict[str, Any] = CommandOut.of(final).model_dump()
    if final.state == "rejected":
        body.update(detail=final.reason, error="CommandRejected")
    return JSONResponse(status_code=_STATUS_OF_STATE.get(final.state, 202), content=body)


@router.get("/api/v1/commands", summary="List tracked commands", response_model=list[CommandOut])
def list_commands(
    commands: CommandsDep,
    _who: ViewerDep,
    site: IdQuery | None = None,
    node: IdQuery | None = None,
    state: CommandState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[CommandOut]:
    """Commands sent to nodes (rebirth, config, schedule, route), newest first."""
    found = commands.query(site=site, node=node, state=state, limit=limit)
    return [CommandOut.of(c) for c in found]


@router.get("/api/v1/commands/{cmd_id}", summary="One tracked command", response_model=CommandOut)
def get_command(
    cmd_id: CommandIdPath,
    commands: CommandsDep,
    _who: ViewerDep,
) -> CommandOut:
    """One command and its answer (404 if unknown or past retention)."""
    return CommandOut.of(commands.get(cmd_id))


__all__ = ["MAX_CONFIG_BODY_BYTES", "router"]
