"""The coordinator process's garbage collection and thread switching."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from coordinator.process_tuning import tune_collector, tune_process
from coordinator.settings import CoordinatorSettings


@pytest.fixture
def restored() -> Iterator[None]:
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        sys.setswitchinterval(interval)


def _default(name: str) -> object:
    return CoordinatorSettings.model_fields[name].default


@pytest.mark.usefixtures("restored")
def test_the_defaults_widen_the_young_generation_and_shorten_the_switch_interval() -> None:
    gc.unfreeze()
    sys.setswitchinterval(0.005)
    young, switch = _default("gc_young_threshold"), _default("gil_switch_interval_s")
    assert isinstance(young, int)
    assert isinstance(switch, float)
    tune_process(young_threshold=young, switch_interval_s=switch)
    assert gc.get_threshold() == (50_000, 20, 10)
    assert gc.get_freeze_count() > 0
    assert sys.getswitchinterval() == pytest.approx(0.001)


@pytest.mark.usefixtures("restored")
def test_zero_keeps_python_s_defaults() -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    sys.setswitchinterval(0.005)
    tune_process(young_threshold=0, switch_interval_s=0)
    tune_collector(0)
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0
    assert sys.getswitchinterval() == pytest.approx(0.005)
