"""The usage example in the detectors' package docstring runs as written."""

from __future__ import annotations

import doctest

import edge_agent.detectors


def test_package_docstring_example() -> None:
    """doctest of edge_agent.detectors passes (the example is the documented API)."""
    result = doctest.testmod(edge_agent.detectors, verbose=False)
    assert result.attempted >= 5
    assert result.failed == 0
