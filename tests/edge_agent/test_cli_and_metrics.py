"""`flexfleet agent` / `flexfleet sim` argument handling, and the metrics text file."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.metrics import render, write_textfile
from flexfleet.cli import main


def test_agent_with_an_invalid_config_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad file is a configuration error (exit 2), not a traceback."""
    path = tmp_path / "bad.toml"
    path.write_text('[node]\nsite = "s"\nnode = "n"\n[mqtt]\nkeepalive_s = "soon"\n')
    assert main(["agent", "--config", str(path)]) == 2
    assert "mqtt.keepalive_s" in capsys.readouterr().err


def test_agent_without_config_needs_site_node_and_state_dir(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without --config the demo flags are required."""
    assert main(["agent", "--site", "s"]) == 2
    assert "--state-dir" in capsys.readouterr().err


def test_agent_rejects_an_invalid_node_id_from_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hostile ids on the command line are refused like those in a file."""
    assert main(["agent", "--site", "a/#", "--node", "n", "--state-dir", str(tmp_path)]) == 2
    assert "node.site" in capsys.readouterr().err


def test_sim_modbus_requires_a_valid_port() -> None:
    """argparse refuses a non-numeric port."""
    with pytest.raises(SystemExit):
        main(["sim", "modbus", "--port", "many"])


def test_metrics_textfile_is_prometheus_text_and_replaced_atomically(tmp_path: Path) -> None:
    """Each counter is one labelled line; the file is replaced whole."""
    text = render({"dropped_samples": 3, "outbox_bytes": 10}, site="s1", node="n1")
    assert 'flexfleet_agent_dropped_samples{site="s1",node="n1"} 3' in text
    assert "# HELP flexfleet_agent_outbox_bytes" in text
    path = tmp_path / "agent.prom"
    write_textfile(path, text)
    write_textfile(path, text)
    assert path.read_text() == text
    assert [p.name for p in tmp_path.iterdir()] == ["agent.prom"]
