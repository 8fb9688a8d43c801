"""Coordinator settings for the broker login and TLS: mqtts://, username, password from the
environment only, CA and client certificate files checked at load."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from coordinator.errors import ConfigError
from coordinator.settings import load_settings
from tests.pki import Pki


def test_tls_login_settings_load(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    """mqtts:// defaults to 8883; the password comes from FLEXFLEET_BROKER_PASSWORD and
    never shows in the settings' repr."""
    monkeypatch.setenv("FLEXFLEET_BROKER_PASSWORD", "coordinator-secret")
    settings = load_settings(
        dev_mode=True,
        broker_url="mqtts://broker.plant",
        broker_username="coordinator",
        broker_ca_file=pki.ca,
        broker_cert_file=pki.client_cert,
        broker_key_file=pki.client_key,
    )
    assert (settings.broker_host, settings.broker_port) == ("broker.plant", 8883)
    security = settings.broker_security
    assert (security.tls, security.username, security.password) == (
        True,
        "coordinator",
        "coordinator-secret",
    )
    assert "coordinator-secret" not in repr(settings)
    assert "coordinator-secret" not in repr(security)


def test_password_refused_in_the_toml_file(tmp_path: Path) -> None:
    """A broker password written in the TOML file is refused, pointing to the environment."""
    config = tmp_path / "c.toml"
    config.write_text('[coordinator]\nbroker_username = "c"\nbroker_password = "in-clear"\n')
    with pytest.raises(ConfigError, match="FLEXFLEET_BROKER_PASSWORD") as info:
        load_settings(config, dev_mode=True)
    assert info.value.field == "broker_password"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_ca_file_is_refused(tmp_path: Path) -> None:
    """A CA file the process cannot read is refused at load, naming the field."""
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    ca.chmod(0)
    with pytest.raises(ConfigError, match="cannot read") as info:
        load_settings(dev_mode=True, broker_url="mqtts://h", broker_ca_file=ca)
    assert info.value.field == "broker_ca_file"


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"broker_url": "ssl://h:8883"}, "broker_url", "mqtts://"),
        ({"broker_url": "tcp://h:1883"}, "broker_url", "mqtt://"),
        ({"broker_url": "mqtts://u:p@h"}, "broker_url", "username or password"),
        ({"broker_password": "pw-without-user"}, "broker_username", "needs broker_username"),
        ({"broker_username": ""}, "broker_username", "1..256"),
        ({"broker_url": "mqtt://h", "broker_ca_file": "ca"}, "broker_ca_file", "mqtts://"),
        (
            {
                "broker_url": "mqtt://h",
                "broker_cert_file": "client_cert",
                "broker_key_file": "client_key",
            },
            "broker_cert_file",
            "mqtts://",
        ),
        (
            {"broker_url": "mqtts://h", "broker_cert_file": "client_cert"},
            "broker_key_file",
            "together",
        ),
        (
            {"broker_url": "mqtts://h", "broker_key_file": "client_key"},
            "broker_cert_file",
            "together",
        ),
        (
            {"broker_url": "mqtts://h", "broker_ca_file": "missing"},
            "broker_ca_file",
            "does not exist",
        ),
        ({"broker_url": "mqtts://h", "broker_ca_file": "not-pem"}, "broker_ca_file", "no PEM"),
        (
            {
                "broker_url": "mqtts://h",
                "broker_cert_file": "client_cert",
                "broker_key_file": "server_key",
            },
            "broker_cert_file",
            "not a PEM certificate and its key",
        ),
    ],
)
def test_bad_broker_settings_name_the_field(
    tmp_path: Path, pki: Pki, overrides: dict[str, str], field: str, reason: str
) -> None:
    """Each bad broker URL, login or TLS setting raises ConfigError naming the field."""
    (tmp_path / "not-pem").write_text("hello\n")
    resolved: dict[str, object] = {
        key: getattr(pki, value, tmp_path / value) if key.endswith("_file") else value
        for key, value in overrides.items()
    }
    with pytest.raises(ConfigError) as info:
        load_settings(None, dev_mode=True, **resolved)
    assert info.value.field == field
    assert reason in str(info.value)
