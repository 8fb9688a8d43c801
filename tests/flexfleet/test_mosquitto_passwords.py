"""Mosquitto's password file written in Python: the same hashes as `mosquitto_passwd`,
damaged files and unusable usernames refused."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from flexfleet import mosquitto_passwords as pw


def _tool() -> str:
    found = shutil.which("mosquitto_passwd") or shutil.which("mosquitto_passwd", path="/usr/bin")
    if found is None:
        pytest.skip("mosquitto_passwd is not installed")
    return found


def test_hashes_are_those_of_mosquitto_passwd(tmp_path: Path) -> None:
    """A line made by the real tool verifies here, and hashing with its salt gives its hash
    byte for byte; a wrong password does not verify."""
    path = tmp_path / "passwords"
    path.touch()
    subprocess.run([_tool(), "-b", str(path), "press-01", "s3cret pass"], check=True, timeout=30)
    entry = pw.read(path)["press-01"]
    assert pw.matches(entry, "s3cret pass")
    assert not pw.matches(entry, "s3cret pas")
    salt = base64.b64decode(entry.split("$")[3])
    assert pw.hash_entry("s3cret pass", salt=salt) == entry


def test_set_and_remove_keep_other_users_and_a_private_file(tmp_path: Path) -> None:
    """Setting replaces only that user's line, removal only drops that user, mode 0600."""
    path = tmp_path / "passwords"
    pw.set_password(path, "a/one", "first")
    pw.set_password(path, "a/two", "second")
    kept = pw.read(path)["a/two"]
    pw.set_password(path, "a/one", "third")
    entries = pw.read(path)
    assert list(entries) == ["a/one", "a/two"]
    assert entries["a/two"] == kept
    assert pw.matches(entries["a/one"], "third")
    assert pw.remove(path, "a/one") is True
    assert pw.remove(path, "a/one") is False
    assert list(pw.read(path)) == ["a/two"]
    assert path.stat().st_mode & 0o777 == 0o600
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(
    "content",
    [
        b"no colon here\n",
        b":$7$101$x$y\n",  # no username
        b"user:plaintext\n",  # not a hash
    ],
)
def test_a_damaged_file_is_refused(tmp_path: Path, content: bytes) -> None:
    """A line that is not `username:$hash` is named with its line number."""
    path = tmp_path / "passwords"
    path.write_bytes(b"ok:$7$101$AAAA$BBBB\n" + content)
    with pytest.raises(pw.PasswordFileError, match="line 2"):
        pw.read(path)


def test_hostile_sizes_hashes_and_usernames_are_refused(tmp_path: Path) -> None:
    """An oversized file, a hash of another kind or with bad base64, and usernames with a
    colon, a line break or nothing at all are refused, never written."""
    path = tmp_path / "passwords"
    with path.open("wb") as handle:
        handle.truncate(pw.MAX_FILE_BYTES + 1)
    with pytest.raises(pw.PasswordFileError, match="over"):
        pw.read(path)
    for entry in ("$6$salt$hash", "$7$101$!!!$AAAA", "$7$x$AAAA$AAAA"):
        with pytest.raises(pw.PasswordFileError):
            pw.matches(entry, "x")
    other = tmp_path / "other"
    for username in ("a:b", "a\nb:$7$1$A$A", ""):
        with pytest.raises(pw.PasswordFileError):
            pw.set_password(other, username, "x")
    assert not other.exists()
