"""Instance parsers: every supported format, and malformed, oversized and hostile input."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coordinator.plan.errors import InstanceFormatError, InstanceTooLargeError
from coordinator.plan.routing.vrptw_io import parse_solution, parse_vrptw
from coordinator.plan.schedule.jobshop_io import parse_jobshop, parse_jobshop_text, to_problem
from tests.coordinator.plan.plan_fixtures import FT06, SOLOMON_TINY, VRPLIB_TINY

TAILLARD = """\
Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper bound, Lower bound
 2 2 1 1 10 8
Times
 3 4
 5 2
Machines
 1 2
 2 1
"""


def test_orlibrary_text_is_parsed() -> None:
    """OR-Library text gives per-job machines and durations, machines from 0."""
    inst = parse_jobshop_text(FT06, name="ft06")
    assert len(inst.machines) == 6
    assert inst.machines[0] == (2, 0, 1, 3, 5, 4)
    assert inst.durations[0] == (1, 3, 6, 7, 3, 6)
    problem = to_problem(inst)
    assert problem.operation_count() == 36


def test_taillard_text_is_parsed_with_one_based_machines() -> None:
    """Taillard's Times/Machines sections are read and machines renumbered from 0."""
    inst = parse_jobshop(TAILLARD)
    assert inst.durations == ((3, 4), (5, 2))
    assert inst.machines == ((0, 1), (1, 0))


def test_json_entry_is_chosen_by_name() -> None:
    """One instance of a JSON file of several is chosen by name, with its optimum."""
    text = json.dumps(
        {
            "a": {"duration_matrix": [[1]], "machines_matrix": [[0]], "metadata": {"optimum": 1}},
            "b": {"duration_matrix": [[2, 3]], "machines_matrix": [[0, 1]], "metadata": {}},
        }
    )
    assert parse_jobshop(text, instance="a").optimum == 1
    assert parse_jobshop(text, instance="b").durations == ((2, 3),)
    with pytest.raises(InstanceFormatError, match="several instances"):
        parse_jobshop(text)
    with pytest.raises(InstanceFormatError, match="no instance named"):
        parse_jobshop(text, instance="zzz")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage only",
        "2 2\n0 1 1 1\n",  # one job line missing
        "1 2\n0 1 1\n",  # odd count
        "1 1\n0 -5\n",  # negative duration
        "1 1\n-1 5\n",  # negative machine
        "1 1\n0 x\n",
        "0 0\n",
        "Times\n1 2\n",  # Taillard without Machines
        '{"duration_matrix": [[1, 2]], "machines_matrix": [[0]]}',
        '{"duration_matrix": [[true]], "machines_matrix": [[0]]}',
        '{"duration_matrix": "x", "machines_matrix": [[0]]}',
        "[1, 2, 3]",
        "{not json",
        "{" + "[" * 100_000,  # deeply nested: must not crash with RecursionError
    ],
)
def test_malformed_jobshop_input_raises_format_error(text: str) -> None:
    """Malformed job-shop text or JSON raises InstanceFormatError."""
    with pytest.raises(InstanceFormatError):
        parse_jobshop(text)


def test_oversized_jobshop_is_refused_before_parsing_rows() -> None:
    """A header announcing too many operations raises InstanceTooLargeError."""
    with pytest.raises(InstanceTooLargeError):
        parse_jobshop("100000 100000\n")
    with pytest.raises(InstanceTooLargeError):
        parse_jobshop("1 1\n99999999 1\n", max_operations=1000)


def test_solomon_and_vrplib_give_the_same_problem() -> None:
    """The two VRPTW formats of one instance parse to the same customers and fleet."""
    solomon = parse_vrptw(SOLOMON_TINY)
    vrplib = parse_vrptw(VRPLIB_TINY)
    for problem in (solomon, vrplib):
        assert [o.id for o in problem.orders] == ["1", "2", "3"]
        assert [o.demand for o in problem.orders] == [5, 5, 5]
        assert [o.service for o in problem.orders] == [1, 1, 1]
        assert len(problem.vehicles) == 2
        assert problem.vehicles[0].capacity == 20
        assert (problem.depots[0].x, problem.depots[0].y) == (0, 0)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "NAME\nVEHICLE\n2 20\n",  # no customer table
        SOLOMON_TINY.replace("1000          1\n    2", "1000\n    2"),  # short row
        SOLOMON_TINY.replace("    1      10", "    1      1e400"),  # inf coordinate
        SOLOMON_TINY.replace("  2         20", "  -2         20"),  # negative fleet
        SOLOMON_TINY.replace("5          0       1000", "5          900       100"),
        VRPLIB_TINY.replace("EUC_2D", "EXPLICIT"),
        VRPLIB_TINY.replace("DEPOT_SECTION\n1", "DEPOT_SECTION\n9"),
        VRPLIB_TINY.replace("3 5\n4 5", "3 5"),  # a node without demand
        VRPLIB_TINY.replace("2 10 0", "2 ten 0"),
        "NODE_COORD_SECTION\n",
    ],
)
def test_malformed_vrptw_input_raises_format_error(text: str) -> None:
    """Malformed Solomon or VRPLIB text raises InstanceFormatError."""
    with pytest.raises(InstanceFormatError):
        parse_vrptw(text)


def test_oversized_vrptw_is_refused() -> None:
    """More customers than allowed raises InstanceTooLargeError."""
    with pytest.raises(InstanceTooLargeError):
        parse_vrptw(SOLOMON_TINY, max_customers=2)


def test_solution_file_is_parsed() -> None:
    """A VRPLIB .sol gives routes of customer ids and the cost."""
    known = parse_solution("Route #1: 1 2\nRoute #2: 3\nCost 42.5\n")
    assert known.routes == (("1", "2"), ("3",))
    assert known.cost == 42.5
    with pytest.raises(InstanceFormatError):
        parse_solution("Route #1: 1\n")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises_a_foreign_exception(text: str) -> None:
    """Any text either parses or raises the package's own InstanceFormatError."""
    for parse in (parse_jobshop, parse_vrptw):
        with contextlib.suppress(InstanceFormatError):
            parse(text)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-3, 12), min_size=1, max_size=30))
def test_numeric_jobshop_text_never_raises_a_foreign_exception(numbers: list[int]) -> None:
    """Number soup in the OR-Library layout parses or raises InstanceFormatError."""
    text = "\n".join(" ".join(map(str, numbers[i : i + 4])) for i in range(0, len(numbers), 4))
    with contextlib.suppress(InstanceFormatError):
        parse_jobshop(text)
