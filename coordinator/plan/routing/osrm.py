"""Travel times from an OSRM-compatible HTTP `table` service (the only module of the
router that talks HTTP), for users who run one.

`GET {base_url}/table/v1/{profile}/{lon},{lat};{lon},{lat};...?annotations=duration`
answers `{"code": "Ok", "durations": [[seconds, ...], ...]}` (OSRM HTTP API, *Table
service*). The answer is checked before it is used: code `Ok`, a square matrix of the
size asked, each entry a finite non-negative number or null (no route: taken as
`unreachable_s`); anything else, a timeout, a refused connection or an oversized body
raises `TravelTimeError`, and the planner keeps its previous routes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import httpx
import orjson

from coordinator.plan.errors import TravelTimeError
from coordinator.plan.routing.travel import LatLon

MAX_POINTS: Final = 1_000
MAX_RESPONSE_BYTES: Final = 64 * 1024 * 1024


@dataclass(frozen=True)
class OsrmTravel:
    """A `TravelTimes` asking `base_url` (e.g. `http://127.0.0.1:5000`)."""

    base_url: str
    profile: str = "driving"
    timeout_s: float = 10.0
    unreachable_s: float = 7 * 86_400.0
    max_points: int = MAX_POINTS
    transport: httpx.BaseTransport | None = None

    def durations_s(self, points: Sequence[LatLon]) -> list[list[float]]:
        """See `coordinator.plan.routing.travel.TravelTimes.durations_s`."""
        n = len(points)
        if n == 0:
            return []
        url = f"{self.base_url.rstrip('/')}/table/v1/{self.profile}"
        if n > self.max_points:
            raise TravelTimeError(f"{n} points exceed the limit of {self.max_points}", url=url)
        coordinates = ";".join(f"{p.lon:.6f},{p.lat:.6f}" for p in points)
        try:
            with (
                httpx.Client(timeout=self.timeout_s, transport=self.transport) as client,
                client.stream(
                    "GET", f"{url}/{coordinates}", params={"annotations": "duration"}
                ) as response,
            ):
                if response.status_code != 200:
                    raise TravelTimeError(f"HTTP {response.status_code}", url=url)
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise TravelTimeError("answer too large", url=url)
        except httpx.HTTPError as exc:
            raise TravelTimeError(f"{type(exc).__name__}: {exc}"[:300], url=url) from exc
        try:
            answer = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise TravelTimeError("answer is not JSON", url=url) from exc
        return self._matrix(answer, n, url)

    def _matrix(self, answer: Any, n: int, url: str) -> list[list[float]]:
        if not isinstance(answer, dict) or answer.get("code") != "Ok":
            code = answer.get("code") if isinstance(answer, dict) else None
            raise TravelTimeError(f"answer code {str(code)[:64]!r}", url=url)
        rows = answer.get("durations")
        if not isinstance(rows, list) or len(rows) != n:
            raise TravelTimeError(f"durations are not {n} rows", url=url)
        out: list[list[float]] = []
        for row in rows:
            if not isinstance(row, list) or len(row) != n:
                raise TravelTimeError(f"a durations row is not {n} long", url=url)
            values: list[float] = []
            for value in row:
                if value is None:
                    values.append(self.unreachable_s)
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    if not (math.isfinite(value) and value >= 0):
                        raise TravelTimeError(f"duration {value!r} out of range", url=url)
                    values.append(min(float(value), self.unreachable_s))
                else:
                    raise TravelTimeError("a duration is not a number", url=url)
            out.append(values)
        return out


__all__ = ["MAX_POINTS", "OsrmTravel"]
