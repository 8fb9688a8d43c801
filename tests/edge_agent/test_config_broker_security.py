"""Agent configuration of the broker login and TLS: mqtts://, username, password file or
FLEXFLEET_MQTT_PASSWORD, CA and client certificate files, each refused clearly when wrong."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from edge_agent.config import PASSWORD_ENV, AgentConfig, config_from_dict, load_config
from edge_agent.errors import ConfigError
from edge_agent.runner import demo_config
from flexfleet.cli import main
from tests.pki import Pki

NODE = {"site": "s1", "node": "press-01"}


def _config(mqtt: Mapping[str, object], environ: dict[str, str] | None = None) -> AgentConfig:
    return config_from_dict({"node": NODE, "mqtt": mqtt}, environ=environ or {})


def test_tls_login_from_a_toml_file(tmp_path: Path, pki: Pki) -> None:
    """A TOML file with mqtts://, a username, a password file and TLS files (relative paths
    resolve beside the file) loads; the password file's newline is stripped."""
    (tmp_path / "password").write_text("press-01-secret\n")
    (tmp_path / "agent.toml").write_text(
        '[node]\nsite = "s1"\nnode = "press-01"\n[mqtt]\nbroker = "mqtts://broker.plant"\n'
        f'username = "press-01"\npassword_file = "password"\nca_file = "{pki.ca}"\n'
        f'cert_file = "{pki.client_cert}"\nkey_file = "{pki.client_key}"\n'
    )
    mqtt = load_config(tmp_path / "agent.toml").mqtt
    assert (mqtt.host, mqtt.port) == ("broker.plant", 8883)
    security = mqtt.security
    assert (security.tls, security.username, security.password) == (
        True,
        "press-01",
        "press-01-secret",
    )
    assert security.ca_file == pki.ca
    assert "press-01-secret" not in repr(mqtt)


def test_environment_password_wins_over_the_file(tmp_path: Path) -> None:
    """FLEXFLEET_MQTT_PASSWORD, when set, is used instead of the password file."""
    (tmp_path / "password").write_text("from-file")
    mqtt = {"username": "u", "password_file": str(tmp_path / "password")}
    assert _config(mqtt).mqtt.password == "from-file"
    from_env = _config(mqtt, {PASSWORD_ENV: "from-env"})
    assert from_env.mqtt.password == "from-env"
    assert _config({"username": "u"}, {PASSWORD_ENV: "only-env"}).mqtt.password == "only-env"


def test_plain_url_and_no_login_stay_the_default() -> None:
    """Without settings the agent connects plain and anonymous to 127.0.0.1:1883."""
    security = _config({}).mqtt.security
    assert (security.tls, security.username, security.password) == (False, None, None)


@pytest.mark.parametrize(
    ("mqtt", "field", "reason"),
    [
        ({"broker": "ssl://h:8883"}, "mqtt.broker", "mqtts://"),
        ({"broker": "mqtts://u:p@h"}, "mqtt.broker", "username or password"),
        ({"password": "in-clear"}, "mqtt.password", "password_file"),
        ({"password_file": "pw"}, "mqtt.username", "needs a username"),
        ({"username": "u", "password_file": "missing"}, "mqtt.password_file", "cannot read"),
        ({"username": "u", "password_file": "empty"}, "mqtt.password_file", "empty"),
        ({"username": "u", "password_file": "huge"}, "mqtt.password_file", "larger than 4096"),
        ({"username": "a\x00b"}, "mqtt.username", "NUL"),
        ({"username": "u" * 257}, "mqtt.username", "1..256"),
        ({"broker": "mqtt://h", "ca_file": "ca"}, "mqtt.ca_file", "mqtts://"),
        ({"broker": "mqtt://h", "cert_file": "c", "key_file": "k"}, "mqtt.cert_file", "mqtts://"),
        ({"broker": "mqtts://h", "cert_file": "client_cert"}, "mqtt.key_file", "together"),
        ({"broker": "mqtts://h", "key_file": "client_key"}, "mqtt.cert_file", "together"),
        ({"broker": "mqtts://h", "ca_file": "missing"}, "mqtt.ca_file", "does not exist"),
        ({"broker": "mqtts://h", "ca_file": "empty"}, "mqtt.ca_file", "no PEM certificate"),
        (
            {"broker": "mqtts://h", "cert_file": "client_cert", "key_file": "server_key"},
            "mqtt.cert_file",
            "not a PEM certificate and its key",
        ),
    ],
)
def test_bad_login_and_tls_settings_name_the_field(
    tmp_path: Path, pki: Pki, mqtt: dict[str, str], field: str, reason: str
) -> None:
    """Each bad broker URL, login or TLS setting raises ConfigError naming the field and why."""
    (tmp_path / "empty").write_text("\n")
    (tmp_path / "huge").write_text("x" * 5000)
    resolved = {
        key: str(getattr(pki, value, tmp_path / value))
        if key.endswith("_file") and isinstance(value, str)
        else value
        for key, value in mqtt.items()
    }
    with pytest.raises(ConfigError) as info:
        config_from_dict({"node": NODE, "mqtt": resolved}, base_dir=tmp_path, environ={})
    assert info.value.field == field
    assert reason in info.value.reason


def test_environment_password_without_username_is_refused() -> None:
    """A password from the environment with no username is refused, naming the variable."""
    with pytest.raises(ConfigError, match=PASSWORD_ENV):
        _config({}, {PASSWORD_ENV: "secret"})


def test_flag_mode_takes_the_same_settings(tmp_path: Path, pki: Pki) -> None:
    """`flexfleet agent --username … --password-file … --ca-file …` builds the same config."""
    (tmp_path / "pw").write_text("flag-secret\n")
    config = demo_config(
        site="s1",
        node="n1",
        broker="mqtts://localhost:18883",
        username="n1",
        password_file=tmp_path / "pw",
        ca_file=pki.ca,
        state_dir=tmp_path / "state",
    )
    assert config.mqtt.security.password == "flag-secret"
    assert config.mqtt.security.ca_file == pki.ca


def test_cli_flags_refuse_bad_login_and_tls_settings(
    tmp_path: Path, pki: Pki, capsys: pytest.CaptureFixture[str]
) -> None:
    """`flexfleet agent` flags go through the same checks: exit 2 naming the setting."""
    base = ["agent", "--site", "s1", "--node", "n1", "--state-dir", str(tmp_path / "state")]
    assert main([*base, "--broker", "mqtt://h", "--ca-file", str(pki.ca)]) == 2
    assert "mqtt.ca_file: TLS files need an mqtts:// broker" in capsys.readouterr().err
    (tmp_path / "empty").write_text("")
    flags = ["--username", "n1", "--password-file", str(tmp_path / "empty")]
    assert main([*base, *flags]) == 2
    assert "mqtt.password_file:" in capsys.readouterr().err
