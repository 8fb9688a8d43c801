"""API tokens kept hashed in a JSON file: each a name, a role and optionally sites.

    {"tokens": [{"name": "ana", "role": "operator", "sites": ["yiwu-1"],
                 "sha256": "<hex digest of the token>", "created_ms": 1733450000000}]}

`TokenFile.add` makes a random token (32 bytes, URL-safe), stores only its SHA-256 and
returns the clear token once. A fast hash is enough here: the token is random, not a
password a person chose, so there is nothing to guess from its digest. An empty `sites`
list means every site. The file is re-read when it changes, so `flexfleet token add` and
`remove` take effect on a running coordinator without a restart. Writes go through a
temporary file and `os.replace` (never a half-written file), mode 0600.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, get_args

import orjson

from protocol.topics import ID_PATTERN

# `metrics` reads `/metrics` (and `/healthz`'s error texts) and nothing else: the token a
# Prometheus server keeps. The API's routes refuse it (`coordinator.api.auth`).
Role = Literal["metrics", "viewer", "operator", "admin"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
ROLE_RANK: Final[dict[Role, int]] = {"metrics": 0, "viewer": 1, "operator": 2, "admin": 3}
MAX_NAME_CHARS: Final = 64
MAX_FILE_BYTES: Final = 4 * 1024 * 1024
TOKEN_BYTES: Final = 32

_ID_RE: Final = re.compile(ID_PATTERN)


class TokenFileError(ValueError):
    """A token file that cannot be read, or a change that cannot be made."""


@dataclass(frozen=True, slots=True)
class TokenEntry:
    """One stored token: who, which role, which sites (empty: all) and the token's digest."""

    name: str
    role: Role
    sha256: str
    sites: tuple[str, ...] = ()
    created_ms: int = 0

    def to_json(self) -> dict[str, object]:
        """The entry as stored."""
        return {
            "name": self.name,
            "role": self.role,
            "sites": list(self.sites),
            "sha256": self.sha256,
            "created_ms": self.created_ms,
        }


def token_digest(token: str) -> str:
    """The hex SHA-256 a token is stored as."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_name(name: str) -> str:
    """A principal name: 1–64 printable characters, no colon, no whitespace."""
    if not 0 < len(name) <= MAX_NAME_CHARS or not name.isprintable() or ":" in name:
        raise TokenFileError(f"a token name is 1-{MAX_NAME_CHARS} printable characters, no ':'")
    if any(c.isspace() for c in name):
        raise TokenFileError("a token name has no whitespace")
    return name


def check_sites(sites: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Site ids as the protocol spells them, each once."""
    for site in sites:
        if not isinstance(site, str) or not _ID_RE.fullmatch(site):
            raise TokenFileError(f"{site!r} is not a site id")
    if len(set(sites)) != len(sites):
        raise TokenFileError("a site is named twice")
    return tuple(sites)


def _entry(raw: object, index: int) -> TokenEntry:
    if not isinstance(raw, dict):
        raise TokenFileError(f"tokens[{index}] is not an object")
    name, role, digest = raw.get("name"), raw.get("role"), raw.get("sha256")
    sites = raw.get("sites", [])
    created = raw.get("created_ms", 0)
    if not isinstance(name, str):
        raise TokenFileError(f"tokens[{index}].name is not a string")
    if role not in ROLES:
        raise TokenFileError(f"tokens[{index}].role is not one of {', '.join(ROLES)}")
    if not isinstance(digest, str) or len(digest) != 64 or not _is_hex(digest):
        raise TokenFileError(f"tokens[{index}].sha256 is not a hex SHA-256 digest")
    if not isinstance(sites, list):
        raise TokenFileError(f"tokens[{index}].sites is not a list")
    if not isinstance(created, int) or isinstance(created, bool):
        raise TokenFileError(f"tokens[{index}].created_ms is not an integer")
    return TokenEntry(check_name(name), role, digest.lower(), check_sites(sites), created)


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


def parse_token_file(data: bytes) -> tuple[TokenEntry, ...]:
    """The entries of a token file's bytes; `TokenFileError` names what is wrong."""
    if len(data) > MAX_FILE_BYTES:
        raise TokenFileError(f"token file over {MAX_FILE_BYTES} bytes")
    try:
        doc = orjson.loads(data) if data.strip() else {"tokens": []}
    except orjson.JSONDecodeError as exc:
        raise TokenFileError(f"token file is not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("tokens"), list):
        raise TokenFileError('token file is not {"tokens": [...]}')
    entries = tuple(_entry(raw, i) for i, raw in enumerate(doc["tokens"]))
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise TokenFileError("a token name is given twice")
    return entries


@dataclass(slots=True)
class TokenFile:
    """The token file at `path`, re-read whenever its size or mtime changes."""

    path: Path
    _seen: tuple[int, int] | None = field(default=None, init=False)
    _entries: tuple[TokenEntry, ...] = field(default=(), init=False)

    def entries(self) -> tuple[TokenEntry, ...]:
        """Every stored token (none when the file does not exist yet)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._seen, self._entries = None, ()
            return ()
        key = (stat.st_mtime_ns, stat.st_size)
        if key != self._seen:
            self._entries = parse_token_file(self.path.read_bytes())
            self._seen = key
        return self._entries

    def find(self, token: str) -> TokenEntry | None:
        """The entry whose digest is the token's; every entry is compared (constant time)."""
        offered = token_digest(token).encode()
        found: TokenEntry | None = None
        for entry in self.entries():
            if hmac.compare_digest(offered, entry.sha256.encode()):
                found = entry
        return found

    def add(self, name: str, role: Role, sites: tuple[str, ...] = ()) -> tuple[TokenEntry, str]:
        """Store a new token for `name` and return it in clear (the only time it exists)."""
        if role not in ROLES:
            raise TokenFileError(f"role is one of {', '.join(ROLES)}")
        if role == "metrics" and sites:
            raise TokenFileError("a metrics token covers every site (metrics span them all)")
        check_name(name)
        entries = self.entries()
        if any(e.name == name for e in entries):
            raise TokenFileError(f"a token named {name!r} exists; remove it first")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        entry = TokenEntry(
            name, role, token_digest(token), check_sites(sites), int(time.time() * 1000)
        )
        self._write((*entries, entry))
        return entry, token

    def remove(self, name: str) -> TokenEntry:
        """Delete the token named `name` (it stops working at the next request)."""
        entries = self.entries()
        kept = tuple(e for e in entries if e.name != name)
        if len(kept) == len(entries):
            raise TokenFileError(f"no token named {name!r}")
        self._write(kept)
        return next(e for e in entries if e.name == name)

    def _write(self, entries: tuple[TokenEntry, ...]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = orjson.dumps({"tokens": [e.to_json() for e in entries]}, option=orjson.OPT_INDENT_2)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        self._seen = None


__all__ = [
    "MAX_NAME_CHARS",
    "ROLES",
    "ROLE_RANK",
    "Role",
    "TokenEntry",
    "TokenFile",
    "TokenFileError",
    "check_name",
    "check_sites",
    "parse_token_file",
    "token_digest",
]
