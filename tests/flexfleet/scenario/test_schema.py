"""Scenario files: the shipped one loads, and a bad file names the field and its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexfleet.scenario.schema import (
    MAX_BYTES,
    ScenarioError,
    line_of,
    load_scenario,
    parse_scenario,
)

SMALL = Path(__file__).with_name("small.toml")


def _text() -> str:
    return SMALL.read_text()


def _error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, source="t.toml")
    return caught.value


def test_shipped_yiwu_livestream_has_the_size_the_issue_asks() -> None:
    """yiwu-livestream: 3 factories, 12 machines, 4 families, 4 warehouses, 200 SKUs, 30 days."""
    s = load_scenario("yiwu-livestream")
    assert len(s.factories) == 3
    assert sum(len(f.machines) for f in s.factories) == 12
    assert len(s.families) == 4
    assert len(s.warehouses) == 4
    assert s.catalog.skus == 200
    assert s.days == 30
    assert s.streams
    assert s.spikes


def test_machine_in_two_factories_is_refused_with_its_line() -> None:
    """A machine id used by a second factory names that machine entry and its line."""
    text = _text().replace('id = "m3"', 'id = "m1"')
    err = _error(text)
    assert err.field == "factory[1].machine[0].id"
    assert "already belongs to factory 'f-a'" in err.reason
    assert text.splitlines()[err.line - 1].strip() == 'id = "m1"'
    assert err.line > text.splitlines().index('id = "f-b"')


def test_unknown_family_in_a_machine_names_the_field_and_line() -> None:
    """A machine naming an undeclared family fails on its `families` line."""
    text = _text().replace('families = ["toys"]', 'families = ["lamps"]')
    err = _error(text)
    assert err.field == "factory[0].machine[1].families"
    assert text.splitlines()[err.line - 1] == 'families = ["lamps"]'


def test_unknown_sku_in_a_stream_is_refused() -> None:
    """A stream featuring a SKU the catalog lacks fails before anything runs."""
    text = _text().replace("featured = 3", 'featured = 3\nsku = ["sku-9999"]')
    err = _error(text)
    assert err.field == "stream[0].sku"
    assert "sku-9999" in err.reason
    assert text.splitlines()[err.line - 1] == 'sku = ["sku-9999"]'


def test_explicit_sku_with_an_unknown_maker_is_refused() -> None:
    """An explicit SKU made by an undeclared factory names `sku[0].makers`."""
    text = _text() + '\n[[sku]]\nid = "x1"\nfamily = "toys"\nmakers = ["f-zz"]\nrate_per_day = 1\n'
    err = _error(text)
    assert err.field == "sku[0].makers"
    assert text.splitlines()[err.line - 1] == 'makers = ["f-zz"]'


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("cycle_s = 120", 'cycle_s = "fast"', "family[0].cycle_s"),
        ("cycle_s = 120", "cycle_s = -1", "family[0].cycle_s"),
        (
            "lat = 30.27\nlon = 120.15\nvehicles",
            "lat = 130.0\nlon = 120.15\nvehicles",
            "warehouse[0].lat",
        ),
        ("share = 0.4", "share = 0.5", "region"),
        ("skus = 20", "skus = 20\ncolour = 1", "catalog.colour"),
        ("day = 1\n", "day = 9\n", "stream[0].day"),
        ('close = "22:00"', 'close = "05:00"', "factory[0].close"),
        ('id = "f-a"', 'id = "bad id!"', "factory[0].id"),
        ("delivery_day_h = 12", "delivery_day_h = 25", "delivery.delivery_day_h"),
        ("delivery_day_h = 12", "delivery_day_h = 0", "delivery.delivery_day_h"),
        ("delivery_day_h = 12", "waves_per_day = 4", "delivery.waves_per_day"),
    ],
)
def test_malformed_values_name_their_field(old: str, new: str, field: str) -> None:
    """Wrong types, out-of-range numbers, unknown keys and bad ids each name their field."""
    text = _text().replace(old, new, 1)
    assert text != _text()
    err = _error(text)
    assert err.field == field
    assert err.line > 0
    assert f"t.toml:{err.line}: {field}" in str(err)


def test_broken_toml_reports_the_parser_line() -> None:
    """Text that is not TOML is an error with the line the parser names."""
    err = _error('name = "x"\ndays = 2\n[[family]\n')
    assert err.field == "file"
    assert err.line == 3


def test_oversized_and_hostile_files_are_refused(tmp_path: Path) -> None:
    """A file over the size cap, a binary file and a missing file are clear errors."""
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * MAX_BYTES)
    with pytest.raises(ScenarioError, match="larger than"):
        load_scenario(str(big))
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(ScenarioError, match="UTF-8"):
        load_scenario(str(binary))
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(str(tmp_path / "missing.toml"))


def test_line_of_finds_keys_inside_the_nth_table() -> None:
    """line_of walks arrays of tables to the n-th entry and finds the key there."""
    text = "[[a]]\nx = 1\n[[a]]\nx = 2\n[[a.b]]\ny = 3\n"
    assert line_of(text, "a[1].x") == 4
    assert line_of(text, "a[1].b[0].y") == 6
    assert line_of(text, "a[0].missing") == 1
