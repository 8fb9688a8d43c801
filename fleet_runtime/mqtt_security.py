"""Broker login and TLS, shared by the edge agent and the coordinator (no paho here).

Both sides describe a broker connection the same way: a URL (`mqtt://host[:1883]` plain,
`mqtts://host[:8883]` TLS), an optional username and password, and for TLS an optional CA
file (absent: the system CAs) and an optional client certificate and key. This module
parses the URL, reads a password file (bounded), checks the TLS files, builds the
`ssl.SSLContext` each side hands to paho (`tls_set_context`: certificate and host name
always verified), and turns a failed connection into one sentence naming the cause.

Functions raise `ValueError` with the reason; each side translates it into its own
`ConfigError` naming its setting.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

PLAIN_PORT: Final = 1883
TLS_PORT: Final = 8883
MAX_PASSWORD_FILE_BYTES: Final = 4096
MAX_USERNAME_CHARS: Final = 256
# MQTT 5 CONNACK reason codes for a refused login (MQTT 5 §3.2.2.2); 4 and 5 are the
# MQTT 3.1.1 return codes for the same refusals.
LOGIN_REFUSED: Final = frozenset({134, 135, 4, 5})


@dataclass(frozen=True, slots=True)
class BrokerEndpoint:
    """Where the broker listens and whether the connection uses TLS."""

    host: str
    port: int
    tls: bool


def parse_broker_url(url: str) -> BrokerEndpoint:
    """`mqtt://host[:port]` (plain, 1883) or `mqtts://host[:port]` (TLS, 8883)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"must be mqtt://host:port or mqtts://host:port, got {url!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"has an invalid port: {url!r}") from None
    if not parts.hostname:
        raise ValueError(f"needs a host: {url!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not hold a username or password (give them as settings)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"must be only scheme, host and port, got {url!r}")
    tls = parts.scheme == "mqtts"
    return BrokerEndpoint(parts.hostname, port or (TLS_PORT if tls else PLAIN_PORT), tls)


def check_username(username: str) -> None:
    """A non-empty MQTT username of at most 256 characters without NUL."""
    if not 0 < len(username) <= MAX_USERNAME_CHARS or "\x00" in username:
        raise ValueError(f"must be 1..{MAX_USERNAME_CHARS} characters without NUL")


def read_password_file(path: Path) -> str:
    """The password in `path`: UTF-8, at most 4 KiB, trailing newlines stripped, not empty."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PASSWORD_FILE_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_PASSWORD_FILE_BYTES:
        raise ValueError(f"{path} is larger than {MAX_PASSWORD_FILE_BYTES} bytes")
    try:
        password = data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None
    if not password:
        raise ValueError(f"{path} is empty")
    if "\x00" in password or "\n" in password:
        raise ValueError(f"{path} must hold one line without NUL")
    return password


def check_readable(path: Path) -> None:
    """`path` is a regular file this process can open."""
    if not path.is_file():
        raise ValueError(f"{path} does not exist or is not a file")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None


def tls_context(
    *, ca_file: Path | None = None, cert_file: Path | None = None, key_file: Path | None = None
) -> ssl.SSLContext:
    """A client context that verifies the broker's certificate and host name.

    `ca_file` (PEM) replaces the system CAs; `cert_file` + `key_file` (PEM) are presented
    when the broker asks for a client certificate. Raises `ValueError` naming the file
    that cannot be used.
    """
    if (cert_file is None) != (key_file is None):
        raise ValueError("cert_file and key_file go together")
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)  # CERT_REQUIRED, check_hostname
    if ca_file is not None:
        check_readable(ca_file)
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except ssl.SSLError as exc:
            raise ValueError(f"{ca_file} holds no PEM certificate: {exc.reason}") from None
    if cert_file is not None and key_file is not None:
        check_readable(cert_file)
        check_readable(key_file)
        try:
            context.load_cert_chain(certfile=str(cert_file), keyfile=str(key_file))
        except ssl.SSLError as exc:
            raise ValueError(
                f"{cert_file} and {key_file} are not a PEM certificate and its key: {exc.reason}"
            ) from None
    # A failed handshake must not leave the socket for the garbage collector (paho keeps
    # no reference to it once do_handshake raises).
    context.sslsocket_class = _ClosingSSLSocket
    return context


class _ClosingSSLSocket(ssl.SSLSocket):
    """An SSL socket that closes itself when its handshake fails."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


@dataclass(frozen=True, slots=True)
class BrokerSecurity:
    """Login and TLS settings of one broker connection (the password never in `repr`)."""

    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    def context(self) -> ssl.SSLContext | None:
        """The TLS context, or None for a plain connection."""
        if not self.tls:
            return None
        return tls_context(ca_file=self.ca_file, cert_file=self.cert_file, key_file=self.key_file)


def describe_connect_error(exc: BaseException, *, url: str) -> str:
    """One sentence naming why a connection to `url` could not be made."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"TLS: {url} presented a certificate that is not trusted "
            f"({exc.verify_message or exc.reason}); check the CA file and that the broker's "
            "certificate names this host"
        )
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake with {url} failed: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return f"nothing accepts connections at {url} (connection refused)"
    if isinstance(exc, OSError):
        return f"cannot reach {url}: {exc.strerror or exc}"
    return f"cannot connect to {url}: {exc}"


def describe_refusal(reason: Any, *, url: str, username: str | None) -> str:
    """One sentence for a CONNACK failure `reason` (a paho `ReasonCode` or a number)."""
    code = getattr(reason, "value", reason)
    if code in LOGIN_REFUSED:
        who = f"user {username!r}" if username else "an anonymous client"
        return (
            f"{url} refused the login of {who}: {reason}; check the username and password "
            "(and the broker's password file and ACL)"
        )
    return f"{url} refused the connection: {reason}"


__all__ = [
    "MAX_PASSWORD_FILE_BYTES",
    "BrokerEndpoint",
    "BrokerSecurity",
    "check_readable",
    "check_username",
    "describe_connect_error",
    "describe_refusal",
    "parse_broker_url",
    "read_password_file",
    "tls_context",
]
