"""The import contracts in pyproject.toml cover every package the project ships."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _contract(contract_id: str) -> dict[str, Any]:
    contracts: list[dict[str, Any]] = _pyproject()["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["id"] == contract_id)


def test_contracts_see_every_shipped_package() -> None:
    """import-linter's root packages are exactly the top-level packages setuptools ships."""
    pyproject = _pyproject()
    shipped = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "benchmarks"}
    assert set(pyproject["tool"]["importlinter"]["root_packages"]) == shipped == on_disk


def test_every_package_has_its_floor() -> None:
    """Each shipped package stands on exactly one layer of the layers contract."""
    layers = _contract("layers")["layers"]
    placed = [name.strip() for layer in layers for name in layer.split("|")]
    assert sorted(placed) == sorted(_pyproject()["tool"]["importlinter"]["root_packages"])
    assert layers[-1] == "protocol"
    assert layers[0] == "flexfleet"
