"""The versioned JSON codec: messages to bytes and back, refusing anything not exact.

`decode(topic, payload)` raises only `DecodeError` subclasses (or `TopicError` for a topic
outside the namespace), whatever the bytes are: garbage, truncated, nested a thousand
deep, too large, type-confused or contradicting the topic.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from protocol.errors import (
    DecodeError,
    EncodeError,
    IncompleteMessage,
    InvalidMessage,
    MalformedPayload,
    PayloadTooLarge,
    TopicMismatch,
    UnknownKind,
    UnsupportedVersion,
)
from protocol.messages import (
    PROTOCOL_VERSION,
    Command,
    CommandAck,
    CoordinatorState,
    Message,
)
from protocol.topics import (
    COORDINATOR_STATE_TOPIC,
    ack_topic,
    command_topic,
    data_topic,
    parse_topic,
)

DEFAULT_MAX_PAYLOAD_BYTES: Final = 512 * 1024

_ADAPTER: Final[TypeAdapter[Message]] = TypeAdapter(Annotated[Message, Field(discriminator="kind")])
_KINDS: Final = ("birth", "death", "telemetry", "stock", "event", "cmd", "ack", "state")
_WHITESPACE: Final = b" \t\r\n"


def topic_for(message: Message) -> str:
    """The topic a message is published on."""
    if isinstance(message, CoordinatorState):
        return COORDINATOR_STATE_TOPIC
    if isinstance(message, Command):
        return command_topic(message.site, message.node, message.name)
    if isinstance(message, CommandAck):
        return ack_topic(message.site, message.node)
    return data_topic(message.site, message.node, message.kind)


def encode(message: Message, *, max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> bytes:
    """Serialise a message to its JSON payload, refusing one over `max_payload_bytes`."""
    payload = message.model_dump_json(exclude_defaults=False).encode()
    if len(payload) > max_payload_bytes:
        raise EncodeError(
            f"{message.kind} payload of {len(payload)} bytes exceeds {max_payload_bytes}",
            topic=topic_for(message),
        )
    return payload


def decode(
    topic: str, payload: bytes, *, max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
) -> Message:
    """Parse and validate a payload received on `topic`.

    Raises a `DecodeError` subclass naming the first problem, or `TopicError` if the
    topic itself is not a flexfleet topic.
    """
    info = parse_topic(topic)
    if len(payload) > max_payload_bytes:
        raise PayloadTooLarge(
            f"payload of {len(payload)} bytes exceeds the {max_payload_bytes}-byte limit",
            size=len(payload),
            limit=max_payload_bytes,
            topic=topic,
        )
    if not payload.lstrip(_WHITESPACE).startswith(b"{"):
        raise MalformedPayload("payload is not a JSON object", topic=topic)
    try:
        message = _ADAPTER.validate_json(payload)
    except ValidationError as exc:
        raise _translate(exc.errors(include_url=False, include_input=False), topic) from None
    _check_topic(message, info.site, info.node, info.kind, info.command, topic)
    return message


def _translate(errors: list[ErrorDetails], topic: str) -> DecodeError:
    """Turn pydantic's error list into the most telling `DecodeError`."""
    first = errors[0]
    kind = first["type"]
    if kind == "json_invalid":
        detail = str(first["msg"]).removeprefix("Invalid JSON: ")
        if "EOF while parsing" in detail:
            return IncompleteMessage(f"payload ends early: {detail}", topic=topic)
        return MalformedPayload(f"payload is not valid JSON: {detail}", topic=topic)
    if kind == "union_tag_not_found":
        return InvalidMessage("missing field 'kind'", field="kind", topic=topic)
    if kind == "union_tag_invalid":
        return UnknownKind(
            f"unknown message kind; expected one of {', '.join(_KINDS)}", topic=topic
        )
    for error in errors:
        if len(error["loc"]) == 2 and error["loc"][1] == "v":
            return UnsupportedVersion(
                f"unsupported protocol version; this code speaks v={PROTOCOL_VERSION}", topic=topic
            )
    field = ".".join(str(part) for part in first["loc"][1:])
    where = f"field {field!r}: " if field else ""
    return InvalidMessage(f"{where}{first['msg']}", field=field, topic=topic)


def _check_topic(
    message: Message, site: str, node: str, kind: str, command: str | None, topic: str
) -> None:
    if isinstance(message, CoordinatorState) or kind == "state":
        if not (isinstance(message, CoordinatorState) and kind == "state"):
            raise TopicMismatch(f"{message.kind} message on a {kind} topic", topic=topic)
        return
    if message.kind != kind:
        raise TopicMismatch(f"{message.kind} message on a {kind} topic", topic=topic)
    if message.site != site or message.node != node:
        raise TopicMismatch(
            f"payload names {message.site}/{message.node} but the topic names {site}/{node}",
            topic=topic,
        )
    if isinstance(message, Command) and message.name != command:
        raise TopicMismatch(
            f"command {message.name!r} sent on the topic of command {command!r}", topic=topic
        )


__all__ = ["DEFAULT_MAX_PAYLOAD_BYTES", "decode", "encode", "topic_for"]
