"""Travel times between real places: the great-circle default, the OSRM `table` adapter
against a small local fake service (good, malformed, hostile and slow answers), and a
routing problem solved on a travel matrix."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from coordinator.plan.errors import ProblemError, TravelTimeError
from coordinator.plan.routing.osrm import OsrmTravel
from coordinator.plan.routing.planner import PyVrpRouter
from coordinator.plan.routing.problem import (
    Depot,
    Order,
    RoutingProblem,
    TravelMatrix,
    Vehicle,
)
from coordinator.plan.routing.travel import (
    GreatCircleTravel,
    LatLon,
    great_circle_m,
    travel_matrix,
)

YIWU = LatLon(29.3069, 120.0751)
HANGZHOU = LatLon(30.2741, 120.1551)


def test_great_circle_distance_of_known_places() -> None:
    """Yiwu to Hangzhou is about 107.9 km as the crow flies; a place to itself is 0."""
    assert great_circle_m(YIWU, HANGZHOU) == pytest.approx(107_900, rel=0.005)
    assert great_circle_m(YIWU, YIWU) == 0.0


def test_default_time_is_distance_times_detour_over_speed() -> None:
    """1.3 × 107.9 km at 60 km/h ≈ 140 minutes; the matrix is square with a zero diagonal."""
    times = GreatCircleTravel(detour_factor=1.3, speed_kmh=60).durations_s([YIWU, HANGZHOU])
    assert times[0][0] == times[1][1] == 0.0
    assert times[0][1] == pytest.approx(1.3 * great_circle_m(YIWU, HANGZHOU) / (60 / 3.6))
    assert times[0][1] / 60 == pytest.approx(140.3, rel=0.01)


@pytest.mark.parametrize(
    "kwargs", [{"detour_factor": 0.5}, {"speed_kmh": 0}, {"speed_kmh": float("nan")}]
)
def test_nonsense_settings_are_refused(kwargs: dict[str, float]) -> None:
    """A detour below 1, a zero or NaN speed: refused at construction."""
    with pytest.raises(ProblemError):
        GreatCircleTravel(**kwargs)


@pytest.mark.parametrize(("lat", "lon"), [(91, 0), (0, 181), (float("nan"), 0)])
def test_places_off_the_globe_are_refused(lat: float, lon: float) -> None:
    """Latitudes beyond ±90, longitudes beyond ±180 and NaN are no place."""
    with pytest.raises(ProblemError):
        LatLon(lat, lon)


Answer = Callable[[str], tuple[int, bytes]]


@pytest.fixture
def fake_osrm() -> Iterator[Callable[[Answer], str]]:
    """A local HTTP server answering each request with `answer(path)`; yields a function
    that sets the answer and returns the base URL. Requests are kept in `server.paths`."""
    state: dict[str, Any] = {"answer": None, "paths": []}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state["paths"].append(self.path)
            status, body = state["answer"](self.path)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(answer: Answer) -> str:
        state["answer"] = answer
        return f"http://127.0.0.1:{server.server_address[1]}"

    serve.paths = state["paths"]  # type: ignore[attr-defined]
    try:
        yield serve
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _ok(durations: Any) -> Answer:
    return lambda _path: (200, json.dumps({"code": "Ok", "durations": durations}).encode())


def test_osrm_table_is_read_and_asked_in_lon_lat_order(fake_osrm: Callable[[Answer], str]) -> None:
    """The adapter asks `/table/v1/driving/lon,lat;lon,lat?annotations=duration` and reads the
    matrix; null (no route) becomes the unreachable time."""
    url = fake_osrm(_ok([[0, 3600.5], [None, 0]]))
    times = OsrmTravel(url, unreachable_s=99_999.0).durations_s([YIWU, HANGZHOU])
    assert times == [[0.0, 3600.5], [99_999.0, 0.0]]
    (path,) = fake_osrm.paths  # type: ignore[attr-defined]
    assert (
        path == "/table/v1/driving/120.075100,29.306900;120.155100,30.274100?annotations=duration"
    )


@pytest.mark.parametrize(
    "answer",
    [
        lambda _p: (500, b"boom"),
        lambda _p: (200, b"not json"),
        lambda _p: (200, json.dumps({"code": "InvalidQuery", "message": "x"}).encode()),
        lambda _p: (200, json.dumps(["Ok"]).encode()),
        _ok([[0, 1]]),
        _ok([[0, 1], [1]]),
        _ok([[0, -5], [1, 0]]),
        _ok([[0, "1"], [1, 0]]),
        _ok([[0, True], [1, 0]]),
        lambda _p: (200, b'{"code": "Ok", "durations": [[0, 1e999], [1, 0]]}'),
    ],
    ids=[
        "http-500", "not-json", "error-code", "not-object", "too-few-rows", "short-row",
        "negative", "string", "boolean", "infinite",
    ],
)  # fmt: skip
def test_bad_answers_raise_travel_time_error(
    fake_osrm: Callable[[Answer], str], answer: Answer
) -> None:
    """Every malformed or hostile answer is refused with the service named, never used."""
    url = fake_osrm(answer)
    with pytest.raises(TravelTimeError) as refused:
        OsrmTravel(url).durations_s([YIWU, HANGZHOU])
    assert refused.value.url.endswith("/table/v1/driving")


def test_an_unreachable_service_or_too_many_points_raise() -> None:
    """A refused connection and a request over the point limit raise `TravelTimeError`."""
    with pytest.raises(TravelTimeError):
        OsrmTravel("http://127.0.0.1:9", timeout_s=2).durations_s([YIWU, HANGZHOU])
    with pytest.raises(TravelTimeError, match="exceed"):
        OsrmTravel("http://127.0.0.1:9", max_points=1).durations_s([YIWU, HANGZHOU])


def test_routes_follow_the_travel_matrix_not_the_coordinates() -> None:
    """With a matrix where a is far from b by road, one vehicle serving both (capacity 2)
    takes the road times: its route length is the matrix's, whatever x/y say."""
    places = [("w1", YIWU), ("a", LatLon(29.31, 120.08)), ("b", LatLon(29.32, 120.06))]
    matrix = travel_matrix(places, GreatCircleTravel(speed_kmh=30), time_unit_s=60.0)
    problem = RoutingProblem(
        depots=(Depot("w1", 0, 0),),
        orders=(Order("a", 0, 0, 1), Order("b", 0, 0, 1)),
        vehicles=(Vehicle("v1", "w1", 2),),
        travel=matrix,
    )
    result = PyVrpRouter(deterministic=True).plan(problem, time_limit_s=1.0, seed=1)
    (route,) = result.routes
    t = matrix.times
    loop = min(t[0][1] + t[1][2] + t[2][0], t[0][2] + t[2][1] + t[1][0])
    assert route.distance == pytest.approx(loop, abs=0.3)


def test_a_matrix_missing_a_place_is_refused() -> None:
    """Every depot and order must have travel times."""
    with pytest.raises(ProblemError, match="no travel times"):
        RoutingProblem(
            depots=(Depot("w1", 0, 0),),
            orders=(Order("a", 0, 0, 1),),
            vehicles=(Vehicle("v1", "w1", 2),),
            travel=TravelMatrix(("w1",), ((0.0,),)),
        )
