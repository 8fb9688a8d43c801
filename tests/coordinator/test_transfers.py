"""Made goods travel to the warehouses: where a finished job's units are and where they go."""

from __future__ import annotations

from coordinator.jobs.progress import JobProgress, JobState, OperationProgress, TrackedJob
from coordinator.plan.orders.specs import DepotSpec
from coordinator.sales.network import network_from_json
from coordinator.transfers import (
    Origin,
    destination,
    nearest_depot,
    origin_of,
    pickup_promised_ms,
    transfer_pickup,
)

NETWORK = network_from_json(
    {
        "factories": [
            {"id": "f1", "machines": ["m1"], "location": {"lat": 29.28, "lon": 120.02}},
        ],
        "warehouses": [
            {"id": "w1", "nodes": ["w1"], "location": {"lat": 29.31, "lon": 120.07}},
            {"id": "w2", "nodes": ["w2"], "location": {"lat": 29.35, "lon": 120.07}},
        ],
        "products": [{"sku": "CUP", "factories": ["f1"]}],
    }
)
DEPOTS = [
    DepotSpec("w1", 0, 0, lat=29.31, lon=120.07),
    DepotSpec("w2", 0, 0, lat=29.35, lon=120.07),
    DepotSpec("planar", 0, 0),
]


def _progress(state: JobState, good: int, machine: str = "m1", sku: str = "CUP") -> JobProgress:
    op = OperationProgress("job-1:0", "job-1", machine, "done", good, 1, 1, 2, 2)
    return JobProgress(TrackedJob("job-1", 5, 1, sku), state, good, 1, 1, 2, (op,))


def test_a_finished_jobs_good_units_wait_at_the_factory_of_its_last_machine() -> None:
    """Finished or short with good units: they are at the factory of the machine that made
    them; unfinished, none good, no SKU or a machine of no factory: nowhere to pick up."""
    assert origin_of(_progress("finished", 4), NETWORK) == Origin(
        "job-1", "CUP", 4, (29.28, 120.02)
    )
    assert origin_of(_progress("short", 2), NETWORK) == Origin("job-1", "CUP", 2, (29.28, 120.02))
    assert origin_of(_progress("started", 4), NETWORK) is None
    assert origin_of(_progress("finished", 0), NETWORK) is None
    assert origin_of(_progress("finished", 4, sku=""), NETWORK) is None
    assert origin_of(_progress("finished", 4, machine="m9"), NETWORK) is None
    assert origin_of(None, NETWORK) is None


def test_units_go_to_the_replenished_shelf_or_the_depot_nearest_the_customer() -> None:
    """A replenishment job's units go to its shelf (if it is a depot); a sales order's to
    the located depot nearest its destination; anything else is not carried."""
    shelves = {"replenish-w2-CUP-1": "w2", "replenish-x-CUP-1": "x"}
    near_w1 = {"o-1": (29.30, 120.08)}

    def where(job_id: str) -> str | None:
        return destination(job_id, depots=DEPOTS, shelves=shelves, order_destination=near_w1.get)

    assert where("replenish-w2-CUP-1") == "w2"
    assert where("replenish-x-CUP-1") is None
    assert where("sales.o-1.0.0") == "w1"
    assert where("sales.o-9.0.0") is None
    assert where("operator-job") is None
    assert nearest_depot([DepotSpec("planar", 0, 0)], (29.3, 120.0)) is None
    assert nearest_depot(DEPOTS, (29.36, 120.07)) == "w2"


def test_the_pickup_is_a_transfer_of_the_good_units_bound_to_its_warehouse() -> None:
    """The pickup stop is the transfer `t.{job}`: at the factory, the good units of the
    SKU, a pickup for the destination's vans."""
    pickup = transfer_pickup(
        Origin("job-1", "CUP", 4, (29.28, 120.02)), depot_id="w2", service_s=60.0
    )
    assert (pickup.id, pickup.transfer_id, pickup.action, pickup.sku) == (
        "t.job-1", "t.job-1", "pickup", "CUP",
    )  # fmt: skip
    assert (pickup.demand, pickup.lat, pickup.lon, pickup.depot_id, pickup.service_s) == (
        4, 29.28, 120.02, "w2", 60.0,
    )  # fmt: skip
    assert pickup.promised_ms is None  # no customer waits for it


def test_a_made_parts_pickup_is_promised_with_half_the_orders_margin() -> None:
    """Part 1 of line 0 is ready at 10:00 (promise times in ms); the van needs 20 minutes
    from its warehouse; the order is promised an hour after its ETA: the van should be at
    the factory by 10:50 (readiness, the drive, half the hour), leaving the other half to
    the delivery. A part the promise does not have, or a promise of another shape: None."""
    h, m = 3_600_000, 60_000
    promise = {
        "eta_ms": 12 * h,
        "promised_ms": 13 * h,
        "lines": [{"made": [{"ready_ms": 9 * h}, {"ready_ms": 10 * h}]}],
    }
    assert pickup_promised_ms(promise, 0, 1, drive_out_s=1200.0) == 10 * h + 20 * m + 30 * m
    assert pickup_promised_ms(promise, 0, 0, drive_out_s=0.0) == 9 * h + 30 * m
    assert pickup_promised_ms(promise, 0, 2, drive_out_s=0.0) is None
    assert pickup_promised_ms(promise, 1, 0, drive_out_s=0.0) is None
    assert pickup_promised_ms({"lines": []}, 0, 0, drive_out_s=0.0) is None
    late = {**promise, "promised_ms": 11 * h}  # promised before its ETA: no margin to share
    assert pickup_promised_ms(late, 0, 1, drive_out_s=0.0) == 10 * h
