"""The in-process broadcaster behind the server-sent-events stream.

Alarm changes happen on whatever thread called the service (ingest writer, webhook worker,
API threadpool); dashboards read them on the event loop. `notify` hands each event to every
subscription's loop with `call_soon_threadsafe`, so it never blocks and never touches an
asyncio queue from the wrong thread. A subscriber that does not keep up loses events rather
than growing memory: its queue is bounded and `dropped` counts what it missed, so the stream
can tell the dashboard to reload.
"""

from __future__ import annotations

import asyncio
import threading

from coordinator.notify.errors import TooManySubscribers
from coordinator.notify.events import AlarmEvent


class Subscription:
    """One listener's bounded queue of events, bound to the loop that created it."""

    def __init__(
        self,
        *,
        loop: asyncio.AbstractEventLoop,
        site: str | None,
        max_queue: int,
        sites: frozenset[str] | None = None,
    ) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[AlarmEvent] = asyncio.Queue(maxsize=max_queue)
        self.site = site
        self.sites = sites
        self.dropped = 0
        self.closed = False

    def offer(self, event: AlarmEvent) -> None:
        """Hand an event over from any thread (events of other sites are skipped)."""
        if self.closed or (self.site is not None and event.site != self.site):
            return
        if self.sites is not None and event.site not in self.sites:
            return
        try:
            self._loop.call_soon_threadsafe(self._put, event)
        except RuntimeError:  # the loop has closed: the listener is gone
            self.closed = True

    def _put(self, event: AlarmEvent) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1

    async def get(self) -> AlarmEvent:
        """The next event, waiting for one."""
        return await self._queue.get()


class AlarmBroadcaster:
    """Fans alarm events out to every live subscription; a `Notifier`."""

    def __init__(self, *, max_queue: int = 256, max_subscribers: int = 100) -> None:
        self._max_queue = max_queue
        self._max_subscribers = max_subscribers
        self._subscriptions: set[Subscription] = set()
        self._lock = threading.Lock()

    def notify(self, event: AlarmEvent) -> None:
        """Offer the event to every subscription."""
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.offer(event)
            if subscription.closed:
                self.unsubscribe(subscription)

    def subscribe(
        self, *, site: str | None = None, sites: frozenset[str] | None = None
    ) -> Subscription:
        """A new subscription on the running event loop, optionally for one site only
        and/or only the sites of a caller's scope.

        Raises `TooManySubscribers` at the listener limit, so open streams cannot grow
        without bound.
        """
        subscription = Subscription(
            loop=asyncio.get_running_loop(), site=site, max_queue=self._max_queue, sites=sites
        )
        with self._lock:
            if len(self._subscriptions) >= self._max_subscribers:
                raise TooManySubscribers(
                    f"{self._max_subscribers} alarm streams are open already",
                    limit=self._max_subscribers,
                )
            self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop delivering to a subscription (idempotent)."""
        subscription.closed = True
        with self._lock:
            self._subscriptions.discard(subscription)

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are live."""
        with self._lock:
            return len(self._subscriptions)
