"""The replenishment rules: which at-risk covers become production jobs, their quantity,
durations, due time and rush flag, and when a receipt closes them."""

from __future__ import annotations

import re
from dataclasses import replace

from coordinator.api.models.orders import MAX_JOB_ID_CHARS
from coordinator.plan.orders.replenishment import (
    DAY_MS,
    MAX_JOB_ID,
    Replenishment,
    apply_receipts,
    job_id,
    jobs_to_submit,
    transfer_id,
)
from coordinator.plan.orders.specs import ProductSpec, StepOption
from coordinator.stock.cover import StockCover
from protocol.topics import ID_PATTERN

NOW_MS = 1_700_000_000_000
CUP = ProductSpec(
    sku="cup",
    operations=(
        (StepOption("press", 30.0, setup_s=600.0), StepOption("press2", 45.0)),
        (StepOption("oven", 10.0),),
    ),
    family="ceramic",
    min_batch=20,
    max_batch=200,
)


def _cover(
    sku: str = "cup",
    *,
    location: str = "s1/w1",
    stock: int = 3,
    at_risk: bool = True,
    p90_days: int | None = 1,
    expected_days: int | None = 4,
    proposed: int = 57,
) -> StockCover:
    return StockCover(
        sku=sku,
        location=location,
        stock=stock,
        horizon_days=28,
        expected_days=expected_days,
        p90_days=p90_days,
        at_risk=at_risk,
        order_up_to=stock + proposed,
        proposed=proposed,
        method="ma28",
    )


def _submit(
    covers: list[StockCover],
    products: dict[str, ProductSpec] | None = None,
    open_jobs: list[Replenishment] | None = None,
) -> list[tuple[str, int, bool]]:
    made = jobs_to_submit(
        covers,
        {"cup": CUP} if products is None else products,
        open_jobs or [],
        now_ms=NOW_MS,
        lead_time_days=2.0,
        next_seq=7,
    )
    return [(j.order.id, j.record.quantity, j.order.rush) for j in made]


def test_an_at_risk_cover_becomes_one_job_sized_timed_and_due_by_its_cover() -> None:
    """57 proposed cups: each option takes 57 × its per-unit time plus its setup, due at
    the P90 run-out day; the mean lasts past the lead time, so it is no rush."""
    [made] = jobs_to_submit(
        [_cover()], {"cup": CUP}, [], now_ms=NOW_MS, lead_time_days=2.0, next_seq=7
    )
    order, record = made.order, made.record
    assert order.id == record.id == "replenish-w1.cup-7"
    assert [dict(op.options) for op in order.operations] == [
        {"press": 57 * 30.0 + 600.0, "press2": 57 * 45.0},
        {"oven": 570.0},
    ]
    assert {op.family for op in order.operations} == {"ceramic"}
    assert order.due_ms == record.due_ms == NOW_MS + DAY_MS
    assert (order.rush, order.release_ms) == (False, None)
    assert (record.site, record.node, record.sku, record.quantity) == ("s1", "w1", "cup", 57)
    assert (record.stock_at_submit, record.received) == (3, 0)
    assert record.submitted_ms == NOW_MS


def test_rush_when_even_the_mean_runs_out_within_the_lead_time() -> None:
    """expected_days 2 with a 2-day lead time is a rush job; unknown or 3 is not."""
    assert _submit([_cover(expected_days=2)])[0][2] is True
    assert _submit([_cover(expected_days=3)])[0][2] is False
    assert _submit([_cover(expected_days=None)])[0][2] is False


def test_the_quantity_is_clamped_to_the_batch_bounds_and_at_least_one() -> None:
    """Below min_batch → min_batch; above max_batch → max_batch; no bounds and nothing
    proposed → 1."""
    assert _submit([_cover(proposed=5)])[0][1] == 20
    assert _submit([_cover(proposed=5000)])[0][1] == 200
    loose = replace(CUP, min_batch=1, max_batch=None)
    assert _submit([_cover(proposed=0)], {"cup": loose})[0][1] == 1
    assert _submit([_cover(proposed=5000)], {"cup": loose})[0][1] == 5000


def test_no_second_job_while_one_is_open_for_the_sku_and_location() -> None:
    """An open job for cup at s1/w1 blocks another there, not at s1/w2; a cover listed
    twice makes one job; numbering goes on."""
    [first] = jobs_to_submit(
        [_cover()], {"cup": CUP}, [], now_ms=NOW_MS, lead_time_days=2.0, next_seq=1
    )
    again = [_cover(), _cover(location="s1/w2"), _cover(location="s1/w2")]
    assert _submit(again, open_jobs=[first.record]) == [("replenish-w2.cup-7", 57, False)]


def test_only_at_risk_covers_of_auto_products_with_a_recipe_make_jobs() -> None:
    """Not at risk, `off`, or no recipe: nothing."""
    assert _submit([_cover(at_risk=False, p90_days=9)]) == []
    assert _submit([_cover()], {"cup": replace(CUP, replenish="off")}) == []
    assert _submit([_cover(sku="mug")]) == []
    assert _submit([_cover()], {}) == []


def test_ids_pass_the_order_id_rule_whatever_the_node_and_sku() -> None:
    """Characters the rule refuses become `_`, long names are cut to 60 characters; the
    sequence number keeps the ids apart."""
    pattern = re.compile(ID_PATTERN)
    long_ids = {job_id("n" * 64, "sku:" + "x" * 60, seq) for seq in (1, 2, 10**9)}
    assert len(long_ids) == 3
    for made in [*long_ids, job_id("w1", "a:b", 3)]:
        assert pattern.match(made), made
        assert len(made) <= MAX_JOB_ID == MAX_JOB_ID_CHARS
    assert job_id("w1", "a:b", 3) == "replenish-w1.a_b-3"


def _open(quantity: int = 40, stock: int = 10) -> Replenishment:
    return Replenishment(
        id="replenish-w1.cup-1",
        seq=1,
        site="s1",
        node="w1",
        sku="cup",
        quantity=quantity,
        stock_at_submit=stock,
        submitted_ms=NOW_MS,
        due_ms=NOW_MS + DAY_MS,
    )


def test_the_receipt_of_its_transfer_closes_the_job() -> None:
    """40 ordered: the receipt of its transfer closes it with what arrived (here 38)."""
    job = _open()
    assert job.transfer_id == transfer_id(job.id) == "t.replenish-w1.cup-1"
    outcome = apply_receipts([job], {job.transfer_id: 38})
    assert (outcome.updated, [(j.id, j.received) for j in outcome.done]) == (
        [],
        [("replenish-w1.cup-1", 38)],
    )


def test_only_its_own_transfer_counts() -> None:
    """Receipts of other transfers leave the job open."""
    job = _open()
    assert apply_receipts([job], {"t.other": 500}) == apply_receipts([job], {})
    assert apply_receipts([job], {"t.other": 500}).done == []


def test_transfer_ids_pass_the_protocol_rule_for_the_longest_job_ids() -> None:
    """A 60-character job id gives a transfer id within the 64 characters of the wire."""
    made = transfer_id(job_id("n" * 64, "x" * 64, 10**9))
    assert len(made) <= 64
    assert re.match(r"^[A-Za-z0-9_.:\-]*$", made)


def test_a_family_at_risk_orders_its_members_due_within_the_can_order_days() -> None:
    """cup at w1 is at risk: the family's bowl at w2 (P90 run-out in 3 days, lead 2 +
    can-order 1) joins it; bowl at w3 (4 days), a plate of another family and anything
    without the rule do not."""
    bowl = replace(CUP, sku="bowl")
    plate = replace(CUP, sku="plate", family="glass")
    products = {"cup": CUP, "bowl": bowl, "plate": plate}
    covers = [
        _cover(),
        _cover("bowl", location="s1/w2", at_risk=False, p90_days=3, proposed=40),
        _cover("bowl", location="s1/w3", at_risk=False, p90_days=4, proposed=40),
        _cover("plate", location="s1/w2", at_risk=False, p90_days=3, proposed=40),
    ]
    made = jobs_to_submit(
        covers, products, [], now_ms=NOW_MS, lead_time_days=2.0, next_seq=1, can_order_days=1.0
    )
    assert [(j.record.sku, j.record.node) for j in made] == [("cup", "w1"), ("bowl", "w2")]
    assert made[1].order.due_ms == NOW_MS + 3 * DAY_MS
    assert [
        j.record.sku
        for j in jobs_to_submit(covers, products, [], now_ms=NOW_MS, lead_time_days=2.0, next_seq=1)
    ] == ["cup"]
    quiet = [c for c in covers if not c.at_risk]
    assert (
        jobs_to_submit(
            quiet, products, [], now_ms=NOW_MS, lead_time_days=2.0, next_seq=1, can_order_days=1.0
        )
        == []
    )
