"""Bodies of the dead-letter route (`coordinator.api.routes.dead_letters`)."""

from __future__ import annotations

import base64

from pydantic import BaseModel, Field

from coordinator.store.port import DeadLetterRow


class DeadLetterOut(BaseModel):
    """A message that failed decoding."""

    id: int
    received_ms: int
    topic: str
    reason: str
    error: str
    payload_size: int
    payload_prefix: str = Field(description="the first bytes, as text (undecodable bytes escaped)")
    payload_prefix_base64: str

    @classmethod
    def of(cls, d: DeadLetterRow) -> DeadLetterOut:
        """From a store row."""
        return cls(
            id=d.id,
            received_ms=d.received_ms,
            topic=d.topic,
            reason=d.reason,
            error=d.error,
            payload_size=d.payload_size,
            payload_prefix=d.payload_prefix.decode("utf-8", "backslashreplace"),
            payload_prefix_base64=base64.b64encode(d.payload_prefix).decode(),
        )


class DeadLetterPage(BaseModel):
    """One page of dead letters, newest first, and how many are stored."""

    total: int
    items: list[DeadLetterOut]


__all__ = ["DeadLetterOut", "DeadLetterPage"]
