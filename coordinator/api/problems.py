"""The API's one error format, RFC 9457 Problem Details (`application/problem+json`), and
its place in the OpenAPI document.

Every error answer, validation errors included, is a `Problem`:

    {"type": "urn:flexfleet:problem:not-found", "title": "Not found", "status": 404,
     "detail": "node 'm9' not found", "error": "NotFound", "field": null, ...}

`type` names the problem type (a URN: a name, not a page to fetch), `title` is the same for
every problem of that type, `detail` says what happened this time. `error` (the error
class) and `field` (the offending input as a path such as `jobs[0].id`, else null) are the
project's own members, kept from its earlier error bodies; `resource`, `key`, `parameter`
and `alarm_id` appear when the error carries them, and a validation problem lists every
failed rule in `errors`.

The document declares `Problem` once, as a component; `problem_responses` is what a route
passes as `responses=` for the statuses it answers itself, and `document_problems` adds the
rest to every operation: 422 wherever FastAPI validates a parameter or body, and the
statuses of the dependencies the route uses (`coordinator.api.deps.DEPENDENCY_PROBLEMS`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
TYPE_PREFIX: Final = "urn:flexfleet:problem:"


@dataclass(frozen=True, slots=True)
class ProblemType:
    """One kind of problem: its `type` URN suffix, its `title`, its HTTP status."""

    name: str
    title: str
    status: int

    @property
    def uri(self) -> str:
        """The `type` member."""
        return TYPE_PREFIX + self.name


BAD_REQUEST: Final = ProblemType("bad-request", "Request refused", 400)
UNAUTHORIZED: Final = ProblemType("unauthorized", "Authentication required", 401)
FORBIDDEN: Final = ProblemType("forbidden", "Role not sufficient", 403)
NOT_FOUND: Final = ProblemType("not-found", "Not found", 404)
METHOD_NOT_ALLOWED: Final = ProblemType("method-not-allowed", "Method not allowed", 405)
CONFLICT: Final = ProblemType("conflict", "Not possible in the current state", 409)
BODY_TOO_LARGE: Final = ProblemType("body-too-large", "Request body too large", 413)
TOO_MANY_REQUESTS: Final = ProblemType("too-many-requests", "Too many writes", 429)
VALIDATION_FAILED: Final = ProblemType(
    "validation-failed", "Request does not match the schema", 422
)
INVALID_REQUEST: Final = ProblemType("invalid-request", "Request cannot be answered", 422)
ORDER_REJECTED: Final = ProblemType("order-rejected", "Refused by the planner", 422)
COMMAND_REJECTED: Final = ProblemType("command-rejected", "Rejected by the node", 422)
SERVER_ERROR: Final = ProblemType("server-error", "Internal error", 500)
UNAVAILABLE: Final = ProblemType("unavailable", "Service part unavailable", 503)

PROBLEM_TYPES: Final = (
    BAD_REQUEST,
    UNAUTHORIZED,
    FORBIDDEN,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    CONFLICT,
    BODY_TOO_LARGE,
    TOO_MANY_REQUESTS,
    VALIDATION_FAILED,
    INVALID_REQUEST,
    ORDER_REJECTED,
    COMMAND_REJECTED,
    SERVER_ERROR,
    UNAVAILABLE,
)
"""Every problem type the API answers with (listed in docs/api.md)."""

_GENERIC: Final[Mapping[int, ProblemType]] = {
    400: BAD_REQUEST,
    401: UNAUTHORIZED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    409: CONFLICT,
    413: BODY_TOO_LARGE,
    422: INVALID_REQUEST,
    429: TOO_MANY_REQUESTS,
    500: SERVER_ERROR,
    503: UNAVAILABLE,
}


class FailedRule(BaseModel):
    """One rule a request broke: where (`loc`), what (`msg`) and which rule (`type`)."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An error answer (RFC 9457 Problem Details, plus `error` and `field`)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})

    type: str = Field(description="The problem type, a URN `urn:flexfleet:problem:<name>`")
    title: str = Field(description="The problem type's summary (the same for every instance)")
    status: int = Field(ge=400, le=599, description="The HTTP status code")
    detail: str = Field(description="What went wrong this time")
    error: str = Field(description="The error class, e.g. `NotFound`, `OrderRejected`")
    field: str | None = Field(
        default=None, description="The offending input (`jobs[0].id`, `limit`), if one"
    )
    errors: list[FailedRule] | None = Field(
        default=None, description="Every rule the request broke (validation problems only)"
    )


def problem_body(
    kind: ProblemType,
    detail: str,
    *,
    error: str,
    field: str | None = None,
    status: int | None = None,
    **extra: object,
) -> dict[str, Any]:
    """The JSON members of one problem."""
    body: dict[str, Any] = {
        "type": kind.uri,
        "title": kind.title,
        "status": kind.status if status is None else status,
        "detail": detail,
        "error": error,
        "field": field,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def generic_type(status: int) -> ProblemType:
    """The problem type of a status answered outside the error tree (routing, auth)."""
    return _GENERIC.get(status, BAD_REQUEST if status < 500 else SERVER_ERROR)


_STATUS_TEXT: Final[Mapping[int, str]] = {
    400: "A body that cannot be decoded (not UTF-8 JSON)",
    401: "No token, an unknown token, or the API is closed",
    403: "The token's role may not do this",
    404: "An unknown id, or a part this coordinator runs without",
    409: "Not possible in the current state",
    413: "Request body over the route's limit",
    429: "Too many writes with this token; retry after `Retry-After` seconds",
    422: "Request refused: it breaks the schema, or a rule named in the description",
    503: "A part of the service is unavailable (not running, store or broker failing)",
}


def _response(status: int, description: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": description or _STATUS_TEXT.get(status, "Error"),
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status == TOO_MANY_REQUESTS.status:
        out["headers"] = {
            "Retry-After": {
                "description": "Seconds until this token may write again",
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    return out


def problem_responses(*statuses: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route for the statuses it answers itself; a description for a
    status can be given as `s409="..."`."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        out[status] = _response(status, described.get(f"s{status}"))
    return out


WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""Methods that write: rate limited per token and audited (`coordinator.api.guard`)."""


def _dependency_calls(dependant: Dependant) -> Iterable[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _dependency_calls(sub)


def _route_statuses(
    route: Any, by_dependency: Mapping[Callable[..., Any], tuple[int, ...]]
) -> set[int]:
    statuses: set[int] = set()
    for call in _dependency_calls(route.dependant):
        statuses.update(by_dependency.get(call, ()))
    dependant = route.dependant
    if dependant.path_params or dependant.query_params or dependant.body_params:
        statuses.add(422)
    if dependant.body_params:
        statuses.add(400)  # a body that is not decodable at all
    if set(route.methods or ()) & WRITE_METHODS:
        statuses.update((413, 429))  # the request guard: body size, writes per token
    return statuses


def document_problems(
    app: FastAPI, by_dependency: Mapping[Callable[..., Any], tuple[int, ...]]
) -> None:
    """Make `app.openapi()` declare `Problem` once and reference it from every operation
    for every error status it can answer."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}))
        schemas["Problem"] = problem
        # Included routers stay nested in `app.routes`; their route contexts carry the
        # effective path and dependencies.
        for route in iter_route_contexts(app.routes):
            if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
                continue
            statuses = _route_statuses(route, by_dependency)
            path = doc["paths"].get(route.path_format, {})
            for method in route.methods or ():
                operation = path.get(method.lower())
                if operation is None:
                    continue
                responses = operation.setdefault("responses", {})
                for status in sorted(statuses):
                    key = str(status)
                    if key not in responses or _is_fastapi_validation(responses[key]):
                        responses[key] = _response(status)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def _is_fastapi_validation(response: Mapping[str, Any]) -> bool:
    content = response.get("content", {}).get("application/json", {})
    return bool(content.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"))


__all__ = [
    "BAD_REQUEST",
    "BODY_TOO_LARGE",
    "COMMAND_REJECTED",
    "CONFLICT",
    "FORBIDDEN",
    "INVALID_REQUEST",
    "METHOD_NOT_ALLOWED",
    "NOT_FOUND",
    "ORDER_REJECTED",
    "PROBLEM_MEDIA_TYPE",
    "PROBLEM_TYPES",
    "SERVER_ERROR",
    "TOO_MANY_REQUESTS",
    "TYPE_PREFIX",
    "UNAUTHORIZED",
    "UNAVAILABLE",
    "VALIDATION_FAILED",
    "WRITE_METHODS",
    "FailedRule",
    "Problem",
    "ProblemType",
    "document_problems",
    "generic_type",
    "problem_body",
    "problem_responses",
]
