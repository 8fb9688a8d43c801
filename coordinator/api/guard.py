"""The request guard: one pure-ASGI middleware in front of every route.

1. **Body size**: a request body over `max_body_bytes` is refused with 413 before any
   route reads it (a declared `Content-Length` at once, a streamed body as soon as it
   passes the limit). Routes may keep smaller limits of their own (node config: 64 KiB).
2. **Write rate**: each write (`POST`, `PUT`, `PATCH`, `DELETE`) under `/api/` spends one
   token of its caller's bucket (`write_rate_per_minute`, `write_burst`; the caller is the
   bearer token's digest, or the client address without one); past it, 429 with
   `Retry-After`.
3. **Audit**: every write that reaches a route is appended (by group commit) to the audit log
   (`coordinator.access.audit_log`, `app.state.audit`) with the principal, the answer's
   status, the request body's digest and digests of the resource's state before and after,
   as the caller reads it from the route that shows it (`state_path`): the body that GET
   answers with 200, or '' when it answers anything else. A route with a direct reader
   (`coordinator.api.read_backs`: sales orders) is read by it, without a request;
   any other through the app. Writes refused by the guard itself (413, 429) are not
   recorded, so a flood cannot fill the log.

Records older than `audit_retention_days` are pruned at most once an hour.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import parse_qs, urlencode

import anyio.to_thread
import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coordinator.access.audit_log import AuditEntry, AuditLog
from coordinator.access.rate_limit import RateLimiter
from coordinator.api.auth import authenticate
from coordinator.api.errors import BodyTooLarge, TooManyRequests, problem_response
from coordinator.api.problems import WRITE_METHODS
from coordinator.api.read_backs import direct_read_back
from coordinator.errors import CoordinatorError

PRUNE_EVERY_S: Final = 3600.0
DAY_MS: Final = 86_400_000

_ID = r"[^/]+"
_STATE_OF: Final[tuple[tuple[re.Pattern[str], Callable[[re.Match[str], Any], str | None]], ...]] = (
    (re.compile(r"/api/v1/network"), lambda m, _b: "/api/v1/network"),
    (re.compile(r"/api/v1/plans/(products|reserve)"), lambda m, _b: m.group(0)),
    (re.compile(r"/api/v1/orders(/close|/dispatch)?"), lambda m, _b: "/api/v1/orders"),
    (
        re.compile(rf"/api/v1/alarms/({_ID})/(ack|clear|comments|assign|feedback)"),
        lambda m, _b: f"/api/v1/alarms/{m.group(1)}",
    ),
    (
        re.compile(rf"/api/v1/sales-orders/({_ID})/(cancel|status)"),
        lambda m, _b: f"/api/v1/sales-orders/{m.group(1)}",
    ),
    (re.compile(r"/api/v1/sales-orders"), lambda m, b: _by_body_id("/api/v1/sales-orders", b)),
    (re.compile(r"/api/v1/live-streams"), lambda m, b: _by_body_id("/api/v1/live-streams", b)),
    (re.compile(rf"/api/v1/nodes/({_ID})/config"), lambda m, _b: f"/api/v1/nodes/{m.group(1)}"),
    (re.compile(r"/api/v1/forecasts/refresh"), lambda m, _b: "/api/v1/forecasts"),
)
"""Where each write's resource can be read back (writes not listed have no route that
shows their state: the fleet and changeovers; their records hold the request digest)."""


def _by_body_id(prefix: str, body: Any) -> str | None:
    key = body.get("id") if isinstance(body, dict) else None
    if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}", key):
        return f"{prefix}/{key}"
    return None


def state_path(path: str, query: str, body: bytes) -> tuple[str, str] | None:
    """The (path, query) a write's resource is read back from, or None."""
    for pattern, target in _STATE_OF:
        found = pattern.fullmatch(path)
        if found is None:
            continue
        try:
            parsed: Any = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            parsed = None
        where = target(found, parsed)
        if where is None:
            return None
        site = parse_qs(query).get("site", [])
        keep = urlencode({"site": site[0]}) if path.endswith("/config") and site else ""
        return where, keep
    return None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RequestGuard:
    """Body size limit, per-caller write rate and the audit trail (module docstring)."""

    def __init__(self, app: ASGIApp, *, settings: Any) -> None:
        self.app = app
        self.settings = settings
        self.max_body = int(settings.max_body_bytes)
        self.limiter = RateLimiter(
            rate_per_minute=float(settings.write_rate_per_minute), burst=int(settings.write_burst)
        )
        self._pruned_at = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            refused = BodyTooLarge(f"request body of {declared} bytes exceeds {self.max_body}")
            await problem_response(refused)(scope, receive, send)
            return
        first = await receive()
        body = bytearray(first.get("body", b""))
        more = bool(first.get("more_body", False))
        while more and len(body) <= self.max_body:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
        if len(body) > self.max_body:
            refused = BodyTooLarge(f"request body exceeds {self.max_body} bytes")
            await problem_response(refused)(scope, receive, send)
            return
        replay = _replay(bytes(body), receive)
        writes = scope["method"] in WRITE_METHODS and scope["path"].startswith("/api/")
        if not writes:
            await self.app(scope, replay, send)
            return
        token = _bearer(headers)
        key = _sha256(token.encode()) if token else f"addr:{(scope.get('client') or ('-',))[0]}"
        wait = self.limiter.take(key, time.monotonic())
        if wait is not None:
            refused_rate = TooManyRequests(
                f"more than {self.limiter.rate_per_minute:g} writes a minute with this token",
                retry_after_s=wait,
            )
            await problem_response(refused_rate)(scope, replay, send)
            return
        await self._audited(scope, replay, send, bytes(body), token)

    async def _audited(
        self, scope: Scope, receive: Receive, send: Send, body: bytes, token: str | None
    ) -> None:
        log: AuditLog | None = getattr(scope["app"].state, "audit", None)
        if log is None:
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        where = state_path(scope["path"], query, body)
        before = await self._state(scope, where, token)
        status = 0
        recorded = False

        async def record() -> None:
            nonlocal recorded
            recorded = True
            after = await self._state(scope, where, token)
            try:
                who = authenticate(self.settings, token)
                name, role = who.name, str(who.role)
            except CoordinatorError:
                name, role = "-", "-"
            path = scope["path"] + (f"?{query}" if query else "")
            entry = AuditEntry(
                ts_ms=int(time.time() * 1000),
                principal=name,
                role=role,
                method=scope["method"],
                path=path[:2048],
                status=status,
                request_sha256=_sha256(body),
                before_sha256=before,
                after_sha256=after,
            )
            await log.append_async(entry)
            if time.monotonic() - self._pruned_at > PRUNE_EVERY_S:
                self._pruned_at = time.monotonic()
                cutoff = entry.ts_ms - int(float(self.settings.audit_retention_days) * DAY_MS)
                await anyio.to_thread.run_sync(log.prune, cutoff)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                await record()  # before the answer completes: an answered write is recorded
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if not recorded:
                await record()

    async def _state(self, scope: Scope, where: tuple[str, str] | None, token: str | None) -> str:
        """The digest of the resource as the caller reads it ('' when there is none)."""
        if where is None:
            return ""
        path, query = where
        read = direct_read_back(path, query)
        if read is not None:
            body = read(scope["app"].state, token)
            return "" if body is None else _sha256(body)
        return await self._state_through_app(scope, path, query)

    async def _state_through_app(self, scope: Scope, path: str, query: str) -> str:
        """The digest of the body a GET of `path` through the app answers the caller with
        ('' unless 200): the fallback for resources without a direct reader."""
        sub: Scope = {
            **scope,
            "method": "GET",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": [(k, v) for k, v in scope["headers"] if k == b"authorization"],
        }
        status = 0
        chunks: list[bytes] = []

        async def nothing() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def keep(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(sub, nothing, keep)
        return _sha256(b"".join(chunks)) if status == 200 else ""


def _bearer(headers: Headers) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands over the buffered body once, then the client's own events."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


__all__ = ["RequestGuard", "state_path"]
