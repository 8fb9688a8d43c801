"""The `flexfleet` command line: dispatch and help."""

from __future__ import annotations

import subprocess
import sys

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
    """`flexfleet demo --agents 0 --warehouses 0` is refused with a clear message."""
    with pytest.raises(SystemExit, match="at least one agent"):
        main(["demo", "--agents", "0", "--warehouses", "0"])


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
