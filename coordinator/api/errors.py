"""The API's own errors, and the one place the coordinator's error tree becomes HTTP
status codes.

    CoordinatorError (coordinator.errors)
    └── ApiError                  a request the HTTP layer refuses before any service sees it
        └── BodyTooLarge          a request body over the route's limit (refused unparsed)

`STATUS_OF` maps classes of the tree to status codes; an error takes the code of the first
class along its MRO that the table names, and 400 when none does. The `CoordinatorError`
handler renders every error as `{"detail": reason, "error": class name}` plus the data
attributes it carries. A request that fails validation is 422 as FastAPI renders it, except
that a non-finite number it quotes (`NaN`, `Infinity` in the body) is quoted as a string:
JSON cannot carry it, and rendering it would turn a bad request into a 500.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from coordinator.alarms.errors import AlarmsUnavailable, InvalidTransition
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
    StoreError,
)
from coordinator.forecast.errors import ForecastError, RefreshFailed
from coordinator.notify.errors import TooManySubscribers
from coordinator.plan.errors import OrderRejected, PlanError, PlanningUnavailable
from coordinator.sales.errors import OrderConflict, OrderInvalid, SalesUnavailable
from coordinator.stock.errors import StreamConflict, StreamInvalid, StreamsUnavailable


class ApiError(CoordinatorError):
    """Base of the errors the HTTP layer raises itself."""


class BodyTooLarge(ApiError):
    """A request body over the route's limit (refused before parsing)."""


STATUS_OF: Final[Mapping[type[CoordinatorError], int]] = {
    # coordinator core
    NotFound: 404,
    InvalidQuery: 422,
    StoreError: 503,
    BrokerUnavailable: 503,
    ConfigError: 500,
    # api
    BodyTooLarge: 413,
    # alarms (AlarmNotFound is a NotFound, InvalidAlarmInput an InvalidQuery)
    InvalidTransition: 409,
    AlarmsUnavailable: 503,
    # commands
    InvalidCommand: 422,
    NodeNotReady: 409,
    CommandNotSent: 503,
    CommandsUnavailable: 503,
    # forecast: a model or data failure that escapes a route is the server's
    RefreshFailed: 503,
    ForecastError: 500,
    # notify
    TooManySubscribers: 503,
    # plan: a solver failure that escapes a route is the server's
    OrderRejected: 422,
    PlanningUnavailable: 503,
    PlanError: 500,
    # sales
    OrderInvalid: 422,
    OrderConflict: 409,
    SalesUnavailable: 503,
    # stock
    StreamInvalid: 422,
    StreamConflict: 409,
    StreamsUnavailable: 503,
}
"""Status code per class of the error tree; every other `CoordinatorError` is 400."""


def status_for(exc: CoordinatorError) -> int:
    """The HTTP status code an error stands for: that of the first class along its MRO
    that `STATUS_OF` names, else 400."""
    for kind in type(exc).__mro__:
        code = STATUS_OF.get(kind)
        if code is not None:
            return code
    return 400


async def coordinator_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Render a `CoordinatorError` as `{"detail": reason, "error": class name}`."""
    assert isinstance(exc, CoordinatorError)
    body: dict[str, object] = {"detail": exc.reason, "error": type(exc).__name__}
    for attribute in ("resource", "key", "parameter", "field", "alarm_id"):
        value = getattr(exc, attribute, None)
        if value:
            body[attribute] = value
    return JSONResponse(status_code=status_for(exc), content=body)


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Render a `RequestValidationError` as FastAPI does (422 `{"detail": [errors]}`),
    with non-finite numbers quoted as strings."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        status_code=422, content={"detail": _finite(jsonable_encoder(exc.errors()))}
    )


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers for the whole `CoordinatorError` tree and for requests that
    fail validation."""
    app.add_exception_handler(CoordinatorError, coordinator_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)


__all__ = [
    "STATUS_OF",
    "ApiError",
    "BodyTooLarge",
    "coordinator_error_handler",
    "install_error_handlers",
    "status_for",
    "validation_error_handler",
]
