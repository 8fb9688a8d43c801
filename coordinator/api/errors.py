"""The API's own errors, and the one place the coordinator's error tree becomes HTTP
answers (RFC 9457 problems, `coordinator.api.problems`).

    CoordinatorError (coordinator.errors)
    └── ApiError                  a request the HTTP layer refuses before any service sees it
        ├── Unauthorized          no token, an unknown token, or no tokens configured
        ├── Forbidden             the token's role may not do this
        ├── BodyTooLarge          a request body over the route's limit (refused unparsed)
        └── TooManyRequests       writes over the token's rate (429, with `Retry-After`)

`PROBLEM_OF` maps classes of the tree to problem types (each with its status); an error
takes the type of the first class along its MRO that the table names, and `bad-request`
(400) when none does. The handlers render every answer that is not a success as a
problem: the tree's errors with the data attributes they carry, requests that fail
validation (every failed rule in `errors`, without the input it quotes: a hostile or
non-finite value is not echoed back), Starlette's own
answers (unknown path, method not allowed) and, last, anything unexpected (500).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from coordinator.alarms.errors import AlarmsUnavailable, InvalidTransition
from coordinator.api.problems import (
    BAD_REQUEST,
    BODY_TOO_LARGE,
    CONFLICT,
    FORBIDDEN,
    INVALID_REQUEST,
    NOT_FOUND,
    ORDER_REJECTED,
    PROBLEM_MEDIA_TYPE,
    SERVER_ERROR,
    TOO_MANY_REQUESTS,
    UNAUTHORIZED,
    UNAVAILABLE,
    VALIDATION_FAILED,
    ProblemType,
    generic_type,
    problem_body,
)
from coordinator.commands.errors import (
    CommandNotSent,
    CommandsUnavailable,
    InvalidCommand,
    NodeNotReady,
)
from coordinator.errors import (
    BrokerUnavailable,
    ConfigError,
    CoordinatorError,
    InvalidQuery,
    NotFound,
    StandingBy,
    StoreError,
)
from coordinator.forecast.errors import ForecastError, RefreshFailed
from coordinator.notify.errors import TooManySubscribers
from coordinator.plan.errors import OrderRejected, PlanError, PlanningUnavailable
from coordinator.sales.errors import OrderConflict, OrderInvalid, SalesUnavailable
from coordinator.stock.errors import (
    PlanInvalid,
    StreamConflict,
    StreamInvalid,
    StreamsUnavailable,
)

log = logging.getLogger(__name__)


class ApiError(CoordinatorError):
    """Base of the errors the HTTP layer raises itself."""


class Unauthorized(ApiError):
    """No token, an unknown token, or an API closed for want of configured tokens."""


class Forbidden(ApiError):
    """The caller's role does not allow the action."""


class BodyTooLarge(ApiError):
    """A request body over the route's limit (refused before parsing)."""


class TooManyRequests(ApiError):
    """Writes over the caller's rate; `retry_after_s` says when the next may go."""

    def __init__(self, reason: str, *, retry_after_s: int) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


PROBLEM_OF: Final[Mapping[type[CoordinatorError], ProblemType]] = {
    # coordinator core
    NotFound: NOT_FOUND,
    InvalidQuery: INVALID_REQUEST,
    StoreError: UNAVAILABLE,
    BrokerUnavailable: UNAVAILABLE,
    StandingBy: UNAVAILABLE,
    ConfigError: SERVER_ERROR,
    # api
    Unauthorized: UNAUTHORIZED,
    Forbidden: FORBIDDEN,
    BodyTooLarge: BODY_TOO_LARGE,
    TooManyRequests: TOO_MANY_REQUESTS,
    # alarms (AlarmNotFound is a NotFound, InvalidAlarmInput an InvalidQuery)
    InvalidTransition: CONFLICT,
    AlarmsUnavailable: UNAVAILABLE,
    # commands
    InvalidCommand: INVALID_REQUEST,
    NodeNotReady: CONFLICT,
    CommandNotSent: UNAVAILABLE,
    CommandsUnavailable: UNAVAILABLE,
    # forecast: a model or data failure that escapes a route is the server's
    RefreshFailed: UNAVAILABLE,
    ForecastError: SERVER_ERROR,
    # notify
    TooManySubscribers: UNAVAILABLE,
    # plan: a solver failure that escapes a route is the server's
    OrderRejected: ORDER_REJECTED,
    PlanningUnavailable: UNAVAILABLE,
    PlanError: SERVER_ERROR,
    # sales
    OrderInvalid: INVALID_REQUEST,
    OrderConflict: CONFLICT,
    SalesUnavailable: UNAVAILABLE,
    # stock
    StreamInvalid: INVALID_REQUEST,
    StreamConflict: CONFLICT,
    StreamsUnavailable: UNAVAILABLE,
    PlanInvalid: INVALID_REQUEST,
}
"""Problem type (and so status) per class of the tree; any other `CoordinatorError` is a
`bad-request` (400)."""


def problem_for(exc: CoordinatorError) -> ProblemType:
    """The problem type an error stands for: that of the first class along its MRO that
    `PROBLEM_OF` names, else `bad-request`."""
    for kind in type(exc).__mro__:
        found = PROBLEM_OF.get(kind)
        if found is not None:
            return found
    return BAD_REQUEST


def status_for(exc: CoordinatorError) -> int:
    """The HTTP status code an error stands for."""
    return problem_for(exc).status


def _problem(
    status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        status_code=status, content=body, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


async def coordinator_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Render a `CoordinatorError` as a problem: `detail` is its reason, `error` its class,
    `field` the input it names, plus the other data it carries."""
    assert isinstance(exc, CoordinatorError)
    kind = problem_for(exc)
    extra = {
        attribute: getattr(exc, attribute, None) or None
        for attribute in ("resource", "key", "parameter", "alarm_id")
    }
    field = getattr(exc, "field", None) or getattr(exc, "parameter", None) or None
    body = problem_body(kind, exc.reason, error=type(exc).__name__, field=field, **extra)
    return _problem(kind.status, body, problem_headers(exc))


def problem_headers(exc: CoordinatorError) -> dict[str, str] | None:
    """The headers an error's answer carries: `WWW-Authenticate` for a missing login,
    `Retry-After` for a rate limit."""
    if isinstance(exc, Unauthorized):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, TooManyRequests):
        return {"Retry-After": str(exc.retry_after_s)}
    return None


def problem_response(exc: CoordinatorError) -> JSONResponse:
    """The problem answer of an error raised outside a route (the request guard)."""
    kind = problem_for(exc)
    body = problem_body(kind, exc.reason, error=type(exc).__name__)
    return _problem(kind.status, body, problem_headers(exc))


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Render a `RequestValidationError` as a `validation-failed` problem listing every
    failed rule (`loc`, `msg`, `type`); `field` and `detail` name the first."""
    assert isinstance(exc, RequestValidationError)
    rules = [
        {
            "loc": [str(part) if not isinstance(part, int) else part for part in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    first = rules[0] if rules else {"loc": [], "msg": "invalid request"}
    field = _path(first["loc"])
    detail = f"{field}: {first['msg']}" if field else str(first["msg"])
    if len(rules) > 1:
        detail += f" (and {len(rules) - 1} more)"
    body = problem_body(
        VALIDATION_FAILED, detail, error="ValidationError", field=field or None, errors=rules
    )
    return _problem(422, body)


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Render Starlette's own answers (unknown path, method not allowed) as problems; a 405
    lists every method the path takes in `Allow`."""
    assert isinstance(exc, StarletteHTTPException)
    kind = generic_type(exc.status_code)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    error = HTTPStatus(exc.status_code).phrase.replace(" ", "").replace("-", "")
    body = problem_body(kind, str(exc.detail), error=error, status=exc.status_code)
    return _problem(exc.status_code, body, headers)


async def unexpected_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Anything not foreseen: a `server-error` problem (the error is logged, not shown)."""
    log.error("unexpected error answering a request", exc_info=exc)
    body = problem_body(SERVER_ERROR, "internal error", error="InternalError")
    return _problem(500, body)


def _allowed_methods(request: Request) -> list[str]:
    # Every route of the path, across the included routers (Starlette's own 405 names
    # only the first route that matched the path).
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        path = getattr(route, "path", None)
        if path and compile_path(path)[0].match(request.url.path):
            methods.update(route.methods or ())
    return sorted(methods)


def _path(loc: Sequence[str | int]) -> str:
    parts = list(loc[1:]) if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers: the whole `CoordinatorError` tree, requests that fail
    validation, Starlette's own answers, and anything unexpected."""
    app.add_exception_handler(CoordinatorError, coordinator_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)


__all__ = [
    "PROBLEM_OF",
    "ApiError",
    "BodyTooLarge",
    "Forbidden",
    "TooManyRequests",
    "Unauthorized",
    "coordinator_error_handler",
    "http_error_handler",
    "install_error_handlers",
    "problem_for",
    "problem_headers",
    "problem_response",
    "status_for",
    "unexpected_error_handler",
    "validation_error_handler",
]
