"""The hashed token file: what is stored, who a token is, revocation, hostile files."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from coordinator.access.audit_log import AuditLog
from coordinator.access.scope import Scope
from coordinator.access.tokens import (
    MAX_FILE_BYTES,
    TokenFile,
    TokenFileError,
    parse_token_file,
    token_digest,
)
from coordinator.api.auth import Principal, authenticate, require_all_sites
from coordinator.api.errors import Forbidden, Unauthorized
from coordinator.settings import load_settings


def test_add_stores_only_the_digest(tmp_path: Path) -> None:
    """The clear token is returned once and never written; the file holds its SHA-256."""
    tokens = TokenFile(tmp_path / "t.json")
    entry, token = tokens.add("ana", "operator", ("s1",))
    data = (tmp_path / "t.json").read_bytes()
    assert token.encode() not in data
    assert token_digest(token).encode() in data
    assert len(token) >= 40
    assert entry.sites == ("s1",)
    assert os.stat(tmp_path / "t.json").st_mode & 0o777 == 0o600


def test_a_file_token_gives_its_role_and_sites(tmp_path: Path) -> None:
    """A token from the file authenticates as its name, role and site scope."""
    path = tmp_path / "t.json"
    _, scoped = TokenFile(path).add("ana", "viewer", ("s1", "s2"))
    _, admin = TokenFile(path).add("root", "admin")
    settings = load_settings(token_file=path)
    assert authenticate(settings, scoped) == Principal(
        "ana", "viewer", Scope(frozenset({"s1", "s2"}))
    )
    assert authenticate(settings, admin) == Principal("root", "admin", Scope())
    with pytest.raises(Unauthorized):
        authenticate(settings, scoped + "x")


def test_a_removed_token_stops_working_without_a_restart(tmp_path: Path) -> None:
    """The file is re-read when it changes: removal revokes at the next request."""
    path = tmp_path / "t.json"
    _, token = TokenFile(path).add("ana", "operator")
    _, other = TokenFile(path).add("bob", "viewer")
    settings = SimpleNamespace(token_file=path, dev_mode=False)
    assert authenticate(settings, token).name == "ana"
    TokenFile(path).remove("ana")
    with pytest.raises(Unauthorized):
        authenticate(settings, token)
    assert authenticate(settings, other).name == "bob"


def test_a_site_scoped_token_is_refused_fleet_wide_resources(tmp_path: Path) -> None:
    """`require_all_sites` lets an unscoped admin through and refuses a scoped one (403)."""
    assert asyncio.run(require_all_sites(Principal("root", "admin"))).name == "root"
    with pytest.raises(Forbidden, match="covers only s1"):
        asyncio.run(require_all_sites(Principal("ana", "admin", Scope(frozenset({"s1"})))))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{", "not JSON"),
        (b"[]", "tokens"),
        (b'{"tokens": [1]}', "not an object"),
        (b'{"tokens": [{"name": "a", "role": "root", "sha256": "' + b"0" * 64 + b'"}]}', "role"),
        (b'{"tokens": [{"name": "a", "role": "admin", "sha256": "zz"}]}', "sha256"),
        (
            b'{"tokens": [{"name": "a b", "role": "admin", "sha256": "' + b"0" * 64 + b'"}]}',
            "whitespace",
        ),
        (
            b'{"tokens": [{"name": "a", "role": "admin", "sites": ["../x"], "sha256": "'
            + b"0" * 64
            + b'"}]}',
            "site id",
        ),
        (
            b'{"tokens": [{"name": "a", "role": "admin", "sha256": "'
            + b"0" * 64
            + b'"}, {"name": "a", "role": "viewer", "sha256": "'
            + b"1" * 64
            + b'"}]}',
            "twice",
        ),
        (b" " * (MAX_FILE_BYTES + 1), "over"),
    ],
)
def test_malformed_or_hostile_token_files_are_refused(data: bytes, message: str) -> None:
    """A broken, oversized or hostile token file is refused naming what is wrong."""
    with pytest.raises(TokenFileError, match=message):
        parse_token_file(data)


def test_bad_names_roles_and_duplicates_are_refused(tmp_path: Path) -> None:
    """Adding refuses an empty or colon name, an unknown role, a name taken already and a
    site-scoped metrics token (it could never read /metrics)."""
    tokens = TokenFile(tmp_path / "t.json")
    tokens.add("ana", "viewer")
    for name, role in (("", "viewer"), ("a:b", "viewer"), ("ana", "viewer"), ("x", "root")):
        with pytest.raises(TokenFileError):
            tokens.add(name, role)  # type: ignore[arg-type]
    with pytest.raises(TokenFileError, match="every site"):
        tokens.add("prom", "metrics", ("yiwu-1",))
    assert [e.name for e in tokens.entries()] == ["ana"]


def test_the_cli_prints_the_token_once_and_it_authenticates(tmp_path: Path) -> None:
    """`flexfleet token add` prints a token that the coordinator then accepts."""
    path = tmp_path / "t.json"
    cli = [sys.executable, "-m", "flexfleet", "token", "--file", str(path)]
    out = subprocess.run(
        [*cli, "add", "ana", "--role", "admin", "--site", "s1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    token = out.strip().splitlines()[-1]
    assert authenticate(load_settings(token_file=path), token).role == "admin"
    listed = subprocess.run([*cli, "list"], capture_output=True, text=True, check=True).stdout
    assert listed.startswith("ana\tadmin\ts1\t")
    assert token not in listed


def test_token_changes_are_audited_when_asked(tmp_path: Path) -> None:
    """With `--audit-db`, adding and removing a token each append a chained record."""
    audit_db = tmp_path / "audit.db"
    cli = [
        sys.executable, "-m", "flexfleet", "token", "--file", str(tmp_path / "t.json"),
        "--audit-db", str(audit_db),
    ]  # fmt: skip
    subprocess.run([*cli, "add", "ana", "--role", "viewer"], check=True, capture_output=True)
    subprocess.run([*cli, "remove", "ana"], check=True, capture_output=True)
    log = AuditLog(audit_db)
    records, problem = log.records(), log.verify()
    log.close()
    assert [(r.method, r.path) for r in records] == [
        ("CLI", "token add ana"),
        ("CLI", "token remove ana"),
    ]
    assert problem is None
