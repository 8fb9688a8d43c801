"""Errors raised by the wire protocol.

    ProtocolError                 anything the protocol refuses
    ├── TopicError                a topic or id that is not part of the namespace
    ├── EncodeError               a message that cannot be put on the wire (e.g. too large)
    └── DecodeError               bytes that cannot become a message
        ├── IncompleteMessage     the payload ends early: more bytes would be needed
        ├── MalformedPayload      not UTF-8 JSON, or not a JSON object
        ├── PayloadTooLarge       over the size limit, refused before parsing
        ├── UnsupportedVersion    a protocol version this code does not speak
        ├── UnknownKind           a message kind this code does not know
        ├── InvalidMessage        well-formed JSON whose fields fail validation
        └── TopicMismatch         the payload contradicts the topic it arrived on

Every error carries `reason` (a sentence for people and dead-letter tables) and `topic`
(the topic the bytes arrived on, when known).
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base of every error the protocol raises."""

    def __init__(self, reason: str, *, topic: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.topic = topic

    def __str__(self) -> str:
        return self.reason if self.topic is None else f"{self.reason} (topic {self.topic!r})"


class TopicError(ProtocolError):
    """A topic name or identifier outside the flexfleet namespace."""


class EncodeError(ProtocolError):
    """A message that cannot be encoded, such as one over the payload size limit."""


class DecodeError(ProtocolError):
    """Bytes that cannot be turned into a valid message."""


class IncompleteMessage(DecodeError):
    """The payload stops before the JSON document ends (truncated in transit)."""


class MalformedPayload(DecodeError):
    """The payload is not UTF-8 JSON, or its top level is not an object."""


class PayloadTooLarge(DecodeError):
    """The payload is larger than the configured limit; it was not parsed."""

    def __init__(self, reason: str, *, size: int, limit: int, topic: str | None = None) -> None:
        super().__init__(reason, topic=topic)
        self.size = size
        self.limit = limit


class UnsupportedVersion(DecodeError):
    """The payload's protocol version `v` is not one this code speaks."""


class UnknownKind(DecodeError):
    """The payload's `kind` names no message type."""


class InvalidMessage(DecodeError):
    """Well-formed JSON whose fields have the wrong type, range or shape."""

    def __init__(self, reason: str, *, field: str = "", topic: str | None = None) -> None:
        super().__init__(reason, topic=topic)
        self.field = field


class TopicMismatch(DecodeError):
    """The payload names a site, node, kind or command other than its topic does."""
