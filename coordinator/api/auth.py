"""Bearer-token authentication with two roles: viewer < operator.

Routes declare what they need with the `Annotated` aliases of `coordinator.api.deps`,
which resolve to the caller's principal name (who is recorded in alarm history):

    @router.get("")
    def list_things(who: ViewerDep) -> ...

    @router.post("/{thing_id}/ack")
    def ack(thing_id: str, who: OperatorDep) -> ...

Tokens come from the coordinator settings at `request.app.state.settings`; see
`AuthSettings` for the attributes read. An operator token also grants the viewer role.
With no tokens configured every request is refused (401), unless `dev_mode` is true, in
which case requests without a token act as the operator `dev`. A configured token is always
enforced, dev mode or not. Tokens are compared in constant time (HMAC digests of equal
length, every configured token checked).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Final, Literal, Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from coordinator.api.errors import Forbidden, Unauthorized

Role = Literal["viewer", "operator"]
ROLE_RANK: Final[dict[Role, int]] = {"viewer": 1, "operator": 2}
DEV_PRINCIPAL: Final = "dev"

_bearer = HTTPBearer(auto_error=False, description="A viewer or operator API token")


class AuthSettings(Protocol):
    """What this module reads from `app.state.settings` (the coordinator settings class).

    `viewer_tokens` and `operator_tokens` may each be a mapping of principal name → token
    (preferred, e.g. `dict[str, SecretStr]` from `FLEXFLEET_OPERATOR_TOKENS='{"ana": "…"}'`)
    or a list of tokens, each either `name:token` or a bare token (then named
    `viewer-1`, `operator-2`, …). Values may be `str` or pydantic `SecretStr`.
    `dev_mode` opens the API when no token at all is configured.
    """

    @property
    def viewer_tokens(self) -> object: ...

    @property
    def operator_tokens(self) -> object: ...

    @property
    def dev_mode(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, and with which role."""

    name: str
    role: Role


def _secret(value: object) -> str:
    reveal = getattr(value, "get_secret_value", None)
    return str(reveal() if callable(reveal) else value)


def parse_tokens(raw: object, *, role: Role) -> list[tuple[str, str]]:
    """(principal name, token) pairs from a settings value; empty tokens are ignored."""
    pairs: list[tuple[str, str]] = []
    if raw is None:
        return pairs
    if isinstance(raw, Mapping):
        pairs = [(str(name), _secret(token)) for name, token in raw.items()]
    elif isinstance(raw, str | bytes):
        raise TypeError(f"{role}_tokens must be a mapping or a list, not a single string")
    elif isinstance(raw, Iterable):
        for index, item in enumerate(raw, start=1):
            text = _secret(item)
            name, sep, token = text.partition(":")
            pairs.append((name, token) if sep and name else (f"{role}-{index}", text))
    else:
        raise TypeError(f"{role}_tokens must be a mapping or a list")
    return [(name, token) for name, token in pairs if token]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def authenticate(settings: object, token: str | None) -> Principal:
    """The principal `token` belongs to; raises `Unauthorized` (401) when there is none."""
    viewers = parse_tokens(getattr(settings, "viewer_tokens", None), role="viewer")
    operators = parse_tokens(getattr(settings, "operator_tokens", None), role="operator")
    if not viewers and not operators:
        if getattr(settings, "dev_mode", False) is True:
            return Principal(DEV_PRINCIPAL, "operator")
        raise Unauthorized("no API tokens are configured; the API is closed")
    if not token:
        raise Unauthorized("a bearer token is required")
    offered = _digest(token)
    found: Principal | None = None
    # Check every token without stopping early, operators last so they win a tie.
    by_role: tuple[tuple[Role, list[tuple[str, str]]], ...] = (
        ("viewer", viewers),
        ("operator", operators),
    )
    for role, pairs in by_role:
        for name, secret in pairs:
            if hmac.compare_digest(offered, _digest(secret)):
                found = Principal(name, role)
    if found is None:
        raise Unauthorized("unknown token")
    return found


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated caller of this request (any role)."""
    settings = getattr(request.app.state, "settings", None)
    return authenticate(settings, credentials.credentials if credentials else None)


def _require(role: Role, principal: Principal) -> str:
    if ROLE_RANK[principal.role] < ROLE_RANK[role]:
        raise Forbidden(
            f"this action needs the {role} role; {principal.name} is a {principal.role}"
        )
    return principal.name


def require_viewer(principal: Annotated[Principal, Depends(current_principal)]) -> str:
    """Dependency: the caller's name, if they hold at least the viewer role."""
    return _require("viewer", principal)


def require_operator(principal: Annotated[Principal, Depends(current_principal)]) -> str:
    """Dependency: the caller's name, if they hold the operator role (else 403)."""
    return _require("operator", principal)


__all__ = [
    "DEV_PRINCIPAL",
    "ROLE_RANK",
    "AuthSettings",
    "Principal",
    "Role",
    "authenticate",
    "current_principal",
    "parse_tokens",
    "require_operator",
    "require_viewer",
]
