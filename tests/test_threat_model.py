"""docs/security.md's threat model: every row names at least one test, and each named test
exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMED = re.compile(r"`([\w/]+\.py)::(test_\w+)`")
INTERFACES = {"MQTT", "API", "Console", "Webhooks", "Agent host and files"}
STRIDE = ("Spoofing", "Tampering", "Repudiation", "Disclosure", "Denial of service", "Elevation")


def _rows() -> list[list[str]]:
    text = (ROOT / "docs/security.md").read_text()
    table = text[text.index("## Threat model") :]
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in table.splitlines()
        if line.startswith("| ") and not line.startswith("| Interface")
    ]


def test_every_row_names_tests_that_exist() -> None:
    """Each row's last cell names `file.py::test_name` entries found in tests/."""
    rows = _rows()
    assert len(rows) >= 30
    for interface, threat, defence, shown_by in rows:
        named = NAMED.findall(shown_by)
        assert named, (interface, threat)
        assert defence
        for path, name in named:
            source = (ROOT / "tests" / path).read_text()
            assert re.search(rf"^(async )?def {name}\(", source, re.M), f"{path}::{name}"


def test_each_interface_meets_each_threat_kind() -> None:
    """Every interface has a row for each of the six STRIDE threats."""
    rows = _rows()
    covered = {(i, t) for i, threat, _, _ in rows for t in STRIDE if threat.startswith(t)}
    for interface in INTERFACES:
        kinds = {t for i, t in covered if i == interface}
        assert kinds == set(STRIDE), (interface, sorted(set(STRIDE) - kinds))
