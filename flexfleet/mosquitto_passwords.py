"""Mosquitto's password file, read and written in Python (no `mosquitto_passwd` needed, so
the coordinator's image can provision a broker's accounts).

The format of Mosquitto 2.0 (mosquitto_passwd(1)): one `username:$7$ITERATIONS$SALT$HASH`
line per user, where SALT is 12 random bytes and HASH the 64-byte PBKDF2-HMAC-SHA512 of
the password with that salt, both in base64; 101 iterations is `mosquitto_passwd`'s
default. Files are replaced atomically (a crash leaves the old file or the new one), mode
0600, keeping the owner of the file they replace (the broker's user, see
`flexfleet.device_registry.DeviceRegistry.hand_to_broker`).

Errors: `PasswordFileError` (a `ValueError`) for a damaged file or an unusable username.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Final

ITERATIONS: Final = 101
SALT_BYTES: Final = 12
HASH_BYTES: Final = 64
MAX_FILE_BYTES: Final = 16 * 1024 * 1024


class PasswordFileError(ValueError):
    """A password file that cannot be parsed, or a username it cannot hold."""


def hash_entry(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """The `$7$...` hash Mosquitto checks `password` against."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, HASH_BYTES)
    encoded = (base64.b64encode(part).decode() for part in (salt, digest))
    return f"$7${iterations}${'$'.join(encoded)}"


def matches(entry: str, password: str) -> bool:
    """Whether `password` is the one hashed in `entry` (a `$7$` hash), in constant time."""
    parts = entry.split("$")
    if len(parts) != 5 or parts[:2] != ["", "7"] or not parts[2].isdigit():
        raise PasswordFileError("not a $7$ (PBKDF2-SHA512) hash")
    try:
        salt, digest = (base64.b64decode(p, validate=True) for p in parts[3:])
    except binascii.Error as exc:
        raise PasswordFileError(f"bad base64 in the hash: {exc}") from None
    again = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, int(parts[2]), len(digest))
    return hmac.compare_digest(again, digest)


def check_username(username: str) -> str:
    """A username the file can hold: not empty, no `:`, no line break or other control."""
    if not username or ":" in username or not username.isprintable():
        raise PasswordFileError(f"{username!r} cannot be a username in a password file")
    return username


def read(path: Path) -> dict[str, str]:
    """username → hash of every line of the file (an absent file holds nobody)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    if len(raw) > MAX_FILE_BYTES:
        raise PasswordFileError(f"{path} is over {MAX_FILE_BYTES} bytes")
    entries: dict[str, str] = {}
    for number, line in enumerate(raw.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        username, sep, entry = line.partition(":")
        if not sep or not username or not entry.startswith("$"):
            raise PasswordFileError(f"{path} line {number} is not username:hash")
        entries[username] = entry
    return entries


def write(path: Path, entries: Mapping[str, str]) -> None:
    """Replace the file with `entries` (username → hash), atomically, mode 0600."""
    lines = "".join(f"{check_username(u)}:{entry}\n" for u, entry in entries.items())
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(lines)
    keep_owner(tmp, path)
    tmp.replace(path)


def keep_owner(new: Path, old: Path) -> None:
    """Give `new` the owner of `old` when they differ (a file handed to the broker's user
    stays the broker's after a rewrite)."""
    try:
        was = old.stat()
    except FileNotFoundError:
        return
    now = new.stat()
    if (now.st_uid, now.st_gid) != (was.st_uid, was.st_gid):
        os.chown(new, was.st_uid, was.st_gid)


def set_password(path: Path, username: str, password: str) -> None:
    """Add `username` or replace its password."""
    entries = read(path)
    entries[check_username(username)] = hash_entry(password)
    write(path, entries)


def remove(path: Path, username: str) -> bool:
    """Delete `username`; whether it was there."""
    entries = read(path)
    if entries.pop(username, None) is None:
        return False
    write(path, entries)
    return True


__all__ = [
    "ITERATIONS",
    "PasswordFileError",
    "check_username",
    "hash_entry",
    "keep_owner",
    "matches",
    "read",
    "remove",
    "set_password",
    "write",
]
