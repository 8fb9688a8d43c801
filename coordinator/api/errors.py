"""The one place the coordinator's error tree becomes HTTP status codes.

    NotFound 404 · InvalidQuery 422 · StoreError 503 · BrokerUnavailable 503 ·
    ConfigError 500 · any other CoordinatorError 400

An error class may name its own code in `http_status` (the alarm errors do); that wins.
A request that fails validation is 422 as FastAPI renders it, except that a non-finite
number it quotes (`NaN`, `Infinity` in the body) is quoted as a string: JSON cannot carry
it, and rendering it would turn a bad request into a 500.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from coordinator.errors import (
    BrokerUnavailable,
    ConfigError,
    CoordinatorError,
    InvalidQuery,
    NotFound,
    StoreError,
)

_STATUS: tuple[tuple[type[CoordinatorError], int], ...] = (
    (NotFound, 404),
    (InvalidQuery, 422),
    (StoreError, 503),
    (BrokerUnavailable, 503),
    (ConfigError, 500),
)


def status_for(exc: CoordinatorError) -> int:
    """The HTTP status code an error stands for."""
    explicit = getattr(type(exc), "http_status", None)
    if isinstance(explicit, int):
        return explicit
    for kind, code in _STATUS:
        if isinstance(exc, kind):
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
    "coordinator_error_handler",
    "install_error_handlers",
    "status_for",
    "validation_error_handler",
]
