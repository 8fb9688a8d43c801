"""The in-process SSE broadcaster: cross-thread delivery, site filter, bounded queues."""

from __future__ import annotations

import asyncio
import threading

import pytest

from coordinator.notify.broadcast import AlarmBroadcaster
from coordinator.notify.errors import TooManySubscribers
from coordinator.notify.events import AlarmEvent


def ev(event_id: int, site: str = "s1") -> AlarmEvent:
    return AlarmEvent(
        event_id=event_id,
        kind="created",
        alarm_id=f"a{event_id}",
        site=site,
        severity="MINOR",
        escalation_level=0,
        actor="system",
        ts_ms=event_id,
    )


def test_events_from_another_thread_arrive_in_order() -> None:
    """notify() from a worker thread reaches an asyncio subscriber, in order."""
    hub = AlarmBroadcaster()

    async def main() -> list[int]:
        sub = hub.subscribe()

        def publish() -> None:
            for i in range(1, 6):
                hub.notify(ev(i))

        worker = threading.Thread(target=publish)
        worker.start()
        got = [(await asyncio.wait_for(sub.get(), 5)).event_id for _ in range(5)]
        worker.join()
        hub.unsubscribe(sub)
        return got

    assert asyncio.run(main()) == [1, 2, 3, 4, 5]
    assert hub.subscriber_count == 0


def test_site_filter() -> None:
    """A subscription for one site only sees that site's events."""
    hub = AlarmBroadcaster()

    async def main() -> list[str]:
        sub = hub.subscribe(site="s2")
        for i, site in enumerate(["s1", "s2", "s1", "s2"]):
            hub.notify(ev(i, site))
        await asyncio.sleep(0)
        out = []
        while not sub._queue.empty():
            out.append((await sub.get()).alarm_id)
        return out

    assert asyncio.run(main()) == ["a1", "a3"]


def test_slow_subscriber_drops_and_counts() -> None:
    """A full queue drops new events and counts them instead of growing."""
    hub = AlarmBroadcaster(max_queue=2)

    async def main() -> tuple[int, int]:
        sub = hub.subscribe()
        for i in range(5):
            hub.notify(ev(i))
        await asyncio.sleep(0)
        return sub._queue.qsize(), sub.dropped

    assert asyncio.run(main()) == (2, 3)


def test_subscriber_of_a_closed_loop_is_removed() -> None:
    """After the listener's loop is gone, the next notify unsubscribes it without raising."""
    hub = AlarmBroadcaster()

    async def main() -> None:
        hub.subscribe()

    asyncio.run(main())
    assert hub.subscriber_count == 1
    hub.notify(ev(1))
    assert hub.subscriber_count == 0


def test_listener_limit() -> None:
    """Past max_subscribers, subscribe raises TooManySubscribers until one leaves."""
    hub = AlarmBroadcaster(max_subscribers=2)

    async def main() -> None:
        first = hub.subscribe()
        hub.subscribe()
        with pytest.raises(TooManySubscribers) as info:
            hub.subscribe()
        assert info.value.limit == 2
        hub.unsubscribe(first)
        hub.subscribe()

    asyncio.run(main())
    assert hub.subscriber_count == 2
