"""Group commit: callers arriving during a write share the next one, each gets its own
result only once its batch is written, and a failed batch fails its own callers only."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from coordinator.store.group_commit import BatchFailed, GroupCommit
from tests.waiting import wait_until


class GatedWriter:
    """A `write` that records its batches and holds the first one until `release()`;
    batches holding "bad" fail."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.entered = threading.Event()
        self.gate = threading.Event()

    def __call__(self, items: Sequence[str]) -> list[str]:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.entered.set()
            assert self.gate.wait(10)
        if "bad" in items:
            raise OSError("disk full")
        return [f"stored {item}" for item in items]


def _callers(group: GroupCommit[str, str], items: Sequence[str]) -> tuple[
    list[threading.Thread], dict[str, object]]:  # fmt: skip
    answers: dict[str, object] = {}

    def call(item: str) -> None:
        try:
            answers[item] = group.commit(item)
        except BatchFailed as failed:
            answers[item] = failed

    threads = [threading.Thread(target=call, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    return threads, answers


def test_a_lone_caller_writes_its_own_item_at_once() -> None:
    """With nobody else waiting, a commit is one write of its own item."""
    writer = GatedWriter()
    writer.gate.set()
    group: GroupCommit[str, str] = GroupCommit(writer)
    assert group.commit("a") == "stored a"
    assert writer.batches == [["a"]]
    assert group.batches == 1


def test_callers_arriving_during_a_write_share_the_next_one() -> None:
    """While one batch is being written, three more callers queue; they are written in one
    batch after it, and each gets its own result; nobody is answered before its write."""
    writer = GatedWriter()
    group: GroupCommit[str, str] = GroupCommit(writer)
    first, first_answers = _callers(group, ["a"])
    assert writer.entered.wait(10)
    rest, answers = _callers(group, ["b", "c", "d"])
    wait_until(lambda: group.waiting == 3)
    assert first_answers == {}
    assert answers == {}
    writer.gate.set()
    for thread in first + rest:
        thread.join(10)
    assert writer.batches[0] == ["a"]
    assert sorted(writer.batches[1]) == ["b", "c", "d"]
    assert len(writer.batches) == 2
    assert first_answers == {"a": "stored a"}
    assert answers == {"b": "stored b", "c": "stored c", "d": "stored d"}


def test_a_failed_batch_fails_its_own_callers_and_no_others() -> None:
    """A batch whose write raises gives every caller in it `BatchFailed` with the cause;
    the batch before it and callers after it are stored."""
    writer = GatedWriter()
    group: GroupCommit[str, str] = GroupCommit(writer)
    first, first_answers = _callers(group, ["a"])
    assert writer.entered.wait(10)
    rest, answers = _callers(group, ["b", "bad"])
    wait_until(lambda: group.waiting == 2)
    writer.gate.set()
    for thread in first + rest:
        thread.join(10)
    assert first_answers == {"a": "stored a"}
    for item in ("b", "bad"):
        failed = answers[item]
        assert isinstance(failed, BatchFailed)
        assert isinstance(failed.cause, OSError)
    assert group.commit("c") == "stored c"


def test_a_batch_holds_at_most_max_batch_items() -> None:
    """Five callers queued behind a write with `max_batch=2` are written as 2, 2 and 1."""
    writer = GatedWriter()
    group: GroupCommit[str, str] = GroupCommit(writer, max_batch=2)
    first, _ = _callers(group, ["a"])
    assert writer.entered.wait(10)
    rest, answers = _callers(group, ["b", "c", "d", "e", "f"])
    wait_until(lambda: group.waiting == 5)
    writer.gate.set()
    for thread in first + rest:
        thread.join(10)
    assert [len(batch) for batch in writer.batches] == [1, 2, 2, 1]
    assert answers == {item: f"stored {item}" for item in "bcdef"}


def test_a_write_giving_the_wrong_number_of_results_fails_the_batch() -> None:
    """A write that returns fewer results than items fails its callers (no result is
    guessed); `max_batch` below 1 is refused."""
    group: GroupCommit[str, str] = GroupCommit(lambda items: [])
    with pytest.raises(BatchFailed, match="0 results for 1 items"):
        group.commit("a")
    with pytest.raises(ValueError, match="max_batch"):
        GroupCommit(list, max_batch=0)


def test_async_callers_share_batches_without_blocking_their_loop() -> None:
    """Callers on an event loop: while the first batch is held, the loop keeps running
    (a ticker advances), the callers arriving meanwhile are written in one batch after it,
    and each resumes with its own result."""
    writer = GatedWriter()
    group: GroupCommit[str, str] = GroupCommit(writer)

    async def main() -> tuple[list[str], int]:
        first = asyncio.create_task(group.commit_async("a"))
        while not writer.entered.is_set():
            await asyncio.sleep(0.001)
        rest = [asyncio.create_task(group.commit_async(item)) for item in "bcd"]
        ticks = 0
        while group.waiting < 3:
            await asyncio.sleep(0.001)
        for _ in range(5):  # the loop runs while the write is held
            await asyncio.sleep(0.001)
            ticks += 1
        assert not first.done()
        writer.gate.set()
        return list(await asyncio.gather(first, *rest)), ticks

    answers, ticks = asyncio.run(asyncio.wait_for(main(), 10))
    assert ticks == 5
    assert answers == [f"stored {item}" for item in "abcd"]
    assert writer.batches[0] == ["a"]
    assert sorted(writer.batches[1]) == ["b", "c", "d"]
    assert len(writer.batches) == 2


def test_async_and_thread_callers_mix_and_a_failed_batch_fails_async_callers() -> None:
    """An async caller queued behind a thread's write shares the next batch with threads;
    a batch that fails raises `BatchFailed` in its async callers; the next batch works."""
    writer = GatedWriter()
    group: GroupCommit[str, str] = GroupCommit(writer)
    first, first_answers = _callers(group, ["a"])
    assert writer.entered.wait(10)

    async def main() -> object:
        mine = asyncio.create_task(group.commit_async("bad"))
        rest, answers = _callers(group, ["b"])
        while group.waiting < 2:
            await asyncio.sleep(0.001)
        writer.gate.set()
        try:
            await mine
        except BatchFailed as failed:
            outcome: object = failed
        for thread in rest:
            thread.join(10)
        assert isinstance(answers["b"], BatchFailed)
        assert await group.commit_async("c") == "stored c"
        return outcome

    failed = asyncio.run(asyncio.wait_for(main(), 10))
    for thread in first:
        thread.join(10)
    assert first_answers == {"a": "stored a"}
    assert isinstance(failed, BatchFailed)
    assert isinstance(failed.cause, OSError)
    assert sorted(writer.batches[1]) == ["b", "bad"]


def test_a_cancelled_async_caller_still_has_its_item_written() -> None:
    """Cancelling a caller while its batch is held does not take the item back: it is
    written, and the writer thread finishes (a later caller is served)."""
    writer = GatedWriter()
    group: GroupCommit[str, str] = GroupCommit(writer)

    async def main() -> str:
        task = asyncio.create_task(group.commit_async("a"))
        while not writer.entered.is_set():
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        writer.gate.set()
        return await group.commit_async("b")

    assert asyncio.run(asyncio.wait_for(main(), 10)) == "stored b"
    assert writer.batches == [["a"], ["b"]]


@pytest.mark.parametrize(("idle_s", "writers"), [(2.0, 1), (0.0, 5)])
def test_a_steady_stream_of_async_callers_is_written_by_one_thread(
    idle_s: float, writers: int
) -> None:
    """Async callers 20 ms apart, each written alone: the writer thread waits `idle_s` for
    the next before it ends, so one thread serves them all (without it, one per caller)."""
    group: GroupCommit[str, str] = GroupCommit(list, idle_s=idle_s)

    async def main() -> list[str]:
        answers = []
        for item in "abcde":
            answers.append(await group.commit_async(item))
            await asyncio.sleep(0.02)
        return answers

    assert asyncio.run(asyncio.wait_for(main(), 10)) == list("abcde")
    assert group.batches == 5
    assert group.writers == writers


def test_a_negative_idle_time_is_refused() -> None:
    with pytest.raises(ValueError, match="idle_s"):
        GroupCommit(list, idle_s=-1.0)
