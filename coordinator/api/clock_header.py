"""`Flexfleet-Now-Ms` on every HTTP response: the coordinator's time, for its clients.

A page that says how long ago something happened needs the clock the coordinator dates
things by, not its own: an operator's laptop may run minutes off, and a coordinator on a
simulated clock (`flexfleet demo`) runs hours ahead of wall time. The console reads this
header on each answer and counts ages from it (`static/console/clock.js`).
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fleet_runtime.clock import Clock, now_ms

__all__ = ["NOW_HEADER", "ClockHeader"]

NOW_HEADER: Final = "Flexfleet-Now-Ms"


class ClockHeader:
    """ASGI middleware adding `NOW_HEADER` (ms since the Unix epoch on `clock`) to every
    HTTP response, streamed ones included (it is read when the response starts)."""

    def __init__(self, app: ASGIApp, *, clock: Clock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ())]
                headers.append((NOW_HEADER.lower().encode(), str(now_ms(self.clock)).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_dated)
