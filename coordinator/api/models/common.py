"""What the models of several resources share: the strict input base, the limits of plan
and order inputs, and the one order rule JSON Schema cannot state for them."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from coordinator.plan.errors import OrderRejected
from protocol.messages import MAX_TS_MS, MIN_TS_MS

MAX_DURATION_S: Final = 30 * 86_400.0
MAX_COORDINATE: Final = 1e6
MAX_QUANTITY: Final = 10**9


def _integral(value: object) -> object:
    # JSON Schema's `integer` includes 5.0; strict models would refuse it as a float.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Integer = Annotated[int, BeforeValidator(_integral)]
"""An integer as JSON Schema means it: `5` or `5.0`, never `"5"`, `true` or `5.5`."""
# With a null allowed, the validator wraps the union, so the bounds stay JSON Schema's
# `minimum`/`maximum` in the document.
OptionalTimestampMs = Annotated[
    Annotated[int, Field(ge=MIN_TS_MS, le=MAX_TS_MS)] | None, BeforeValidator(_integral)
]
"""Null, or ms since the Unix epoch within the protocol's range (2000 to 2100)."""
OptionalQuantity = Annotated[
    Annotated[int, Field(ge=1, le=MAX_QUANTITY)] | None, BeforeValidator(_integral)
]
"""Null, or a positive quantity (at most `MAX_QUANTITY`)."""


class StrictModel(BaseModel):
    """An input body: unknown members and type coercion refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class LocationIn(StrictModel):
    """A place on Earth in degrees (WGS 84)."""

    lat: float = Field(ge=-90, le=90, description="latitude")
    lon: float = Field(ge=-180, le=180, description="longitude")


def check_distinct_machines(machines: list[str], *, field: str) -> None:
    """The options of one operation name distinct machines (JSON Schema's `uniqueItems`
    cannot say it: two options differ by their durations); `OrderRejected` otherwise."""
    if len(set(machines)) != len(machines):
        raise OrderRejected("an operation names the same machine twice", field=field)


__all__ = [
    "MAX_COORDINATE",
    "MAX_DURATION_S",
    "MAX_QUANTITY",
    "Integer",
    "LocationIn",
    "OptionalQuantity",
    "OptionalTimestampMs",
    "StrictModel",
    "check_distinct_machines",
]
