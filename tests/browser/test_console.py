"""The operator console in a real browser against a coordinator with a simulated fleet:
every view shows what the API holds, alarms arrive live and are acted on from the page,
roles hide what a viewer may not do, no console errors, no serious accessibility issue."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from protocol import Birth, SignalSpec, Telemetry
from tests.browser.conftest import AXE
from tests.browser.console_fleet import SITE, Fleet, raise_alarm, running_fleet
from tests.browser.console_page import Console
from tests.browser.cuttable_proxy import cuttable
from tests.coordinator.conftest import feed
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VIEWS = ("overview", "alarms", "fleet", "production", "orders", "routes", "stock", "streams")
OPERATOR = "operator-token-0123456789abcdef"
ADMIN = "admin-token-0123456789abcdef0"
VIEWER = "viewer-token-0123456789abcdefgh"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """One coordinator (dev mode) with 3 machines and 2 warehouses, orders planned."""
    with running_fleet(tmp_path_factory.mktemp("console-fleet")) as running:
        raise_alarm(
            running,
            source="machine-02/spindle_temp_c",
            alarm_type="anomaly.baseline",
            severity="MAJOR",
            message="spindle temperature 62.1 °C on machine-02, 9 °C above its normal",
        )
        yield running


@pytest.fixture
def console(browser: Any, fleet: Fleet) -> Iterator[Console]:
    """A fresh tab on the dev-mode console; the test fails on any console error."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = Console(context.new_page(), fleet.url)
    yield tab
    context.close()
    assert tab.errors == []


def _open_alarms(fleet: Fleet) -> list[dict[str, Any]]:
    alarms: list[dict[str, Any]] = fleet.api.get(
        "/api/v1/alarms?status=ACTIVE_UNACK&status=ACTIVE_ACK&limit=1000"
    ).json()
    return alarms


def test_every_view_shows_what_the_api_holds(
    console: Console, fleet: Fleet, screenshot_dir: Path
) -> None:
    """Each view draws one element per API item: Gantt operations, map nodes, node rows,
    order rows, route stops, stock rows and open alarm rows; a screenshot of each."""
    console.open("overview")
    on_time = console.page.get_by_test_id("kpi-on-time")
    # No sales order was delivered yet: the KPI says so rather than show a rate.
    assert "no order delivered yet" in on_time.inner_text()
    statuses = sorted({o["status"] for o in fleet.api.get("/api/v1/sales-orders").json()["orders"]})
    kpi_orders = console.page.get_by_test_id("kpi-orders").inner_text()
    assert all(status.replace("_", " ") in kpi_orders for status in statuses)
    # listed in the order an order moves through them (the API's are alphabetical)
    said = console.page.evaluate(
        """async (counts) => (await import('/static/console/views/overview.js'))
             .orderStatus({by_status: counts})""",
        {"delivered": 3, "at_warehouse": 1, "reserved": 2, "failed_delivery": 1},
    )
    assert said == "2 reserved · 1 at warehouse · 3 delivered · 1 failed delivery"
    machines = [n for n in fleet.api.get("/api/v1/nodes").json() if n["kind"] == "machine"]
    up = sum(n["online"] for n in machines)
    assert f"{up} / {len(machines)}" in console.page.get_by_test_id("kpi-machines").inner_text()
    kpi_jobs = console.page.get_by_test_id("kpi-jobs")

    def jobs_by_state() -> str:
        counts: dict[str, int] = {}
        for job in fleet.api.get("/api/v1/jobs?limit=1000").json()["jobs"]:
            counts[job["state"]] = counts.get(job["state"], 0) + 1
        return " · ".join(f"{n} {state}" for state, n in sorted(counts.items()))

    wait_until(lambda: (text := jobs_by_state()) and text in kpi_jobs.inner_text(), timeout_s=15)

    def late_jobs_said() -> bool:  # "1 late job.", "2 late jobs.": counted as a person reads
        n = len(fleet.api.get("/api/v1/plans/schedule").json()["late_jobs"])
        said = f"{n} late job{'' if n == 1 else 's'}."
        return said in console.page.locator("main").inner_text()

    wait_until(late_jobs_said, timeout_s=15)
    console.shot(screenshot_dir, "overview")

    console.open("alarms")
    wait_until(lambda: console.count("alarm-row") == len(_open_alarms(fleet)) > 0)
    console.shot(screenshot_dir, "alarms")
    # Filters: by severity, then free text; the history tab lists past alarms too.
    console.page.locator("#f-severity").select_option("MAJOR")
    # (agents may raise alarms of their own meanwhile: compare until both agree)
    wait_until(
        lambda: (
            console.count("alarm-row")
            == len([a for a in _open_alarms(fleet) if a["severity"] == "MAJOR"])
            > 0
        )
    )
    console.page.locator("#f-severity").select_option("")
    console.page.locator("#f-text").fill("spindle temperature 62.1")
    wait_until(lambda: console.count("alarm-row") == 1)
    console.page.locator("#f-text").fill("")
    console.page.get_by_role("button", name="History").click()
    since = int(time.time() * 1000) - 86_400_000
    wait_until(
        lambda: (
            console.count("alarm-row")
            == len(fleet.api.get(f"/api/v1/alarms?limit=500&since_ms={since}").json())
            > 0
        )
    )

    console.open("fleet")
    nodes = fleet.api.get("/api/v1/nodes").json()
    assert console.count("map-node") == len(nodes) == 5
    # The supply network places every node: the map is geographic, labelled by place.
    assert "supply network" in (console.page.locator("svg.map").get_attribute("aria-label") or "")
    assert "f-yiwu" in (console.page.locator("svg.map").text_content() or "")
    assert console.count("node-row") == len(nodes)
    console.page.locator("[data-testid=map-node][data-node='plant-1/machine-02']").click()
    console.page.wait_for_selector("[data-testid=signal-chart] canvas")
    signals = fleet.api.get(f"/api/v1/nodes/machine-02?site={SITE}").json()["signals"]
    assert console.count("signal-chart") == len(signals)
    console.shot(screenshot_dir, "fleet")

    console.open("production")
    schedule = fleet.api.get("/api/v1/plans/schedule").json()
    operations = [op for ops in schedule["machines"].values() for op in ops]
    assert console.count("gantt-op") == len(operations) > 0
    late = {j["job_id"] for j in schedule["late_jobs"]}
    marked = console.page.locator("[data-testid=gantt-op][data-late=true]")
    assert {marked.nth(i).get_attribute("data-job") for i in range(marked.count())} == late
    assert console.page.locator("svg.gantt .now").count() == 1
    # Why a job is late reads in times and minutes, not in the planner's units.
    [why] = [j for j in schedule["late_jobs"] if j["job_id"] == "job-1"]
    assert why["reason"] == "too_short_window"
    assert "shortest processing" in why["detail"]
    row = console.page.locator("[data-testid=late-row][data-job=job-1]").inner_text()
    assert "at the earliest and needs" in row
    assert "min of machine time" in row
    assert "shortest processing" not in row
    console.shot(screenshot_dir, "production")

    console.open("orders")
    orders = fleet.api.get("/api/v1/orders").json()
    sales = fleet.api.get("/api/v1/sales-orders").json()["orders"]
    assert len(sales) == 2
    held = len(orders["jobs"]) + len(orders["deliveries"])
    assert console.count("order-row") == held + len(sales)
    console.page.get_by_role("button", name="Timeline of order so-1").click()
    timeline = fleet.api.get("/api/v1/sales-orders/so-1").json()["timeline"]
    steps = console.page.locator("ol.timeline li")
    steps.nth(len(timeline) - 1).wait_for()
    assert steps.count() == len(timeline)
    console.shot(screenshot_dir, "orders")

    console.open("routes")
    routes = fleet.api.get("/api/v1/plans/routes").json()["routes"]
    stops = console.page.locator("[data-testid=route-stop]")
    expected = [stop for route in routes for stop in route["stops"]]
    assert [stops.nth(i).get_attribute("data-stop") for i in range(stops.count())] == expected

    def vans_as_listed() -> bool:
        tours = fleet.api.get("/api/v1/plans/routes").json()["tours"]
        rows = console.page.locator("[data-testid=tour-row]")
        shown = [(rows.nth(i).get_attribute("data-vehicle"), rows.nth(i).get_attribute("data-state"))
                 for i in range(rows.count())]  # fmt: skip
        return bool(tours) and shown == [(t["vehicle_id"], t["state"]) for t in tours]

    wait_until(vans_as_listed, timeout_s=10)  # the page refreshes every 2 s
    # a van, its depot, its state and its load each read on one line, never split mid-word,
    # even in a window so narrow that the stops listed squeeze the table
    size = console.page.viewport_size
    console.page.set_viewport_size({"width": 640, "height": 900})
    split = console.page.evaluate(
        """() => [...document.querySelectorAll("[data-testid=tour-row] td.nowrap")]
            .filter(td => { const r = document.createRange(); r.selectNodeContents(td);
                            return r.getClientRects().length > 1; }).length"""
    )
    if size is not None:
        console.page.set_viewport_size(size)
    assert console.page.locator("[data-testid=tour-row] td.nowrap").count() >= 4
    assert split == 0
    console.shot(screenshot_dir, "routes")

    console.open("stock")
    stock = fleet.api.get("/api/v1/stock").json()
    assert console.count("stock-row") == len(stock) > 0
    forecasts = fleet.api.get("/api/v1/forecasts?limit=10000").json()["forecasts"]
    forecast_at = {(f["sku"], f["location"]) for f in forecasts}
    with_forecast = [s for s in stock if (s["sku"], f"{s['site']}/{s['node']}") in forecast_at]
    assert (
        console.page.locator("[data-testid=stock-row] .band-cell svg").count()
        == len(with_forecast)
        > 0
    )
    wait_until(
        lambda: (
            console.page.locator("[data-testid=stock-row] .risk.high").count()
            == sum(c["at_risk"] for c in fleet.api.get("/api/v1/stock/cover").json()["covers"])
        )
    )
    console.page.locator("[data-testid=stock-row]").first.click()
    console.page.wait_for_selector(".chart canvas")
    console.shot(screenshot_dir, "stock")

    console.open("streams")
    streams = fleet.api.get("/api/v1/live-streams").json()["streams"]
    assert [s["id"] for s in streams] == ["evening-show"]
    assert console.count("stream-row") == len(streams)
    assert "SKU-0001, SKU-0002" in console.page.get_by_test_id("stream-row").inner_text()
    console.shot(screenshot_dir, "streams")


def test_a_new_schedule_is_drawn_without_reloading(console: Console, fleet: Fleet) -> None:
    """A re-plan (a new rush job) shows in the Gantt chart of the open page."""
    console.open("production")
    before = fleet.api.get("/api/v1/plans/schedule").json()["version"]
    console.page.evaluate("window.__sameDocument = true")
    job = {"id": "rush-1", "rush": True, "quantity": 5, "operations": [
        {"options": [{"machine": "machine-03", "duration_s": 600}], "family": "lid"}]}  # fmt: skip
    assert fleet.api.post("/api/v1/orders", json={"jobs": [job]}).status_code == 202
    wait_until(lambda: fleet.api.get("/api/v1/plans/schedule").json()["version"] > before)
    console.page.wait_for_selector("[data-testid=gantt-op][data-op='rush-1:0']", timeout=15_000)
    schedule = fleet.api.get("/api/v1/plans/schedule").json()
    ops = sum(len(v) for v in schedule["machines"].values())
    wait_until(lambda: console.count("gantt-op") == ops)
    assert console.page.evaluate("window.__sameDocument") is True


def test_routes_show_depots_and_vehicles_moving(console: Console, fleet: Fleet) -> None:
    """The routes map draws every declared depot, and each vehicle where its agent last
    reported; a newer position moves it on the open page, without reloading."""
    van = "van-1"
    signals = (SignalSpec(name="lat", unit="deg"), SignalSpec(name="lon", unit="deg"))
    now = int(time.time() * 1000)
    birth = Birth(site=SITE, node=van, bd_seq=0, seq=0, ts=now, node_kind="vehicle",
                  signals=signals)  # fmt: skip

    def position(seq: int, lat: float, lon: float) -> Telemetry:
        at = int(time.time() * 1000)
        return Telemetry(site=SITE, node=van, bd_seq=0, seq=seq, ts=at,
                         samples=(("lat", at, lat), ("lon", at, lon)))  # fmt: skip

    feed(fleet.app.state.coordinator, birth, position(1, 29.3300, 120.1100))
    console.open("routes")
    depots = [d["id"] for d in fleet.api.get("/api/v1/plans/fleet").json()["depots"]]
    wait_until(lambda: console.count("route-depot") == len(depots) > 0)
    marker = console.page.locator(f"[data-testid=route-vehicle][data-vehicle={van}]")
    marker.wait_for(timeout=10_000)
    assert float(marker.get_attribute("data-lat") or "nan") == 29.33
    before = marker.locator("polygon").get_attribute("points")
    console.page.evaluate("window.__sameDocument = true")
    feed(fleet.app.state.coordinator, position(2, 29.3600, 120.1150))
    wait_until(lambda: marker.get_attribute("data-lat") == "29.36", timeout_s=10)
    assert marker.locator("polygon").get_attribute("points") != before
    assert console.page.evaluate("window.__sameDocument") is True


_LABEL_CLASHES = """() => {
  const svg = document.querySelector("svg.routes");
  const box = e => e.getBoundingClientRect();
  // every name on the map (the white numbers sit inside their marks)
  const labels = [...svg.querySelectorAll("text:not([fill='#fff'])")].map(box);
  const marks = [...svg.querySelectorAll("g[data-testid] > rect, g[data-testid] > polygon")].map(box);
  const hit = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5
    && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  let clashes = 0;
  labels.forEach((a, i) => {
    clashes += labels.filter((b, j) => i < j && hit(a, b)).length;
    clashes += marks.filter(m => hit(a, m)).length;
  });
  // stop marks covering each other, of one route or of two
  const stops = [...svg.querySelectorAll("g[data-testid=map-stop] > rect")].map(box);
  let stopClashes = 0;
  stops.forEach((a, i) => { stopClashes += stops.filter((b, j) => i < j && hit(a, b)).length; });
  const groups = svg.querySelectorAll("g[data-testid]").length;
  const named = svg.querySelectorAll("g[data-testid] > title").length;
  // every route's line is drawn before (under) every mark
  const lastLine = [...svg.querySelectorAll("polyline")].pop();
  const firstMark = svg.querySelector("g[data-testid]");
  const linesUnder = Boolean(lastLine && firstMark
    && (lastLine.compareDocumentPosition(firstMark) & Node.DOCUMENT_POSITION_FOLLOWING));
  // vans drawn over a stop or a depot
  const vans = [...svg.querySelectorAll("g[data-testid=route-vehicle] > polygon")].map(box);
  const places = [...svg.querySelectorAll("g[data-testid=map-stop] > rect, g[data-testid=route-depot] > rect")].map(box);
  const vanClashes = vans.reduce((n, v) => n + places.filter(p => hit(v, p)).length, 0);
  return {labels: labels.length, clashes, stopClashes, groups, named, linesUnder, vans: vans.length, vanClashes};
}"""


def test_map_labels_never_cover_each_other_or_a_mark(
    console: Console, fleet: Fleet, screenshot_dir: Path
) -> None:
    """Six deliveries a few dozen metres apart, beside the others: on the routes map no
    label covers another label or a mark (a label with no free place is left out), no stop
    mark covers another (stops of one route that near share one, another route's moves
    aside on a line to its place) nor lies under a route's line or a van (a van at a stop
    or a depot is drawn beside it), and every mark names what it is as a tooltip."""
    near = [
        {
            "id": f"near-{k}",
            "location": {"lat": 29.2950 + 0.0004 * k, "lon": 120.0500 + 0.0003 * k},
            "demand": 1,
            "service_s": 60,
        }
        for k in range(6)
    ]
    assert fleet.api.post("/api/v1/orders", json={"deliveries": near}).status_code == 202
    # a van at the first of them, another at a depot: each drawn beside the mark it is at
    depot = fleet.api.get("/api/v1/plans/fleet").json()["depots"][0]
    now = int(time.time() * 1000)
    places = {
        "van-1": (29.2950, 120.0500),
        "van-2": (depot["location"]["lat"], depot["location"]["lon"]),
    }
    for van, (lat, lon) in places.items():  # (a new agent session: van-1 may have reported)
        birth = Birth(site=SITE, node=van, bd_seq=7, seq=0, ts=now, node_kind="vehicle",
                      signals=(SignalSpec(name="lat", unit="deg"), SignalSpec(name="lon", unit="deg")))  # fmt: skip
        at = Telemetry(site=SITE, node=van, bd_seq=7, seq=1, ts=now,
                       samples=(("lat", now, lat), ("lon", now, lon)))  # fmt: skip
        feed(fleet.app.state.coordinator, birth, at)
    console.open("routes")
    wait_until(
        lambda: (
            console.page.locator("[data-testid=map-stop][data-stop*=near-]").count() > 0
            and console.page.locator("[data-testid=route-vehicle]").count() == 2
        ),
        timeout_s=20,
    )
    drawn = console.page.evaluate(_LABEL_CLASHES)
    console.shot(screenshot_dir, "routes-crowded")
    assert drawn["clashes"] == 0, drawn
    assert drawn["stopClashes"] == 0, drawn
    assert drawn["linesUnder"], drawn
    assert drawn["vans"] >= 2, drawn
    assert drawn["vanClashes"] == 0, drawn
    # numbers of stops sharing a mark read as runs: "1–4, 7", not "1, 2, 3, 4, 7"
    assert (
        console.page.evaluate(
            "async () => (await import('/static/console/views/routes.js')).stopRuns([1, 2, 3, 4, 7, 9, 10])"
        )
        == "1–4, 7, 9, 10"
    )
    # what a van waits for reads in words: the receipt of what it brought, or one more plan
    why = console.page.evaluate(
        """async () => {
            const {tourWhy} = await import('/static/console/views/routes.js');
            return [
                tourWhy({state: "unloading", carrying: ["t.job-1", "t.job-2"], stops: []}),
                tourWhy({state: "held", waits_for: "plan", leaves_by_ms: Date.now(), stops: ["a"]}),
                tourWhy({state: "out", reason: "dense", departed_ms: Date.now(), stops: ["a"]}),
            ];
        }"""
    )
    assert why[0] == "unloading t.job-1, t.job-2; leaves once received"
    assert why[1].startswith("planned once more with new deliveries; leaves by ")
    assert why[2].endswith(", full and dense")
    assert drawn["labels"] > 0
    assert drawn["named"] == drawn["groups"]


def test_on_time_rate_counts_delivered_orders_against_their_promise(
    console: Console, fleet: Fleet
) -> None:
    """Once an order is delivered before its promised time, the overview's on-time KPI
    shows the rate and how many delivered orders it counts, and the orders view shows when
    it was delivered where an open order shows its ETA."""
    corrected = fleet.api.post(
        "/api/v1/sales-orders/so-0/status",
        json={"status": "delivered", "reason": "handed over at the door"},
    )
    assert corrected.status_code == 200, corrected.text
    order = corrected.json()
    assert order["updated_ms"] <= order["promise"]["promised_ms"]
    console.open("overview")
    on_time = console.page.get_by_test_id("kpi-on-time")
    wait_until(lambda: "100 %" in on_time.inner_text())
    assert "1 of 1 delivered by the promised time" in on_time.inner_text()
    console.open("orders")
    when = console.page.locator("[data-testid=order-row][data-order=so-0] [data-testid=order-when]")
    wait_until(lambda: when.inner_text().startswith("delivered "))
    assert "(late)" not in when.inner_text()
    still_open = "[data-testid=order-row][data-order=so-1] [data-testid=order-when]"
    assert not console.page.locator(still_open).inner_text().startswith("delivered")


def test_a_new_alarm_appears_without_reloading(console: Console, fleet: Fleet) -> None:
    """An alarm raised in the coordinator appears in the open alarms view over SSE."""
    console.open("alarms")
    console.page.evaluate("window.__sameDocument = true")
    alarm = raise_alarm(
        fleet,
        source="machine-03/vibration_rms_mm_s",
        alarm_type="anomaly.cusum",
        severity="CRITICAL",
        message="vibration 4.2 mm/s on machine-03, 3× its normal",
    )
    row = console.page.locator(f"[data-testid=alarm-row][data-alarm-id='{alarm.alarm_id}']")
    row.wait_for(timeout=10_000)
    assert "vibration 4.2 mm/s on machine-03" in row.inner_text()
    assert console.page.evaluate("window.__sameDocument") is True


def test_acknowledge_clicked_in_the_page_changes_the_alarm(console: Console, fleet: Fleet) -> None:
    """Clicking Acknowledge acknowledges the alarm in the API, as the dev operator."""
    alarm = raise_alarm(
        fleet, source="machine-01/motor_current_a", alarm_type="anomaly.baseline",
        severity="MINOR", message="motor current 9.8 A on machine-01",
    )  # fmt: skip
    console.open("alarms")
    row = console.page.locator(f"[data-testid=alarm-row][data-alarm-id='{alarm.alarm_id}']")
    row.locator("[data-testid=alarm-ack]").click()
    acked = wait_until(
        lambda: (
            (a := fleet.api.get(f"/api/v1/alarms/{alarm.alarm_id}").json()["alarm"])["acknowledged"]
            and a
        )
    )
    assert (acked["status"], acked["ack_by"]) == ("ACTIVE_ACK", "dev")
    # The stream brings the change back: the row loses its button without a reload.
    row.locator("[data-testid=alarm-ack]").wait_for(state="detached", timeout=10_000)


def test_clear_with_a_comment_records_both(console: Console, fleet: Fleet) -> None:
    """Clear… then a comment clears the alarm with that note and stores the comment."""
    alarm = raise_alarm(
        fleet, source="warehouse-01/SKU-0003", alarm_type="low_stock",
        severity="WARNING", message="SKU-0003 low at warehouse-01",
    )  # fmt: skip
    console.open("alarms")
    row = console.page.locator(f"[data-testid=alarm-row][data-alarm-id='{alarm.alarm_id}']")
    row.locator("[data-testid=alarm-clear]").click()
    console.page.locator(f"#note-{alarm.alarm_id}").fill("restocked from the back room")
    console.page.locator("[data-testid=alarm-clear-confirm]").click()
    detail = wait_until(
        lambda: (
            (d := fleet.api.get(f"/api/v1/alarms/{alarm.alarm_id}").json())["alarm"]["cleared"]
            and d
        )
    )
    assert [c["text"] for c in detail["comments"]] == ["restocked from the back room"]
    assert detail["transitions"][-1]["note"] == "restocked from the back room"
    row.wait_for(state="detached", timeout=10_000)  # no longer open


def test_hostile_alarm_text_is_shown_as_text(console: Console, fleet: Fleet) -> None:
    """Markup in an alarm's message is displayed literally, never run or parsed."""
    text = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    alarm = raise_alarm(
        fleet, source="machine-01/x", alarm_type="anomaly.x", severity="MAJOR", message=text
    )
    console.open("alarms")
    row = console.page.locator(f"[data-testid=alarm-row][data-alarm-id='{alarm.alarm_id}']")
    assert text in row.inner_text()
    assert row.locator("img, script").count() == 0
    assert console.page.evaluate("window.__pwned") is None


def test_ages_count_from_the_coordinators_clock(browser: Any, fleet: Fleet) -> None:
    """On a computer whose clock runs two hours ahead of the coordinator's, an alarm raised
    now is seconds old in the alarms view and on the overview, not two hours."""
    alarm = raise_alarm(
        fleet,
        source="machine-02/clock_check",
        alarm_type="anomaly.clock",
        severity="CRITICAL",
        message="raised just now",
    )
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = Console(context.new_page(), fleet.url)
    tab.page.clock.set_system_time(datetime.now(UTC) + timedelta(hours=2))
    try:
        tab.open("alarms")
        row = tab.page.locator(f"[data-testid=alarm-row][data-alarm-id='{alarm.alarm_id}']")
        assert re.fullmatch(r"\d+ s ago", row.locator("td.ago").first.inner_text())
        tab.open("overview")
        urgent = tab.page.get_by_role("row").filter(has_text="raised just now")
        assert re.fullmatch(r"\d+ s ago", urgent.locator("td").last.inner_text())
    finally:
        context.close()
    assert tab.errors == []


def test_no_serious_accessibility_violations(browser: Any, fleet: Fleet) -> None:
    """axe-core (vendored) finds no serious or critical violation on any view."""
    # The page's CSP allows only its own scripts; the test's copy of axe is let in.
    context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
    tab = Console(context.new_page(), fleet.url)
    found: dict[str, list[str]] = {}
    try:
        for view in VIEWS:
            tab.open(view)
            tab.page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
            result = tab.page.evaluate("async () => (await axe.run(document)).violations")
            bad = [
                f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']]}"
                for v in result
                if v["impact"] in ("serious", "critical")
            ]
            if bad:
                found[view] = bad
    finally:
        context.close()
    assert found == {}
    assert tab.errors == []


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """A coordinator with a viewer and an operator token (no dev mode); the fleet is set
    up with an admin's."""
    with running_fleet(
        tmp_path_factory.mktemp("console-secured"),
        api_token=ADMIN,
        dev_mode=False,
        viewer_tokens=[f"vera:{VIEWER}"],
        operator_tokens=[f"otto:{OPERATOR}"],
        admin_tokens=[f"ada:{ADMIN}"],
    ) as running:
        yield running


def _sign_in(tab: Console, token: str) -> None:
    tab.page.goto(tab.url + "/#/alarms")
    tab.page.locator("#token").fill(token)
    tab.page.get_by_role("button", name="Sign in").click()


def test_roles_viewer_sees_operator_acts(browser: Any, secured: Fleet) -> None:
    """A wrong token is refused at sign-in; a viewer sees alarms without the acknowledge
    button; an operator gets it; the token is kept in sessionStorage, not the address."""
    alarm = raise_alarm(
        secured, source="machine-01/spindle_temp_c", alarm_type="anomaly.baseline",
        severity="MAJOR", message="spindle temperature high",
    )  # fmt: skip
    context = browser.new_context()
    tab = Console(context.new_page(), secured.url)
    try:
        _sign_in(tab, "not-a-token")
        tab.page.get_by_text("That token was not accepted.").wait_for()

        tab.page.locator("#token").fill(VIEWER)
        tab.page.get_by_role("button", name="Sign in").click()
        tab.page.wait_for_selector("main[data-ready=alarms]")
        row = tab.page.locator(f"[data-testid=alarm-row][data-alarm-id='{alarm.alarm_id}']")
        row.wait_for()
        assert row.locator("[data-testid=alarm-ack]").is_hidden()
        assert "vera · viewer" in tab.page.locator("#who").inner_text()
        assert VIEWER not in tab.page.url
        assert tab.page.evaluate("sessionStorage.getItem('flexfleet.token')") == VIEWER

        tab.page.get_by_role("button", name="Sign out").click()
        tab.page.locator("#token").fill(OPERATOR)
        tab.page.get_by_role("button", name="Sign in").click()
        tab.page.wait_for_selector("main[data-ready=alarms]")
        row.locator("[data-testid=alarm-ack]").click()
        wait_until(
            lambda: (
                secured.api.get(f"/api/v1/alarms/{alarm.alarm_id}").json()["alarm"]["ack_by"]
                == "otto"
            )
        )
    finally:
        context.close()
    # The refused sign-in answers 401, which the browser reports as a failed resource.
    assert [e for e in tab.errors if "401" not in e] == []


def test_alarm_stream_cut_midway_resyncs_without_loss_or_duplicates(
    browser: Any, fleet: Fleet
) -> None:
    """The connections under the open page are cut; an alarm raised meanwhile shows once
    the stream is back (from its new snapshot), with no alarm lost or listed twice."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    with cuttable(fleet.url) as proxy:
        tab = Console(context.new_page(), proxy.url)
        try:
            tab.open("alarms")
            tab.page.evaluate("window.__sameDocument = true")
            tab.page.locator("#live", has_text="live").wait_for()
            proxy.target = ("127.0.0.1", 9)  # new connections fail until restored
            assert proxy.cut() > 0
            tab.page.locator("#live", has_text="reconnecting").wait_for(timeout=15_000)
            missed = raise_alarm(
                fleet, source="machine-01/spindle_temp_c", alarm_type="anomaly.offline_gap",
                severity="MAJOR", message="raised while the console was cut off",
            )  # fmt: skip
            host, _, port = fleet.url.removeprefix("http://").partition(":")
            proxy.target = (host, int(port))
            tab.page.locator("#live", has_text="live").wait_for(timeout=15_000)
            row = tab.page.locator(f"[data-testid=alarm-row][data-alarm-id='{missed.alarm_id}']")
            row.wait_for(timeout=15_000)
            rows = tab.page.locator("[data-testid=alarm-row]")

            def shown() -> list[str]:
                return [
                    str(rows.nth(i).get_attribute("data-alarm-id")) for i in range(rows.count())
                ]

            wait_until(
                lambda: sorted(shown()) == sorted(a["alarm_id"] for a in _open_alarms(fleet))
            )
            assert len(shown()) == len(set(shown()))
            assert tab.page.evaluate("window.__sameDocument") is True
        finally:
            context.close()
    # The browser reports the cut connections (net::ERR_...); nothing else went wrong.
    assert [e for e in tab.errors if "net::ERR_" not in e] == []
