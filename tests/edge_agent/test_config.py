"""Configuration: the example file loads; malformed, oversized and hostile files fail clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.config import MAX_CONFIG_BYTES, load_config
from edge_agent.errors import ConfigError
from edge_agent.registers import RegisterEntry, decode_value, read_blocks
from firmware_sim.registers import MACHINE_REGISTER_MAP, RegisterSpec, pack

REPO = Path(__file__).resolve().parents[2]
MINIMAL = '[node]\nsite = "s1"\nnode = "n1"\n'


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "agent.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_example_config_loads_and_matches_the_simulated_register_map() -> None:
    """config/agent.example.toml is valid and reads the registers firmware_sim serves."""
    config = load_config(REPO / "config" / "agent.example.toml")
    assert config.node.node == "press-01"
    assert config.driver.type == "modbus"
    served = {spec.signal: (spec.address, spec.type) for spec in MACHINE_REGISTER_MAP}
    for entry in config.driver.registers:
        assert served[entry.signal] == (entry.address, entry.type)
    assert config.outbox.state_dir.is_absolute()
    assert config.sampling.deadbands["spindle_temp_c"] == 0.2
    assert config.detectors is not None
    assert "enabled" not in config.detectors
    assert {e.signal for e in config.driver.registers if e.stepped} == {"part_count", "state"}
    assert {e.signal: e.mode_signal for e in config.driver.registers if e.mode_signal} == {
        "vibration_rms_mm_s": "state",
        "motor_current_a": "state",
    }


def test_minimal_config_takes_defaults(tmp_path: Path) -> None:
    """Only [node] is required."""
    config = load_config(write(tmp_path, MINIMAL))
    assert config.mqtt.port == 1883
    assert config.sampling.interval_ms == 100
    assert config.outbox.state_dir == tmp_path / "state"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("", "node"),
        ('[node]\nsite = "s1"\n', "node.node"),
        (MINIMAL + "[mqtt]\nbroker = 'http://x:1'\n", "mqtt.broker"),
        (MINIMAL + "[mqtt]\nbroker = 'mqtt://:1883'\n", "mqtt.broker"),
        (MINIMAL + "[mqtt]\nkeepalive_s = '30'\n", "mqtt.keepalive_s"),
        (MINIMAL + "[mqtt]\nkeepalive_s = true\n", "mqtt.keepalive_s"),
        (MINIMAL + "[mqtt]\nwait_for_coordinator = 1\n", "mqtt.wait_for_coordinator"),
        (MINIMAL + "[mqtt]\nreconnect_base_s = nan\n", "mqtt.reconnect_base_s"),
        (MINIMAL + "[sampling]\ninterval_ms = 0\n", "sampling.interval_ms"),
        (MINIMAL + "[sampling]\ninterval_ms = 1e3\n", "sampling.interval_ms"),
        (MINIMAL + "[sampling.deadbands]\nx = -1\n", "sampling.deadbands.x"),
        (MINIMAL + "[sampling.deadbands]\nx = inf\n", "sampling.deadbands.x"),
        (MINIMAL + "[outbox]\nmax_outbox_bytes = 10\n", "outbox.max_outbox_bytes"),
        (MINIMAL + "[outbox]\nmax_outbox_bytes = 99999999999999999\n", "outbox.max_outbox_bytes"),
        (MINIMAL + "[outbox]\nwatermark_wait_s = 0.5\n", "outbox.watermark_wait_s"),
        (MINIMAL + "[outbox]\nwatermark_wait_s = nan\n", "outbox.watermark_wait_s"),
        (MINIMAL + '[outbox]\nwatermark_wait_s = "30"\n', "outbox.watermark_wait_s"),
        (MINIMAL + "[batching]\nmax_samples = 0\n", "batching.max_samples"),
        (MINIMAL + "[typo]\nx = 1\n", "typo"),
        (MINIMAL + "[mqtt]\nbrokr = 'mqtt://h:1'\n", "mqtt.brokr"),
        ('[node]\nsite = "coordinator"\nnode = "n"\n', "node.site"),
        ('[node]\nsite = "a/b"\nnode = "n"\n', "node.site"),
        ('[node]\nsite = "s"\nnode = "#"\n', "node.node"),
        ('[node]\nsite = "s"\nnode = "n"\nkind = "toaster"\n', "node.kind"),
        ('node = "just a string"\n', "node"),
        (MINIMAL + "[driver]\ntype = 'modbus'\n", "driver.registers"),
        (MINIMAL + "[driver]\ntype = 'modbus'\nregisters = [1]\n", "driver.registers[0]"),
        (
            MINIMAL + "[[driver.registers]]\nsignal = 'a'\naddress = 65535\ntype = 'float32'\n",
            "driver.registers[0].address",
        ),
        (
            MINIMAL + "[[driver.registers]]\nsignal = 'a/b'\naddress = 1\n",
            "driver.registers[0].signal",
        ),
        (
            MINIMAL + "[[driver.registers]]\nsignal = 'a'\naddress = 1\nscale = 0\n",
            "driver.registers[0].scale",
        ),
        (
            MINIMAL + "[[driver.registers]]\nsignal = 'a'\naddress = 1\nstepped = 'yes'\n",
            "driver.registers[0].stepped",
        ),
        (
            MINIMAL + "[[driver.registers]]\nsignal = 'a'\naddress = 1\nmode_signal = 'zz'\n",
            "driver.registers[0].mode_signal",
        ),
        (
            MINIMAL + "[[driver.registers]]\nsignal = 'a'\naddress = 1\nmode_signal = 'a'\n",
            "driver.registers[0].mode_signal",
        ),
        (MINIMAL + "[detectors]\nwarmup_samples = -5\n", "detectors.warmup_samples"),
        (MINIMAL + "[detectors]\nbaseline = 3\n", "detectors.baseline"),
        (MINIMAL + "[detectors.per_signal]\nx = 3\n", "detectors.per_signal.x"),
    ],
)
def test_invalid_values_name_the_field(tmp_path: Path, text: str, field: str) -> None:
    """Each invalid setting raises ConfigError naming its dotted field."""
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert info.value.field.startswith(field), (info.value.field, info.value.reason)


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff\xfe\x00garbage",
        b"[node\nsite=",
        b"a = " + b"[" * 100_000 + b"]" * 100_000,
        b'[node]\nsite = "s"\nsite = "t"\n',
        b"x" * (MAX_CONFIG_BYTES + 10),
    ],
    ids=["not-utf8", "truncated", "deeply-nested", "duplicate-key", "oversized"],
)
def test_hostile_files_raise_config_error(tmp_path: Path, payload: bytes) -> None:
    """Binary, truncated, deeply nested, duplicated or huge files raise ConfigError only."""
    with pytest.raises(ConfigError):
        load_config(write(tmp_path, payload))


def test_missing_file_raises_config_error(tmp_path: Path) -> None:
    """A path that does not exist is a ConfigError naming it."""
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")


def test_register_decoding_agrees_with_the_device_encoding() -> None:
    """Every register type round-trips through firmware_sim's packing and the agent's decoding."""
    cases = [
        ("float32", 21.5),
        ("uint32", 123456789.0),
        ("int32", -5.0),
        ("int16", -300.0),
        ("uint16", 30000.0),
    ]

    for kind, value in cases:
        words = pack(value, RegisterSpec("x", 0, kind, scale=0.5))
        assert decode_value(words, RegisterEntry("x", 0, kind, scale=0.5)) == pytest.approx(value)


def test_read_blocks_merge_neighbours_and_respect_the_modbus_limit() -> None:
    """Close registers are read together; no read exceeds 125 registers."""
    entries = tuple(RegisterEntry(f"s{i}", i * 2, "float32") for i in range(100))
    blocks = read_blocks(entries)
    assert all(count <= 125 for _, count in blocks)
    covered = {a for start, count in blocks for a in range(start, start + count)}
    assert all({e.address, e.address + 1} <= covered for e in entries)
    assert read_blocks((RegisterEntry("a", 0, "uint16"), RegisterEntry("b", 1000, "uint16"))) == [
        (0, 1),
        (1000, 1),
    ]
