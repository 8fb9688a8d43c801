"""The README is the front door: its folder map matches the tree, and no text cites a document
or an ADR that is not in the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Made by tools, never committed (see .gitignore).
NOT_SOURCE = re.compile(r"^(\..*|.*\.egg-info|__pycache__|build|var)$")
ADR_DIR = ROOT / "docs" / "adr"


def _texts() -> list[Path]:
    """Every text that may cite a document: the docs, code, tests, benchmarks and build files
    (the CHANGELOG is history, and stays as it was written)."""
    found = [*ROOT.glob("*.md"), *ROOT.glob("docs/**/*.md"), *ROOT.glob("pyproject.toml")]
    for folder in ("protocol", "fleet_runtime", "firmware_sim", "edge_agent", "coordinator"):
        found += (ROOT / folder).rglob("*.py")
    found += [*(ROOT / "flexfleet").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]
    found += [*(ROOT / "benchmarks").rglob("*.py"), *(ROOT / "scripts").iterdir()]
    found += [ROOT / "Makefile", ROOT / "Dockerfile", ROOT / "docker-compose.yml"]
    return [p for p in found if p.name != "CHANGELOG.md" and "__pycache__" not in p.parts]


def _read_texts() -> list[tuple[Path, str]]:
    """Each text that may cite a document, with its path relative to the repository."""
    return [(p.relative_to(ROOT), p.read_text(encoding="utf-8")) for p in _texts()]


def test_readme_folder_map_matches_the_tree() -> None:
    """The README's folder map names exactly the top-level folders of the repository."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Folder map", 1)[1].split("\n## ", 1)[0]
    mapped = set(re.findall(r"^\| `([\w.-]+)/` \|", section, flags=re.MULTILINE))
    on_disk = {p.name for p in ROOT.iterdir() if p.is_dir() and not NOT_SOURCE.match(p.name)}
    assert mapped == on_disk


def test_readme_is_a_front_door() -> None:
    """The README stays short: about 120 lines at most, the manual lives in docs/."""
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 120


def test_every_cited_document_exists() -> None:
    """Each `*.md` path named in the docs, code, tests and build files is a file of the repo."""
    missing = []
    for path, text in _read_texts():
        for cited in set(re.findall(r"[\w./-]*\w\.md\b", text)):
            if not (ROOT / cited).is_file() and not (ROOT / path.parent / cited).is_file():
                missing.append(f"{path}: {cited}")
    assert missing == []


def test_adrs_are_numbered_without_holes_with_status_and_date() -> None:
    """ADR files are 0001..N in order, each titled with its number and carrying a status
    line and a date."""
    adrs = sorted(ADR_DIR.glob("*.md"))
    assert [int(p.name[:4]) for p in adrs] == list(range(1, len(adrs) + 1))
    for number, path in enumerate(adrs, start=1):
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith(f"# {number}. "), path.name
        assert re.search(
            r"(?m)^- Status: (proposed|accepted|superseded|deprecated)", "\n".join(lines[:6])
        )
        assert re.search(r"(?m)^- Date: \d{4}-\d{2}-\d{2}", "\n".join(lines[:6])), path.name


def test_adr_references_name_existing_adrs() -> None:
    """Every `ADR n` or `docs/adr/000n-…` cited names an ADR that exists."""
    count = len(list(ADR_DIR.glob("*.md")))
    wrong = []
    for path, text in _read_texts():
        for number in re.findall(r"\bADR (\d+)\b", text):
            if not 1 <= int(number) <= count:
                wrong.append(f"{path}: ADR {number}")
    assert wrong == []
