"""`/api/v1/commands`: the commands the coordinator sent to nodes and their answers
(viewer), and `POST /api/v1/nodes/{node}/config`: an admin's live settings for one node.
A site-scoped caller sees and configures only its sites' nodes and commands (404 else).

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
    AdminDep,
    CommandIdPath,
    CommandsDep,
    IdQuery,
    NodePath,
    ScopeDep,
    TwinDep,
    ViewerDep,
)
from coordinator.api.errors import BodyTooLarge
from coordinator.api.models.commands import CONFIG_REQUEST_SCHEMA, CommandOut
from coordinator.api.problems import (
    COMMAND_REJECTED,
    PROBLEM_MEDIA_TYPE,
    problem_body,
    problem_responses,
)
from coordinator.api.site_scope import scoped_node
from coordinator.commands import CommandState, InvalidCommand
from coordinator.commands.config_request import send_config
from coordinator.errors import NotFound

router = APIRouter(tags=["commands"])

MAX_CONFIG_BODY_BYTES: Final = 64 * 1024
MAX_WAIT_S: Final = 30.0
_STATUS_OF_STATE: Final[dict[str, int]] = {"ok": 200}


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
        args = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidCommand(f"body is not JSON: {exc}"[:300], field="body") from None
    # JSON Schema's integer includes 500.0; the wire takes it as the integer it is.
    interval = args.get("sampling_interval_ms") if isinstance(args, dict) else None
    if isinstance(interval, float) and interval.is_integer():
        args["sampling_interval_ms"] = int(interval)
    return args


@router.post(
    "/api/v1/nodes/{node}/config",
    summary="Change a node's live settings",
    response_model=CommandOut,
    responses={
        202: {"model": CommandOut, "description": "Sent, no answer within wait_s"},
        **problem_responses(
            404,
            409,
            413,
            422,
            503,
            s404="Unknown node",
            s409="Node offline, or it does not take config commands",
            s413="Body over 64 KiB",
            s422="Arguments refused here (`invalid-request`), or rejected by the node"
            " (`command-rejected`, with the node's reason and the command's members)",
            s503="Command tracking not running, or the broker did not take the command",
        ),
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
    _who: AdminDep,
    scope: ScopeDep,
    site: IdQuery | None = None,
    wait_s: Annotated[float, Query(ge=0, le=MAX_WAIT_S)] = 5.0,
) -> JSONResponse:
    """Send a `config` command (sampling interval, deadbands, detector settings) and wait
    up to `wait_s` for the node's answer.

    Rules beyond the schema: the node is known (404 `not-found`); `site` is given when the
    node id exists at several sites (422 `invalid-request`); the node is online and lists
    `config` in its capabilities (409 `conflict`); `deadbands` name signals the node
    announced, and the node may still refuse the settings (422 `command-rejected`, with its
    reason in `detail` and the command's members)."""
    args = _json(await _bounded_body(request, MAX_CONFIG_BODY_BYTES))
    if not scope.covers_all:
        site = scoped_node(twin, node, site, scope).site
    sent = await run_in_threadpool(
        lambda: send_config(twin=twin, commands=commands, node=node, site=site, args=args)
    )
    final = await run_in_threadpool(lambda: commands.wait(sent.cmd_id, timeout_s=wait_s))
    body: dict[str, Any] = CommandOut.of(final).model_dump()
    if final.state == "rejected":
        problem = problem_body(COMMAND_REJECTED, final.reason, error="CommandRejected")
        return JSONResponse(
            status_code=COMMAND_REJECTED.status,
            content={**problem, **body},
            media_type=PROBLEM_MEDIA_TYPE,
        )
    return JSONResponse(status_code=_STATUS_OF_STATE.get(final.state, 202), content=body)


@router.get("/api/v1/commands", summary="List tracked commands", response_model=list[CommandOut])
def list_commands(
    commands: CommandsDep,
    _who: ViewerDep,
    scope: ScopeDep,
    site: IdQuery | None = None,
    node: IdQuery | None = None,
    state: CommandState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[CommandOut]:
    """Commands sent to nodes (rebirth, config, schedule, route), newest first."""
    if scope.covers_all:
        found = commands.query(site=site, node=node, state=state, limit=limit)
    else:
        wanted = sorted(scope.sites or ()) if site is None else [site]
        found = [
            c
            for one in wanted
            if scope.covers(one)
            for c in commands.query(site=one, node=node, state=state, limit=limit)
        ]
        found.sort(key=lambda c: (c.sent_ms, c.cmd_id), reverse=True)
    return [CommandOut.of(c) for c in found[:limit]]


@router.get(
    "/api/v1/commands/{cmd_id}",
    summary="One tracked command",
    response_model=CommandOut,
    responses=problem_responses(404),
)
def get_command(
    cmd_id: CommandIdPath,
    commands: CommandsDep,
    _who: ViewerDep,
    scope: ScopeDep,
) -> CommandOut:
    """One command and its answer (404 if unknown, past retention or of another site)."""
    command = commands.get(cmd_id)
    if not scope.covers(command.site):
        raise NotFound("command", cmd_id)
    return CommandOut.of(command)


__all__ = ["MAX_CONFIG_BODY_BYTES", "router"]
