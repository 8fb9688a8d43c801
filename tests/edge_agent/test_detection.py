"""The detector bank: stepped signals (state codes, counters, totals) default to hard
limits and missing data only, under any per-signal settings."""

from __future__ import annotations

from edge_agent.detection import DetectorBank
from edge_agent.drivers.sim import SimMachinesDriver, SimWarehouseDriver


def _count_steps(
    bank: DetectorBank, *, signal: str = "count", value_after: float = 1.0
) -> list[str]:
    """A counter at rest for 60 s at 10 Hz, then one step: the detectors' raises."""
    raised = []
    for i in range(601):
        value = 0.0 if i < 600 else value_after
        raised += [
            a.detector for a in bank.update(signal, 1_000 + 100 * i, value) if a.state == "raised"
        ]
    return raised


def test_a_stepped_signal_is_not_alarmed_for_stepping() -> None:
    """The first part made after a quiet spell raises baseline and rate-of-change on a plain
    signal; declared stepped, it raises nothing, while its hard limit still applies."""
    assert set(_count_steps(DetectorBank({}, ["count"]))) >= {"baseline", "rate_of_change"}
    stepped = DetectorBank({}, ["count"], stepped=frozenset({"count"}))
    assert _count_steps(stepped) == []
    limited = DetectorBank(
        {"out_of_range": {"max_value": 5.0}}, ["count"], stepped=frozenset({"count"})
    )
    assert _count_steps(limited, value_after=9.0) == ["out_of_range"]


def test_per_signal_settings_go_over_the_stepped_defaults_and_survive_a_reconfigure() -> None:
    """An operator may switch a detector back on for one stepped signal; a live config
    change keeps the stepped defaults of the others; unknown stepped names are ignored."""
    bank = DetectorBank(
        {"per_signal": {"count": {"baseline": {"enabled": True}}}},
        ["count", "state", "temp"],
        stepped=frozenset({"count", "state", "not-a-signal"}),
    )
    count, state, temp = (bank.monitors[s].config for s in ("count", "state", "temp"))
    assert (count.baseline.enabled, count.rate_of_change.enabled) == (True, False)
    assert (state.baseline.enabled, state.flatline.enabled, state.missing.enabled) == (
        False,
        False,
        True,
    )
    assert (temp.baseline.enabled, temp.rate_of_change.enabled) == (True, True)
    bank.reconfigure({"baseline": {"raise_score": 9.0}})
    state = bank.monitors["state"].config
    assert (state.baseline.enabled, state.baseline.raise_score) == (False, 9.0)
    assert bank.monitors["count"].config.baseline.enabled is False  # the override was replaced


def test_the_simulated_devices_declare_their_stepped_signals() -> None:
    """Machines: the part counter and the state code of each; a warehouse: all of its
    signals (counts, totals and a flag). Each is one of the signals the device reports."""
    machines = SimMachinesDriver(machines=2, seed=1, start_s=0.0, free_running=True)
    assert machines.stepped_signals() == {
        "m01.part_count", "m01.state", "m02.part_count", "m02.state"
    }  # fmt: skip
    assert machines.stepped_signals() <= {s.name for s in machines.signals()}
    warehouse = SimWarehouseDriver(skus=3, seed=1, start_s=0.0)
    assert warehouse.stepped_signals() == {s.name for s in warehouse.signals()}


def test_a_modbus_device_declares_what_its_register_map_says() -> None:
    """`stepped` and `mode_signal` of the register tables reach the detector bank's inputs."""
    from edge_agent.drivers.modbus import ModbusDriver
    from edge_agent.registers import parse_register_map
    from fleet_runtime.clock import FakeClock

    registers = parse_register_map(
        [
            {"signal": "amps", "address": 0, "type": "float32", "mode_signal": "state"},
            {"signal": "state", "address": 2, "stepped": True},
        ]
    )
    driver = ModbusDriver(
        host="127.0.0.1", port=1, unit_id=1, registers=registers, clock=FakeClock()
    )
    try:
        assert driver.stepped_signals() == {"state"}
        assert driver.mode_signals() == {"amps": "state"}
    finally:
        driver.close()
