"""The bounded pool of reader connections, on fake connections."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

import pytest

from coordinator.store.bounded_pool import BoundedPool, PoolBusy


@dataclass
class _Conn:
    n: int
    lost: bool = False
    closed: bool = False


@dataclass
class _Server:
    """Makes numbered connections; `down` makes connecting fail."""

    down: bool = False
    made: list[_Conn] = field(default_factory=list)
    _numbers: itertools.count[int] = field(default_factory=itertools.count)

    def connect(self) -> _Conn:
        if self.down:
            raise ConnectionRefusedError("server down")
        conn = _Conn(next(self._numbers))
        self.made.append(conn)
        return conn

    def pool(self, size: int, wait_s: float = 5.0) -> BoundedPool[_Conn]:
        return BoundedPool(
            self.connect,
            size=size,
            usable=lambda c: not (c.lost or c.closed),
            close=lambda c: setattr(c, "closed", True),
            wait_s=wait_s,
        )


def test_a_connection_given_back_is_reused() -> None:
    server = _Server()
    pool = server.pool(2)
    with pool.connection() as first:
        pass
    with pool.connection() as again:
        assert again is first
    assert len(server.made) == 1
    assert pool.open_count == 1


def test_no_more_than_size_are_open_and_a_reader_waits_for_one() -> None:
    """Two held, a third reader waits until one is given back, then gets that one."""
    server = _Server()
    pool = server.pool(2)
    got: list[_Conn] = []
    release = threading.Event()

    def hold() -> None:
        with pool.connection() as conn:
            got.append(conn)
            release.wait(5)

    holders = [threading.Thread(target=hold) for _ in range(2)]
    for t in holders:
        t.start()
    while len(got) < 2:
        threading.Event().wait(0.01)
    third: list[_Conn] = []
    waiter = threading.Thread(target=lambda: third.extend([pool.connection().__enter__()]))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()
    assert not third
    release.set()
    for t in holders:
        t.join(5)
    waiter.join(5)
    assert third[0] in got
    assert len(server.made) == 2


def test_a_reader_waiting_too_long_is_told_the_pool_is_busy() -> None:
    pool = _Server().pool(1, wait_s=0.05)
    with (
        pool.connection(),
        pytest.raises(PoolBusy, match="all 1 connections"),
        pool.connection(),
    ):
        pass


def test_a_lost_connection_is_closed_and_replaced() -> None:
    """Lost while in use: closed when given back; lost while idle: closed when taken."""
    server = _Server()
    pool = server.pool(2)
    with pool.connection() as conn:
        conn.lost = True
    assert conn.closed
    assert pool.open_count == 0
    with pool.connection() as second:
        pass
    second.lost = True
    with pool.connection() as third:
        assert third is not second
    assert second.closed
    assert pool.open_count == 1


def test_a_failed_connect_takes_no_place_and_the_next_one_succeeds() -> None:
    server = _Server(down=True)
    pool = server.pool(1, wait_s=0.05)
    for _ in range(3):  # the slot is given back each time: no PoolBusy
        with pytest.raises(ConnectionRefusedError), pool.connection():
            pass
    server.down = False
    with pool.connection() as conn:
        assert conn.n == 0
    assert pool.open_count == 1


def test_an_error_in_the_block_gives_the_connection_back() -> None:
    pool = _Server().pool(1, wait_s=0.05)
    with pytest.raises(ValueError, match="bad query"), pool.connection():
        raise ValueError("a bad query")
    with pool.connection():
        pass


def test_close_closes_the_idle_now_and_the_busy_when_given_back() -> None:
    server = _Server()
    pool = server.pool(2)
    with pool.connection() as busy:
        with pool.connection() as idle:
            pass
        pool.close()
        assert idle.closed
        assert not busy.closed
    assert busy.closed
    assert pool.open_count == 0


def test_a_pool_of_no_connections_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        _Server().pool(0)


def test_many_threads_share_the_pool_and_never_exceed_it() -> None:
    """32 threads, 200 reads each, a pool of 4: never more than 4 open or in use."""
    server = _Server()
    pool = server.pool(4)
    in_use = 0
    peak = 0
    lock = threading.Lock()

    def read() -> None:
        nonlocal in_use, peak
        for _ in range(200):
            with pool.connection():
                with lock:
                    in_use += 1
                    peak = max(peak, in_use)
                with lock:
                    in_use -= 1

    threads = [threading.Thread(target=read) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert peak <= 4
    assert len(server.made) <= 4
    assert pool.open_count == len(server.made)
