"""The versioned JSON codec: messages to bytes and back, refusing anything not exact.

`decode(topic, payload)` raises only `DecodeError` subclasses (or `TopicError` for a topic
outside the namespace), whatever the bytes are: garbage, truncated, nested a thousand
deep, too large, type-confused or contradicting the topic.
"""

from __future__ import annotations

from typing import Final

import orjson

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
    MESSAGE_TYPES,
    PROTOCOL_VERSION,
    SUPPORTED_VERSIONS,
    Command,
    CommandAck,
    CoordinatorState,
    Message,
)
from protocol.topics import (
    ack_topic,
    command_topic,
    coordinator_state_topic,
    data_topic,
    parse_topic,
)

DEFAULT_MAX_PAYLOAD_BYTES: Final = 512 * 1024


def topic_for(message: Message) -> str:
    """The topic a message is published on."""
    if isinstance(message, CoordinatorState):
        return coordinator_state_topic(message.coordinator if message.sites else None)
    if isinstance(message, Command):
        return command_topic(message.site, message.node, message.name)
    if isinstance(message, CommandAck):
        return ack_topic(message.site, message.node)
    return data_topic(message.site, message.node, message.kind)


def encode(message: Message, *, max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> bytes:
    """Serialise a message to its JSON payload, refusing one over `max_payload_bytes`."""
    payload = orjson.dumps(message.to_dict())
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
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        detail = str(exc)
        if detail.startswith(("unexpected end of data", "Input is a zero-length")):
            raise IncompleteMessage(f"payload ends early: {detail}", topic=topic) from None
        raise MalformedPayload(f"payload is not valid JSON: {detail}", topic=topic) from None
    if type(obj) is not dict:
        raise MalformedPayload("payload is not a JSON object", topic=topic)
    try:
        message = _from_object(obj)
    except DecodeError as exc:
        exc.topic = topic
        raise
    _check_topic(message, info.site, info.node, info.kind, info.command, topic)
    return message


def _from_object(obj: dict[str, object]) -> Message:
    if "v" not in obj:
        raise InvalidMessage("missing field 'v' (protocol version)", field="v")
    version = obj["v"]
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        raise UnsupportedVersion(
            f"unsupported protocol version {str(version)[:20]}; this code speaks"
            f" v=1..{PROTOCOL_VERSION}"
        )
    kind = obj.get("kind")
    if kind is None:
        raise InvalidMessage("missing field 'kind'", field="kind")
    cls = MESSAGE_TYPES.get(kind) if type(kind) is str else None
    if cls is None:
        raise UnknownKind(
            f"unknown message kind {str(kind)[:40]!r}; expected one of {', '.join(MESSAGE_TYPES)}"
        )
    message: Message = cls.from_dict(obj)
    if message.min_version() > version:
        raise InvalidMessage(
            f"this {message.kind} needs protocol version {message.min_version()}, not {version}",
            field="v",
        )
    return message


def _check_topic(
    message: Message, site: str, node: str, kind: str, command: str | None, topic: str
) -> None:
    if message.kind != kind:
        raise TopicMismatch(f"{message.kind} message on a {kind} topic", topic=topic)
    if isinstance(message, CoordinatorState):
        if topic_for(message) != topic:
            raise TopicMismatch(
                f"the state of {message.coordinator} owning"
                f" {len(message.sites) or 'every'} site(s) belongs on {topic_for(message)}",
                topic=topic,
            )
        return
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
