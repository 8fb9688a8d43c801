"""The live-stream routes over real HTTP: 201 / 200 retry / 200 edit / 409 after the
start, every 422 naming its field with nothing kept, hostile bodies, roles, reading back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from coordinator.api.app import create_app
from coordinator.settings import CoordinatorSettings
from coordinator.stock.live_streams import LiveStream
from coordinator.stock.uplift_meter import StreamUpliftMeter
from tests.coordinator.conftest import Node, feed, serve

VIEWER = "viewer-token-0123456789"
OPERATOR = "operator-token-0123456789"
AS_VIEWER = {"Authorization": f"Bearer {VIEWER}"}
AS_OPERATOR = {"Authorization": f"Bearer {OPERATOR}"}
URL = "/api/v1/live-streams"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, httpx.Client]]:
    """The coordinator app (no broker) with shelf-1 holding CUP and MUG."""
    settings = CoordinatorSettings(
        viewer_tokens=VIEWER,
        operator_tokens=OPERATOR,
        db_path=tmp_path_factory.mktemp("live-api") / "c.db",
    )
    app = create_app(settings, start_service=False)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        shelf = Node(site="s1", node="shelf-1")
        feed(app.state.coordinator, shelf.birth(), shelf.stock("snapshot", {"CUP": 5, "MUG": 2}))
        yield app, http


def _in(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def _stream(stream_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": stream_id,
        "start": _in(2),
        "duration_s": 3600,
        "channel": "douyin",
        "featured_skus": ["CUP"],
        "expected_audience": 20_000,
        **extra,
    }


def test_a_stream_is_created_then_idempotent_then_editable(api: tuple[Any, httpx.Client]) -> None:
    """201 for a new id, 200 `unchanged` for the same body, 200 `updated` for a change
    before the start; GET returns the stored content."""
    _, http = api
    body = _stream("ls-a")
    first = http.post(URL, json=body, headers=AS_OPERATOR)
    assert first.status_code == 201, first.text
    assert first.json()["outcome"] == "created"
    assert first.json()["status"] == "announced"
    again = http.post(URL, json=body, headers=AS_OPERATOR)
    assert again.status_code == 200
    assert again.json()["outcome"] == "unchanged"
    assert again.json()["updated_ms"] == first.json()["updated_ms"]
    edited = http.post(URL, json={**body, "featured_skus": ["CUP", "MUG"]}, headers=AS_OPERATOR)
    assert edited.status_code == 200
    assert edited.json()["outcome"] == "updated"
    got = http.get(f"{URL}/ls-a", headers=AS_VIEWER).json()
    assert got["featured_skus"] == ["CUP", "MUG"]
    assert got["created_ms"] == first.json()["created_ms"]
    listed = http.get(URL, headers=AS_VIEWER).json()
    assert "ls-a" in [s["id"] for s in listed["streams"]]


def test_a_started_stream_can_no_longer_change(api: tuple[Any, httpx.Client]) -> None:
    """Once the stored stream's start has passed, other content is 409 and the stream is
    kept as it was; the same content is still 200."""
    app, http = api
    book = app.state.coordinator.live_streams
    starts_soon = _stream("ls-b", start=(datetime.now(UTC) + timedelta(seconds=1)).isoformat())
    assert http.post(URL, json=starts_soon, headers=AS_OPERATOR).status_code == 201
    while book.now_ms() < book.get("ls-b").stream.start_ms:
        time.sleep(0.05)
    changed = http.post(URL, json={**starts_soon, "duration_s": 60}, headers=AS_OPERATOR)
    assert changed.status_code == 409, changed.text
    assert changed.json()["error"] == "StreamConflict"
    assert http.get(f"{URL}/ls-b", headers=AS_VIEWER).json()["duration_s"] == 3600
    assert http.post(URL, json=starts_soon, headers=AS_OPERATOR).status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start": _in(-1)}, "start"),
        ({"duration_s": 24 * 3600 + 1}, "duration_s"),
        ({"expected_audience": -1}, "expected_audience"),
        ({"featured_skus": ["CUP", "NOT-STOCKED"]}, "featured_skus"),
        ({"expected_audience": None}, "expected_audience"),
        ({"start": "2030-01-01T10:00:00"}, "start"),  # no time zone
        ({"featured_skus": ["bad sku!"]}, "featured_skus"),
        ({"id": "../etc"}, "id"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_a_bad_stream_is_422_naming_the_field_and_nothing_is_kept(
    api: tuple[Any, httpx.Client], change: dict[str, Any], field: str
) -> None:
    """A stream in the past, over 24 h, with a negative audience, unknown SKUs, ...: 422
    naming the field, and the id stays unknown."""
    _, http = api
    body = {**_stream("ls-bad"), **change}
    refused = http.post(URL, json=body, headers=AS_OPERATOR)
    assert refused.status_code == 422, refused.text
    detail = refused.json()
    if "field" in detail:  # refused by the rules
        assert detail["field"].startswith(field)
    else:  # refused by the body's schema
        assert any(field in [str(p) for p in e["loc"]] for e in detail["detail"]), detail
    assert http.get(f"{URL}/ls-bad", headers=AS_VIEWER).status_code == 404


def test_hostile_bodies_are_refused(api: tuple[Any, httpx.Client]) -> None:
    """Not JSON, a list, NaN, a huge SKU list, a huge number: 422, never 500."""
    _, http = api
    bad = [
        http.post(
            URL, content=b"{not json", headers={**AS_OPERATOR, "content-type": "application/json"}
        ),
        http.post(URL, json=[_stream("ls-x")], headers=AS_OPERATOR),
        http.post(
            URL,
            content=b'{"id":"ls-x","start":"2031-01-01T00:00:00Z","duration_s":NaN,'
            b'"channel":"c","featured_skus":["CUP"],"expected_audience":1}',
            headers={**AS_OPERATOR, "content-type": "application/json"},
        ),
        http.post(URL, json=_stream("ls-x", featured_skus=["CUP"] * 10_000), headers=AS_OPERATOR),
        http.post(URL, json=_stream("ls-x", expected_audience=10**30), headers=AS_OPERATOR),
    ]
    assert [r.status_code for r in bad] == [422] * len(bad)
    assert http.get(f"{URL}/ls-x", headers=AS_VIEWER).status_code == 404


def test_roles(api: tuple[Any, httpx.Client]) -> None:
    """Posting needs the operator; reading needs a viewer; no token is 401."""
    _, http = api
    assert http.post(URL, json=_stream("ls-r"), headers=AS_VIEWER).status_code == 403
    assert http.post(URL, json=_stream("ls-r")).status_code == 401
    assert http.get(URL).status_code == 401


def test_an_ended_stream_shows_its_realised_uplift(api: tuple[Any, httpx.Client]) -> None:
    """A stream that ended three hours ago: once the meter has measured it, GET shows what
    PEN sold while it ran (5) against its usual rate (1 an hour: 672 in the days before),
    an uplift of 4; before that, no `realised`."""
    app, http = api
    coordinator = app.state.coordinator
    now = int(time.time() * 1000)
    start = now - 4 * 3_600_000
    shelf = Node(site="s1", node="shelf-9")
    feed(
        coordinator,
        shelf.birth(),
        shelf.stock("snapshot", {"PEN": 5000}),
        replace(shelf.stock("delta", {"PEN": -672}), ts=now - 2 * 86_400_000),
        replace(shelf.stock("delta", {"PEN": -5}), ts=start + 1_800_000),
    )
    stream = LiveStream("past-1", start, 3600, "douyin", ("PEN",), expected_orders=9)
    coordinator.store.live_stream_store().put(stream, at_ms=start - 3_600_000)
    assert http.get(f"{URL}/past-1", headers=AS_VIEWER).json()["realised"] is None
    [meter] = [w for w in coordinator.forecasts.watchers if isinstance(w, StreamUpliftMeter)]
    meter.check()
    realised = http.get(f"{URL}/past-1", headers=AS_VIEWER).json()["realised"]
    assert realised["on_air_source"] == "announced"
    assert (realised["on_air_start_ms"], realised["on_air_end_ms"]) == (start, start + 3_600_000)
    [pen] = realised["skus"]
    assert pen["sku"] == "PEN"
    assert pen["units"] == 5
    assert pen["baseline_units"] == pytest.approx(1.0)
    assert pen["uplift"] == pytest.approx(4.0)
