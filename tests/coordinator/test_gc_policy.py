"""The coordinator process's garbage-collector policy."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from coordinator.gc_policy import tune_collector
from coordinator.settings import CoordinatorSettings


@pytest.fixture
def restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


@pytest.mark.usefixtures("restored")
def test_a_young_threshold_freezes_what_exists_and_widens_the_young_generation() -> None:
    gc.unfreeze()
    tune_collector(CoordinatorSettings.model_fields["gc_young_threshold"].default)
    assert gc.get_threshold() == (50_000, 20, 10)
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("restored")
def test_zero_keeps_python_s_defaults() -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    tune_collector(0)
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0
