"""What the models of several resources share: the strict input base and the limits of
plan and order inputs."""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict

MAX_DURATION_S: Final = 30 * 86_400.0
MAX_COORDINATE: Final = 1e6
MAX_QUANTITY: Final = 10**9


class StrictModel(BaseModel):
    """An input body: unknown members and type coercion refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


__all__ = ["MAX_COORDINATE", "MAX_DURATION_S", "MAX_QUANTITY", "StrictModel"]
