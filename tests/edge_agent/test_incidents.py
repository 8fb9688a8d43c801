"""Machine-level incidents: one machine's raises folded into one incident naming its
signals, statistics alone open none, warm-ups raise none."""

from __future__ import annotations

import math
import random

import pytest

from edge_agent.detection import DetectorBank, check_detector_settings
from edge_agent.detectors import Anomaly
from edge_agent.errors import ConfigError
from edge_agent.incidents import IncidentBook, machine_of
from edge_agent.state_range import RangeSettings, StateRange

IDLE, SETUP, RUN, DOWN = 0.0, 1.0, 2.0, 3.0
NAMES = ("spindle_temp_c", "vibration_rms_mm_s", "motor_current_a", "state")
SIGNALS = [f"m01.{n}" for n in NAMES]


def _bank(settings: dict[str, object] | None = None) -> DetectorBank:
    return DetectorBank(
        settings or {},
        SIGNALS,
        stepped=frozenset({"m01.state"}),
        modes=dict.fromkeys(SIGNALS[:3], "m01.state"),
        units=dict(zip(SIGNALS, ("degC", "mm/s", "A", "code"), strict=True)),
    )


class Plant:
    """One machine at 1 Hz: the spindle warms towards 60 °C (120 s time constant) while
    running and cools towards 22 °C otherwise; vibration and current follow the state.
    `wear` (0 new .. 1 worn) raises all three, as worn parts do; a repair resets it."""

    def __init__(self, bank: DetectorBank, seed: int = 3) -> None:
        self.bank, self.rng = bank, random.Random(seed)
        self.temp, self.t, self.wear = 22.0, 0, 0.0
        self.events: list[dict[str, object]] = []

    def run(
        self,
        state: float,
        seconds: int,
        *,
        vib_per_s: float = 0.0,
        amps_per_s: float = 0.0,
        vib_add: float = 0.0,
        amps_add: float = 0.0,
        heat_c: float = 0.0,
    ) -> None:
        rng, wear = self.rng, self.wear
        for second in range(seconds):
            hot = 60.0 + 12.0 * wear
            # heat_c: an overheat's added heat raises the plateau the spindle heads for
            self.temp += ((hot if state == RUN else 22.0) + heat_c - self.temp) / 120.0
            amps = {RUN: 12.0, SETUP: 2.5, DOWN: 0.0}.get(state, 0.6) * (1.0 + 0.2 * wear)
            amps += amps_per_s * second + amps_add
            vib = {RUN: 2.0, SETUP: 0.4}.get(state, 0.05) * (1.0 + 1.5 * wear)
            vib += vib_per_s * second + vib_add
            values = (
                ("m01.spindle_temp_c", self.temp + rng.gauss(0.0, 0.05)),
                ("m01.vibration_rms_mm_s", vib + rng.gauss(0.0, 0.03 + 0.05 * vib)),
                ("m01.motor_current_a", amps + rng.gauss(0.0, 0.02 + 0.02 * amps)),
                ("m01.state", state),
            )
            self.bank.observe_modes(values)
            for name, value in values:
                self.events += self.bank.events(self.bank.update(name, self.t * 1000, value))
            self.t += 1

    def shifts(self, jobs: int, seed: int = 5) -> None:
        """Cold and warm starts: idle 1–20 min, setups 30–90 s, runs 4–12 min."""
        rng = random.Random(seed)
        for _ in range(jobs):
            self.run(IDLE, rng.randint(60, 1200))
            self.run(SETUP, rng.randint(30, 90))
            self.run(RUN, rng.randint(240, 720))

    def warm_shifts(self, jobs: int, seed: int = 5) -> None:
        """Warm starts only: idle 30–60 s, setups 30–60 s, runs 5–10 min."""
        rng = random.Random(seed)
        for _ in range(jobs):
            self.run(IDLE, rng.randint(30, 60))
            self.run(SETUP, rng.randint(30, 60))
            self.run(RUN, rng.randint(300, 600))


def test_warm_ups_raise_no_incident() -> None:
    """A day of cold and warm starts, warm-up curves and changeovers raises no incident."""
    plant = Plant(_bank())
    plant.shifts(70)
    assert plant.events == []


def test_a_bearing_fault_on_vibration_and_current_is_one_incident_naming_both() -> None:
    """Vibration and current climbing together open one incident that names both."""
    plant = Plant(_bank())
    plant.shifts(40)
    assert plant.events == []
    plant.run(RUN, 240, vib_per_s=0.02, amps_per_s=0.02)
    raised = [e for e in plant.events if e["state"] == "raised"]
    assert raised
    assert {e["name"] for e in plant.events} == {"incident"}
    assert {e["signal"] for e in plant.events} == {"m01"}
    assert not [e for e in plant.events if e["state"] == "cleared"]  # one incident, still open
    data = raised[-1]["data"]
    assert isinstance(data, dict)
    assert set(str(data["signals"]).split(",")) >= {
        "m01.vibration_rms_mm_s",
        "m01.motor_current_a",
    }
    assert "vibration_rms_mm_s.detector" in data
    assert "motor_current_a.score" in data
    assert data["vibration_rms_mm_s.unit"] == "mm/s"
    title = str(raised[-1]["reason"])
    assert " on m01, " in title
    assert "while running, since " in title
    assert " mm/s " in title or " A " in title
    assert len(raised) <= 3  # folded: re-sent only when a new signal joins


def test_a_cold_start_after_a_long_stop_raises_nothing() -> None:
    """Learnt from warm starts only, a start after a four-hour stop (the spindle at room
    temperature, far below every state's range) warms up without an incident."""
    plant = Plant(_bank())
    plant.temp = 60.0  # warm from the first sample: nothing cold is learnt
    plant.warm_shifts(80)
    assert plant.events == []
    plant.run(IDLE, 4 * 3600)
    plant.run(SETUP, 60)
    plant.run(RUN, 900)
    assert plant.events == []


def test_a_machine_back_from_a_repair_relearns_its_normal() -> None:
    """A worn machine repaired (new parts: less vibration, current and heat) raises no
    incident after its repair; without re-learning the same repair raises one."""
    for relearn, incidents in (([3], False), ([], True)):
        plant = Plant(_bank({"states": {"relearn_after": relearn}}))
        plant.wear = 0.8
        plant.warm_shifts(60)
        assert plant.events == []
        plant.run(DOWN, 900)
        plant.wear = 0.0
        plant.warm_shifts(10, seed=6)
        assert bool(plant.events) is incidents


def test_statistics_on_two_signals_at_once_open_an_incident_naming_both() -> None:
    """With corroboration on (and the stay-shift rule off), a shift inside the normal
    ranges on vibration and current together opens one incident; on vibration alone, or
    with corroboration off (the default), it opens none."""
    off = {"shift_strong": 0}
    cases: list[tuple[dict[str, object], float, float, bool]] = [
        ({"incidents": {"corroborate_signals": 2, **off}}, 0.5, 1.0, True),
        ({"incidents": {"corroborate_signals": 2, **off}}, 0.5, 0.0, False),
        ({"incidents": off}, 0.5, 1.0, False),
    ]
    for settings, vib_add, amps_add, opened in cases:
        plant = Plant(_bank(settings))
        plant.shifts(40)
        plant.run(RUN, 300)
        assert plant.events == []
        plant.run(RUN, 180, vib_add=vib_add, amps_add=amps_add)
        raised = [e for e in plant.events if e["state"] == "raised"]
        assert bool(raised) is opened
        if opened:
            data = raised[0]["data"]
            assert isinstance(data, dict)
            assert {str(data[f"{n}.detector"]) for n in NAMES[1:3]} <= {
                "baseline",
                "rate_of_change",
            }
            assert set(str(data["signals"]).split(",")) == set(SIGNALS[1:3])


def _anomaly(signal: str, detector: str, state: str = "raised", ts: int = 0) -> Anomaly:
    return Anomaly(
        signal=signal,
        detector=detector,
        state=state,  # type: ignore[arg-type]
        score=7.0 if state == "raised" else 0.0,
        window=(1.0, 2.0),
        reason="",
        ts_ms=ts,
    )


def test_statistics_alone_open_no_incident_but_join_one() -> None:
    """Baseline raises on one signal open nothing, nor on two with corroboration off; a
    range excursion opens the incident naming them too; it clears once nothing is raised."""
    book = IncidentBook(SIGNALS, judged=SIGNALS[:3])
    assert book.feed([_anomaly("m01.vibration_rms_mm_s", "baseline")]) == []
    assert book.feed([_anomaly("m01.motor_current_a", "baseline", ts=500)]) == []
    assert book.unconfirmed == 2
    (event,) = book.feed([_anomaly("m01.vibration_rms_mm_s", "state_range", ts=1000)])
    assert (event["name"], event["state"], event["signal"]) == ("incident", "raised", "m01")
    assert event["data"]["signals"] == "m01.vibration_rms_mm_s,m01.motor_current_a"
    assert event["data"]["since_ms"] == 1000
    assert book.feed([_anomaly("m01.motor_current_a", "rate_of_change")]) == []  # folded
    for signal, detector in (
        ("m01.motor_current_a", "baseline"),
        ("m01.motor_current_a", "rate_of_change"),
        ("m01.vibration_rms_mm_s", "state_range"),
    ):
        assert book.feed([_anomaly(signal, detector, "cleared")]) == []
    (cleared,) = book.feed([_anomaly("m01.vibration_rms_mm_s", "baseline", "cleared")])
    assert cleared["state"] == "cleared"
    assert not book.is_open("m01")


def test_strong_evidence_opens_alone_and_a_new_signal_re_sends() -> None:
    """A stuck sensor opens an incident alone; another signal joining re-sends it."""
    book = IncidentBook(SIGNALS, judged=SIGNALS[:3])
    (opened,) = book.feed([_anomaly("m01.spindle_temp_c", "flatline")])
    assert opened["severity"] == "WARNING"
    (again,) = book.feed([_anomaly("m01.motor_current_a", "out_of_range")])
    assert again["state"] == "raised"
    assert again["severity"] == "MAJOR"
    assert again["data"]["signals"] == "m01.spindle_temp_c,m01.motor_current_a"


def test_machines_are_told_apart_by_their_prefix() -> None:
    """Signals group by the name before their last dot; a plain name is the node's."""
    assert machine_of("m05.spindle_temp_c") == "m05"
    assert machine_of("line.a.m05.temp") == "line.a.m05"
    assert machine_of("temp") == ""
    book = IncidentBook(["temp", "m02.temp"], judged=["temp", "m02.temp"])
    (node,) = book.feed([_anomaly("temp", "baseline")])  # one judged signal: enough
    assert node["signal"] is None
    assert book.feed([_anomaly("m02.temp", "baseline")])[0]["signal"] == "m02"


def test_incidents_switched_off_publish_each_anomaly() -> None:
    """With incidents off the per-signal anomaly events come back, as before."""
    bank = _bank({"incidents": {"enabled": False}})
    (event,) = bank.events([_anomaly("m01.spindle_temp_c", "baseline")])
    assert (event["name"], event["signal"], event["detector"]) == (
        "anomaly",
        "m01.spindle_temp_c",
        "baseline",
    )


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"incidents": []}, "detectors.incidents"),
        ({"incidents": {"enabled": 1}}, "detectors.incidents.enabled"),
        ({"incidents": {"other": True}}, "detectors.incidents.other"),
        ({"incidents": {"corroborate_signals": 1}}, "detectors.incidents.corroborate_signals"),
        ({"incidents": {"corroborate_signals": "2"}}, "detectors.incidents.corroborate_signals"),
        ({"incidents": {"corroborate_signals": True}}, "detectors.incidents.corroborate_signals"),
        ({"states": {"relearn_after": 3}}, "detectors.states.relearn_after"),
        ({"states": {"relearn_after": [math.nan]}}, "detectors.states.relearn_after"),
        ({"states": {"relearn_samples": 0}}, "detectors.states.relearn_samples"),
        ({"states": {"settle_min_s": -1}}, "detectors.states.settle_min_s"),
        ({"states": {"settle_min_s": math.inf}}, "detectors.states.settle_min_s"),
        ({"states": {"duration_quantile": 0.2}}, "detectors.states.duration_quantile"),
        ({"states": {"range_margin": -1}}, "detectors.states.range_margin"),
        ({"states": {"range_learn_samples": 0}}, "detectors.states.range_learn_samples"),
        ({"states": {"range_confirm_samples": 1.5}}, "detectors.states.range_confirm_samples"),
        ({"states": {"range_enabled": "no"}}, "detectors.states.range_enabled"),
    ],
)
def test_malformed_incident_and_range_settings_are_refused(
    settings: dict[str, object], field: str
) -> None:
    """Every bad incident or range setting is refused, naming its key."""
    with pytest.raises(ConfigError) as err:
        check_detector_settings(settings)
    assert err.value.field == field


def test_a_value_coming_back_to_the_range_is_no_excursion() -> None:
    """A hot machine cooling towards its idle range never raises; one heating away does."""
    cooling = StateRange(RangeSettings(learn_samples=100))
    for i in range(100):
        cooling.update(20.0 + (i % 11))
    assert [cooling.update(60.0 - i) for i in range(25)] == [None] * 25
    heating = StateRange(RangeSettings(learn_samples=100))
    for i in range(100):
        heating.update(20.0 + (i % 11))
    changes = [heating.update(40.0 + i) for i in range(10)]
    assert [c.state for c in changes if c is not None] == ["raised"]


def _learnt_40_to_60() -> StateRange:
    r = StateRange(RangeSettings(learn_samples=100, settle_min_s=60.0))
    for i in range(101):
        r.update(40.0 + (i % 21), ts_ms=i * 1000)
    return r


def _states(
    r: StateRange, values: list[float], before: float | None = None, follows: bool = False
) -> list[str]:
    """Enter a stay (the value before it `before`, else the stay's first) and feed it."""
    r.enter(values[0] if before is None else before, follows=follows)
    changes = [r.update(x, ts_ms=10**6 + i * 1000) for i, x in enumerate(values)]
    return [c.state for c in changes if c is not None]


def test_a_warm_up_is_excused_only_while_on_its_way_in() -> None:
    """A stay that starts far below its range is excused while it heads in; one turning
    further away, overshooting to the other side or staying out past the settle time is
    judged as any other value; so is a value that jumped out at the change of state."""
    assert _states(_learnt_40_to_60(), [20.0 + i for i in range(40)]) == []
    assert _states(_learnt_40_to_60(), [10.0] * 6, before=50.0) == ["raised"]
    assert _states(_learnt_40_to_60(), [20.0, 18.0, 14.0, *[10.0] * 6]) == ["raised"]
    assert _states(_learnt_40_to_60(), [20.0, *[80.0] * 5]) == ["raised"]
    cold = _learnt_40_to_60()
    cold.enter(25.0)
    stuck = [cold.update(25.0, ts_ms=10**6 + i * 1000) for i in range(120)]
    first = next(i for i, c in enumerate(stuck) if c is not None)
    assert 60 < first <= 70  # judged once the settle time (60 s here) is over


def test_the_settle_time_is_learnt_from_the_warm_ups() -> None:
    """Warm-ups taking 68 s (longer than the 60 s allowed at first) widen the excused time
    to twice that; a new stay starts the clock again."""
    r = _learnt_40_to_60()
    for stay in range(3):
        r.enter(20.0)
        start = 10**7 * (stay + 1)
        for i in range(120):
            assert r.update(min(50.0, 20.0 + 0.25 * i), ts_ms=start + i * 1000) is None
    assert r.settle_limit_ms == pytest.approx(136_000, rel=0.02)
    assert _states(r, [25.0] * 130) == []


def test_a_planned_state_follows_its_own_drift_and_nothing_else() -> None:
    """Stays cooling from 60 to 40 teach the low edge its drift: in a planned state a longer
    cooling past it is followed, a stay heating past the high edge is judged; in a state
    that is not planned the same cooling is judged."""

    def cooled(follows: bool) -> StateRange:
        r = _learnt_40_to_60()
        for stay in range(30):
            r.enter(60.0, follows=follows)
            for i in range(21):
                r.update(60.0 - i, ts_ms=10**7 * (stay + 1) + i * 1000)
        return r

    longer = [60.0 - 0.8 * i for i in range(50)]  # down to 20.8, slowing
    assert _states(cooled(True), longer, follows=True) == []
    heating = [50.0 + 2.0 * i for i in range(20)]
    assert _states(cooled(True), heating, follows=True) == ["raised"]
    assert _states(cooled(False), longer) == ["raised"]


def test_a_state_range_learns_raises_after_confirmation_and_clears() -> None:
    """Outside the learnt range by more than the margin for 5 samples raises; back inside
    for 30 clears; a left state releases its raise."""
    r = StateRange(RangeSettings(learn_samples=100))
    for i in range(100):
        assert r.update(20.0 + (i % 11)) is None  # learns 20..30
    assert (r.low, r.high) == (20.0, 30.0)
    assert r.update(31.0) is None  # inside the 10 % margin
    for _ in range(4):
        assert r.update(40.0) is None
    change = r.update(40.0)
    assert change is not None
    assert change.state == "raised"
    assert change.excess == pytest.approx(10.0, abs=0.3)
    assert r.high == pytest.approx(30.0, abs=0.3)  # nothing learnt while raised
    for _ in range(29):
        assert r.update(25.0) is None
    cleared = r.update(25.0)
    assert cleared is not None
    assert cleared.state == "cleared"
    for _ in range(5):
        r.update(-100.0)
    released = r.release()
    assert released is not None
    assert released.state == "cleared"
    assert r.release() is None


def test_a_noisy_state_gets_a_margin_of_its_noise() -> None:
    """A narrow range does not raise on its noise: the margin is at least 4 typical steps."""
    r = StateRange(RangeSettings(learn_samples=10, confirm_samples=1))
    for _ in range(11):
        r.update(5.0, noise=0.5)
    assert r.update(6.9, noise=0.5) is None
    assert r.update(7.1, noise=0.5) is not None
    assert math.isfinite(r.high)
