"""The event head: the shipped ONNX graph, its builder and its numpy definition agree."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from coordinator.forecast.errors import DataError
from coordinator.forecast.events.features import EVENT_FEATURES, MAX_HOURS_TO_STREAM
from coordinator.forecast.events.head import EventHeadParams, apply_event_head
from coordinator.forecast.serving.runtime import EventHeadModel
from coordinator.forecast.training.event_head_export import event_head_onnx

NAN = float("nan")


def _random_rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mean = rng.gamma(0.8, 2.0, n)
    p10 = np.maximum(mean - rng.uniform(0, 2, n), 0)
    p90 = mean + rng.uniform(0, 4, n)
    base = np.stack([mean, p10, mean, p90], axis=1).astype(np.float32)
    events = np.zeros((n, len(EVENT_FEATURES)), np.float32)
    events[:, 0] = rng.choice([0.0, 0.5, 1.0], n)
    events[:, 1] = rng.choice([0.0, 1.0], n)
    events[:, 2] = rng.choice([0.0, 1.0, 3.5, 7.0, MAX_HOURS_TO_STREAM], n)
    events[:, 3] = rng.uniform(0, 30, n)
    events[:, 4] = np.where(rng.random(n) < 0.5, NAN, rng.uniform(-0.5, 5, n))
    events[:, 5] = np.where(rng.random(n) < 0.5, NAN, rng.uniform(0, 3, n))
    return base, events


def test_the_shipped_graph_is_the_one_the_builder_makes() -> None:
    """`event_head.onnx` in the package is byte for byte what `event_head_onnx()` builds."""
    shipped = (resources.files("coordinator.forecast.events") / "event_head.onnx").read_bytes()
    assert shipped == event_head_onnx()


def test_onnxruntime_matches_the_numpy_definition() -> None:
    """On 5,000 random rows (missing uplifts included) the served graph gives the numpy
    head's outputs to float32 precision."""
    base, events = _random_rows(5000, seed=3)
    params = EventHeadParams(past_weight=0.3, pre_uplift=0.4, pre_hours=4.0, uplift_cv=0.7)
    served = EventHeadModel.load().run(base, events, params.as_row())
    expected = apply_event_head(base, events, params)
    np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-4)


def test_rows_without_a_featuring_stream_keep_their_forecast() -> None:
    """stream_on 0 and featured 0: the forecast comes out as it went in, no event units."""
    base, events = _random_rows(1000, seed=4)
    events[:, 0] = 0.0
    events[:, 1] = 0.0
    out = EventHeadModel.load().run(base, events, EventHeadParams(pre_uplift=2.0).as_row())
    np.testing.assert_allclose(out[:, :4], base, rtol=1e-6, atol=1e-6)
    assert (out[:, 4] == 0).all()
    assert (out[:, 5] == 0).all()


def test_past_uplift_and_announcement_are_weighed() -> None:
    """A streaming hour: the announced units alone without a past uplift, else α·mean·past
    + (1 − α)·announced; the SKU's own past wins over its family's."""
    base = np.array([[4.0, 1.0, 4.0, 7.0]] * 3, np.float32)
    events = np.array(
        [
            [1, 1, 0, 10, NAN, NAN],
            [1, 1, 0, 10, NAN, 2.0],
            [1, 1, 0, 10, 3.0, 2.0],
        ],
        np.float32,
    )
    out = apply_event_head(base, events, EventHeadParams(past_weight=0.5))
    assert out[:, 4].tolist() == pytest.approx([10.0, 0.5 * 8 + 5, 0.5 * 12 + 5])
    assert out[:, 0].tolist() == pytest.approx([14.0, 13.0, 15.0])
    assert (out[:, 3] - out[:, 1] > 6.0).all()  # the P10–P90 range widens


def test_pre_stream_hours_take_the_pre_uplift() -> None:
    """Featured, 0 < hours to the stream ≤ pre_hours: mean × (1 + pre_uplift); not before."""
    base = np.array([[2.0, 0.0, 2.0, 5.0]] * 3, np.float32)
    events = np.array(
        [[0, 1, 3, 10, NAN, NAN], [0, 1, 6, 10, NAN, NAN], [0, 1, 7, 10, NAN, NAN]], np.float32
    )
    params = EventHeadParams(pre_uplift=0.5, pre_hours=6.0)
    served = EventHeadModel.load().run(base, events, params.as_row())
    assert served[:, 0].tolist() == pytest.approx([3.0, 3.0, 2.0])


@pytest.mark.parametrize(
    ("base_shape", "events_shape"), [((5, 3), (5, 6)), ((5, 4), (5, 5)), ((5, 4), (4, 6))]
)
def test_malformed_inputs_are_refused(
    base_shape: tuple[int, int], events_shape: tuple[int, int]
) -> None:
    """Wrong widths or row counts raise `DataError` in the numpy head."""
    with pytest.raises(DataError):
        apply_event_head(np.zeros(base_shape), np.zeros(events_shape), EventHeadParams())


@pytest.mark.parametrize("field", ["past_weight", "pre_uplift", "pre_hours", "uplift_cv"])
def test_parameters_out_of_range_are_refused(field: str) -> None:
    """Each parameter has a range; NaN and values past it raise `DataError`."""
    with pytest.raises(DataError, match=field):
        EventHeadParams(**{field: float("nan")})
    with pytest.raises(DataError, match=field):
        EventHeadParams(**{field: 1e9})
