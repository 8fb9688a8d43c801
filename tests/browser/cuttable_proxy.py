"""A loopback TCP proxy whose connections a test can cut, to drop a browser's open
streams (server-sent events) the way a flaky plant network would."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CuttableProxy:
    """Forwards 127.0.0.1:`port` to `target`; `cut()` closes every open connection."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        """The proxy's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:  # the way out is down: the client sees its connection close
                client.close()
                continue
            with self._lock:
                self._open |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> int:
        """Close every connection open now; how many were."""
        with self._lock:
            victims, self._open = self._open, set()
        for s in victims:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        return len(victims)

    def close(self) -> None:
        """Stop accepting and cut what is open."""
        self._stopped = True
        self._listener.close()
        self.cut()


@contextmanager
def cuttable(url: str) -> Iterator[CuttableProxy]:
    """A `CuttableProxy` in front of `url` (`http://127.0.0.1:PORT`)."""
    host, _, port = url.removeprefix("http://").partition(":")
    proxy = CuttableProxy((host, int(port)))
    try:
        yield proxy
    finally:
        proxy.close()
