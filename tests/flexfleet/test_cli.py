"""The `flexfleet` command line: dispatch and help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flexfleet.cli import COMMANDS, build_parser, main


def test_every_listed_command_group_is_installed() -> None:
    """Each command group named in the dispatcher is importable and registered."""
    parser = build_parser()
    for name in COMMANDS:
        with pytest.raises(SystemExit) as info:
            parser.parse_args([name, "--help"])
        assert info.value.code == 0


def test_missing_command_is_a_usage_error() -> None:
    """Running with no command exits with argparse's usage error code."""
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_module_entry_point_prints_help() -> None:
    """`python -m flexfleet --help` works and names the command groups."""
    result = subprocess.run(
        [sys.executable, "-m", "flexfleet", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in result.stdout
    assert "coordinator" in result.stdout


def test_demo_refuses_empty_fleet() -> None:
    """`flexfleet demo --factories 0` is refused with a clear message."""
    with pytest.raises(SystemExit, match=r"1\.\.9 factories"):
        main(["demo", "--factories", "0"])


def test_only_the_chosen_command_group_is_imported() -> None:
    """`flexfleet agent ...` imports the agent's command module and no other group's."""
    probe = (
        "import sys\n"
        "from flexfleet.cli import main\n"
        "try:\n"
        "    main(['agent', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('flexfleet.commands.'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.split()[-1:] == ["flexfleet.commands.agent"]
    assert "flexfleet.commands.coordinator" not in result.stdout


def test_coordinator_reads_its_broker_password_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--broker-password-file` gives the password (one line); FLEXFLEET_BROKER_PASSWORD wins
    when set; a missing, empty or oversized file stops the command with exit code 2 before
    anything starts."""
    from flexfleet.commands.coordinator import _broker_password

    monkeypatch.delenv("FLEXFLEET_BROKER_PASSWORD", raising=False)
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    assert _broker_password(secret) == "s3cret"
    assert _broker_password(None) is None
    monkeypatch.setenv("FLEXFLEET_BROKER_PASSWORD", "from-env")
    assert _broker_password(secret) is None  # the settings take the variable
    monkeypatch.delenv("FLEXFLEET_BROKER_PASSWORD")
    (tmp_path / "empty").write_text("")
    (tmp_path / "huge").write_bytes(b"x" * 10_000)
    for bad in ("missing", "empty", "huge"):
        argv = ["coordinator", "--broker-password-file", str(tmp_path / bad), "--dev"]
        assert main(argv) == 2
        assert "--broker-password-file" in capsys.readouterr().err
