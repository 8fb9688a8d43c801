"""Coordinator settings: sources, token rules, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from coordinator.errors import ConfigError
from coordinator.settings import load_settings

GOOD = "a-long-enough-viewer-token"
GOOD_OP = "ana:a-long-enough-operator-token"


def test_defaults_refused_outside_dev_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without configured tokens the settings refuse to load unless in dev mode."""
    monkeypatch.delenv("FLEXFLEET_VIEWER_TOKENS", raising=False)
    monkeypatch.delenv("FLEXFLEET_OPERATOR_TOKENS", raising=False)
    with pytest.raises(ConfigError, match="token_file"):
        load_settings()
    assert load_settings(dev_mode=True).viewer_tokens == ()


@pytest.mark.parametrize("token", ["changeme", "short", "operator", "x:changeme"])
def test_placeholder_and_short_tokens_refused(token: str) -> None:
    """Placeholder or short tokens are refused outside dev mode."""
    with pytest.raises(ConfigError):
        load_settings(viewer_tokens=GOOD, operator_tokens=token)


def test_environment_and_toml_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Env vars (FLEXFLEET_ prefix, comma lists) override the TOML file, which overrides defaults."""
    config = tmp_path / "c.toml"
    config.write_text(
        '[coordinator]\nhttp_port = 9001\ninactivity_timeout_s = 5.5\nbroker_url = "mqtt://10.0.0.1:1999"\n'
    )
    monkeypatch.setenv("FLEXFLEET_VIEWER_TOKENS", f"{GOOD}, other-long-viewer-token")
    monkeypatch.setenv("FLEXFLEET_OPERATOR_TOKENS", GOOD_OP)
    monkeypatch.setenv("FLEXFLEET_HTTP_PORT", "9002")
    s = load_settings(config)
    assert s.http_port == 9002
    assert s.inactivity_timeout_s == 5.5
    assert (s.broker_host, s.broker_port) == ("10.0.0.1", 1999)
    assert len(s.viewer_tokens) == 2
    assert load_settings(config, http_port=9003).http_port == 9003


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"broker_url": "http://x"}, "broker_url"),
        ({"broker_url": "mqtt://h:99999"}, "broker_url"),
        ({"http_port": 70000}, "http_port"),
        ({"share_group": "bad/group"}, "share_group"),
        ({"sites": ("east", "a/b")}, "sites"),
        ({"sites": ("coordinator",)}, "sites"),
        ({"sites": ("east", "east")}, "sites"),
        ({"sites": tuple(f"s{i}" for i in range(1001))}, "sites"),
        ({"queue_max_messages": 0}, "queue_max_messages"),
        ({"sqlite_synchronous": "sometimes"}, "sqlite_synchronous"),
        ({"watermark_interval_s": 0.5}, "watermark_interval_s"),  # at most one a second
        ({"watermark_interval_s": 61.0}, "watermark_interval_s"),
        ({"no_such_setting": 1}, "no_such_setting"),
        ({"replenish_can_order_days": -1.0}, "replenish_can_order_days"),
        ({"replenish_can_order_days": 400.0}, "replenish_can_order_days"),
        ({"quality_alarm_p": 0.0}, "quality_alarm_p"),
        ({"quality_window_h": 0}, "quality_window_h"),
        # behind no later than the longest hold: every held tour would borrow a van
        ({"dispatch_behind_s": 3600.0, "dispatch_max_wait_s": 7200.0}, "dispatch_behind_s"),
        ({"dispatch_behind_s": 7200.0, "dispatch_max_wait_s": 7200.0}, "dispatch_behind_s"),
    ],
)
def test_invalid_values_raise_config_error(overrides: dict[str, object], field: str) -> None:
    """Each invalid setting raises ConfigError naming the field."""
    with pytest.raises(ConfigError) as info:
        load_settings(None, dev_mode=True, **overrides)
    assert field in info.value.field


def test_a_short_behind_is_fine_without_lending() -> None:
    """The behind limit only matters while vans are lent."""
    for off in ({"dispatch_lend_vans": False}, {"dispatch_tours": False}):
        settings = load_settings(
            None, dev_mode=True, dispatch_behind_s=3600.0, dispatch_max_wait_s=7200.0, **off
        )
        assert settings.dispatch_behind_s == 3600.0


def test_unreadable_toml_raises_config_error(tmp_path: Path) -> None:
    """A TOML file that does not parse raises ConfigError."""
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"http_port = = \xff")
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(bad, dev_mode=True)


def test_per_node_inactivity_override() -> None:
    """A node-specific inactivity timeout overrides the default."""
    s = load_settings(dev_mode=True, node_inactivity_timeout_s={"m1": 3.0})
    assert (s.inactivity_timeout_for("m1"), s.inactivity_timeout_for("m2")) == (3.0, 60.0)


def test_example_config_file_loads() -> None:
    """The shipped example configuration is valid (tokens come from the environment)."""
    example = Path(__file__).resolve().parents[2] / "config" / "coordinator.example.toml"
    s = load_settings(example, dev_mode=True)
    assert (s.coordinator_id, s.http_port, s.batch_max_bytes) == ("coordinator-1", 8080, 2097152)


def test_sites_from_the_environment_and_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owned sites come as a TOML list or a comma list in FLEXFLEET_SITES; none: every site."""
    assert load_settings(dev_mode=True).sites == ()
    config = tmp_path / "c.toml"
    config.write_text('[coordinator]\nsites = ["east", "north"]\n')
    assert load_settings(config, dev_mode=True).sites == ("east", "north")
    monkeypatch.setenv("FLEXFLEET_SITES", "west, south")
    assert load_settings(config, dev_mode=True).sites == ("west", "south")
