"""Broker URL parsing, password files, TLS files and failure descriptions (fleet_runtime.mqtt_security)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from fleet_runtime.mqtt_security import (
    MAX_PASSWORD_FILE_BYTES,
    BrokerEndpoint,
    BrokerSecurity,
    describe_connect_error,
    describe_refusal,
    parse_broker_url,
    read_password_file,
    tls_context,
)
from tests.pki import Pki


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("mqtt://broker.plant", BrokerEndpoint("broker.plant", 1883, tls=False)),
        ("mqtts://broker.plant", BrokerEndpoint("broker.plant", 8883, tls=True)),
        ("mqtts://10.0.0.5:18883", BrokerEndpoint("10.0.0.5", 18883, tls=True)),
        ("mqtt://127.0.0.1:1884/", BrokerEndpoint("127.0.0.1", 1884, tls=False)),
    ],
)
def test_broker_urls_and_default_ports(url: str, endpoint: BrokerEndpoint) -> None:
    """mqtt:// is plain on 1883, mqtts:// is TLS on 8883 unless a port is given."""
    assert parse_broker_url(url) == endpoint


@pytest.mark.parametrize(
    "url",
    [
        "http://h:1883",
        "tcp://h:1883",
        "ssl://h:8883",
        "mqtts://:8883",
        "mqtt://h:99999",
        "mqtt://h:port",
        "mqtts://user:secret@h:8883",
        "mqtt://h:1883/topic",
        "mqtt://h:1883?x=1",
        "broker:1883",
    ],
)
def test_malformed_broker_urls_are_refused(url: str) -> None:
    """Other schemes, missing hosts, bad ports, credentials or paths in the URL are refused."""
    with pytest.raises(ValueError, match=r"mqtt|port|host|username|scheme"):
        parse_broker_url(url)


def test_password_file_trailing_newline_stripped(tmp_path: Path) -> None:
    """A password file's trailing newline (LF or CRLF) is not part of the password."""
    path = tmp_path / "pw"
    path.write_bytes(b"s3cret pass\r\n")
    assert read_password_file(path) == "s3cret pass"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"\n", "empty"),
        (b"x" * (MAX_PASSWORD_FILE_BYTES + 1), "larger than 4096"),
        (b"\xff\xfe", "not UTF-8"),
        (b"one\ntwo\n", "one line"),
        (None, "cannot read"),
    ],
)
def test_bad_password_files_are_refused(tmp_path: Path, content: bytes | None, reason: str) -> None:
    """Empty, oversized, binary, multi-line and missing password files are refused with a reason."""
    path = tmp_path / "pw"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=reason):
        read_password_file(path)


def test_tls_context_verifies_certificate_and_host_name(pki: Pki) -> None:
    """The context requires a trusted certificate naming the host, and carries the client cert."""
    context = tls_context(ca_file=pki.ca, cert_file=pki.client_cert, key_file=pki.client_key)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"ca_file": "missing.pem"}, "does not exist"),
        ({"ca_file": "not-pem.txt"}, "no PEM certificate"),
        ({"cert_file": "client_cert"}, "go together"),
        ({"key_file": "client_key"}, "go together"),
        (
            {"cert_file": "client_cert", "key_file": "server_key"},
            "not a PEM certificate and its key",
        ),
        ({"cert_file": "not-pem.txt", "key_file": "client_key"}, "not a PEM certificate"),
    ],
)
def test_unusable_tls_files_are_refused(
    pki: Pki, tmp_path: Path, files: dict[str, str], reason: str
) -> None:
    """Missing or non-PEM files, a certificate without its key and a mismatched key are refused."""
    (tmp_path / "not-pem.txt").write_text("hello\n")
    paths = {
        name: getattr(pki, value) if hasattr(pki, value) else tmp_path / value
        for name, value in files.items()
    }
    with pytest.raises(ValueError, match=reason):
        tls_context(**paths)


def test_password_never_in_repr() -> None:
    """The security settings print without their password."""
    security = BrokerSecurity(tls=True, username="press-01", password="hunter2-long-secret")
    assert "hunter2" not in repr(security)
    assert "press-01" in repr(security)


def test_failure_descriptions_name_the_cause() -> None:
    """A refused login, an untrusted certificate and a refused TCP connection each read clearly."""

    class Code:
        value = 134

        def __str__(self) -> str:
            return "Bad user name or password"

    refusal = describe_refusal(Code(), url="mqtts://b:8883", username="press-01")
    assert "refused the login of user 'press-01'" in refusal
    assert "Bad user name or password" in refusal
    assert "refused the connection: 136" in describe_refusal(136, url="mqtt://b:1", username=None)
    untrusted = ssl.SSLCertVerificationError(1, "certificate verify failed")
    untrusted.verify_message = "self-signed certificate in certificate chain"
    text = describe_connect_error(untrusted, url="mqtts://b:8883")
    assert text.startswith("TLS: mqtts://b:8883 presented a certificate that is not trusted")
    assert "self-signed certificate in certificate chain" in text
    assert "connection refused" in describe_connect_error(
        ConnectionRefusedError(111, "Connection refused"), url="mqtt://b:1"
    )
