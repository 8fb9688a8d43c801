"""Bearer-token authentication with roles, metrics < viewer < operator < admin, and sites.

Routes declare what they need with the `Annotated` aliases of `coordinator.api.deps`,
which resolve to the caller's principal name (who is recorded in alarm history and the
audit log):

    @router.get("")
    def list_things(who: ViewerDep) -> ...

    @router.post("/{thing_id}/ack")
    def ack(thing_id: str, who: OperatorDep) -> ...

Tokens come from the coordinator settings at `request.app.state.settings`: the hashed
token file (`token_file`, `coordinator.access.tokens`; each token a role and optionally
sites) and, for compatibility, tokens given in clear as `viewer_tokens`,
`operator_tokens` and `admin_tokens` (every site). A higher role grants the lower ones.
With no tokens configured every request is refused (401), unless `dev_mode` is true, in
which case requests without a token act as the admin `dev`. A configured token is always
enforced, dev mode or not. A `metrics` token reads `/metrics` only
(`require_metrics_reader`); every other route refuses it (403). Tokens are compared in
constant time (digests of equal length, every configured token checked).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final, Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from coordinator.access.scope import Scope
from coordinator.access.tokens import ROLE_RANK, Role, TokenFile
from coordinator.api.errors import Forbidden, Unauthorized

DEV_PRINCIPAL: Final = "dev"
EVERY_SITE: Final = Scope()
LEGACY_ROLES: Final[tuple[Role, ...]] = ("viewer", "operator", "admin")

_bearer = HTTPBearer(auto_error=False, description="A viewer, operator or admin API token")


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
    def admin_tokens(self) -> object: ...

    @property
    def token_file(self) -> Path | None: ...

    @property
    def dev_mode(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, with which role, and which sites they may see."""

    name: str
    role: Role
    scope: Scope = EVERY_SITE


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


_TOKEN_FILES: dict[Path, TokenFile] = {}


def token_file_of(settings: object) -> TokenFile | None:
    """The token file the settings name (one reader per path, re-reading on change)."""
    path = getattr(settings, "token_file", None)
    if not isinstance(path, Path):
        return None
    found = _TOKEN_FILES.get(path)
    if found is None:
        found = _TOKEN_FILES[path] = TokenFile(path)
    return found


def authenticate(settings: object, token: str | None) -> Principal:
    """The principal `token` belongs to; raises `Unauthorized` (401) when there is none."""
    legacy = [
        (role, parse_tokens(getattr(settings, f"{role}_tokens", None), role=role))
        for role in LEGACY_ROLES
    ]
    tokens = token_file_of(settings)
    entries = tokens.entries() if tokens is not None else ()
    if not entries and not any(pairs for _, pairs in legacy):
        if getattr(settings, "dev_mode", False) is True:
            return Principal(DEV_PRINCIPAL, "admin")
        raise Unauthorized("no API tokens are configured; the API is closed")
    if not token:
        raise Unauthorized("a bearer token is required")
    offered = _digest(token)
    found: Principal | None = None
    # Check every token without stopping early, higher roles last so they win a tie.
    for role, pairs in legacy:
        for name, secret in pairs:
            if hmac.compare_digest(offered, _digest(secret)):
                found = Principal(name, role)
    if tokens is not None:
        entry = tokens.find(token)
        if entry is not None:
            found = Principal(entry.name, entry.role, Scope.of(entry.sites))
    if found is None:
        raise Unauthorized("unknown token")
    return found


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated caller of this request (any role but `metrics`, which reads
    `/metrics` only: 403 here). On the event loop: digest comparisons and, with a token
    file, one stat (a re-read only when the file changed), cheaper than a worker-thread
    hop on every request."""
    settings = getattr(request.app.state, "settings", None)
    return api_principal(settings, credentials.credentials if credentials else None)


def api_principal(settings: object, token: str | None) -> Principal:
    """The caller of an API route (`current_principal` without the request): raises
    `Unauthorized` (401), or `Forbidden` (403) for a metrics token."""
    principal = authenticate(settings, token)
    if principal.role == "metrics":
        raise Forbidden(f"{principal.name}'s token reads /metrics only")
    return principal


def metrics_reader(settings: object, token: str | None) -> str:
    """Who may read `/metrics` (and `/healthz`'s error texts): anyone when the settings'
    `metrics_public` is true, else a token of any role, `metrics` included, covering every
    site (metric labels name nodes of every site). Raises `Unauthorized` / `Forbidden`."""
    if getattr(settings, "metrics_public", False) is True:
        return "-"
    principal = authenticate(settings, token)
    if not principal.scope.covers_all:
        raise Forbidden(
            f"metrics span every site; {principal.name}'s token covers only "
            f"{principal.scope.describe()}"
        )
    return principal.name


def require_metrics_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """Dependency of `/metrics`: the reader's name (see `metrics_reader`), or "-" when
    the metrics are public."""
    settings = getattr(request.app.state, "settings", None)
    return metrics_reader(settings, credentials.credentials if credentials else None)


def require_role(role: Role, principal: Principal) -> str:
    """The caller's name, if they hold `role` or a higher one (else `Forbidden`)."""
    if ROLE_RANK[principal.role] < ROLE_RANK[role]:
        raise Forbidden(
            f"this action needs the {role} role; {principal.name} has the {principal.role} role"
        )
    return principal.name


# The role checks are async: pure comparisons, run on the event loop rather than each
# costing a hop to a worker thread (several per request; under a burst of orders those
# hand-overs of the GIL were a large share of the request path's time).
async def require_viewer(principal: Annotated[Principal, Depends(current_principal)]) -> str:
    """Dependency: the caller's name, if they hold at least the viewer role."""
    return require_role("viewer", principal)


async def require_operator(principal: Annotated[Principal, Depends(current_principal)]) -> str:
    """Dependency: the caller's name, if they hold the operator role (else 403)."""
    return require_role("operator", principal)


async def require_admin(principal: Annotated[Principal, Depends(current_principal)]) -> str:
    """Dependency: the caller's name, if they hold the admin role (else 403)."""
    return require_role("admin", principal)


async def require_all_sites(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    """Dependency: the caller, if their token covers every site (fleet-wide resources;
    else 403)."""
    return require_every_site(principal)


def require_every_site(principal: Principal) -> Principal:
    """The caller, if their token covers every site (else `Forbidden`)."""
    if not principal.scope.covers_all:
        raise Forbidden(
            f"this resource spans every site; {principal.name}'s token covers only "
            f"{principal.scope.describe()}"
        )
    return principal


__all__ = [
    "DEV_PRINCIPAL",
    "LEGACY_ROLES",
    "ROLE_RANK",
    "AuthSettings",
    "Principal",
    "Role",
    "api_principal",
    "authenticate",
    "current_principal",
    "metrics_reader",
    "parse_tokens",
    "require_admin",
    "require_all_sites",
    "require_every_site",
    "require_metrics_reader",
    "require_operator",
    "require_role",
    "require_viewer",
    "token_file_of",
]
