"""A TCP proxy on a free loopback port that can drop the connections it holds, as a load balancer or a NAT does.

Plain sockets and a selector in a thread of its own, started and stopped by the test: no event loop, so whatever
a test sees of asyncio (Python 3.13's errors on a reset connection, say) is the code under test's, not the proxy's.
"""

import contextlib
import queue
import selectors
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from typing import Literal

Drop = Literal["reset", "silent"]
_CHUNK = 65536


class _Side:
    """One socket of a proxied pair: what is still to be written to it, and whether it is blackholed."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending = bytearray()
        self.peer: _Side | None = None
        self.silent = False
        self.open = True


class TcpProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`upstream_port` until `drop` cuts what it holds; stop with `close`.

    ```python
    with tcp_proxy(redis_port) as proxy:
        client = Redis(port=proxy.port)
        proxy.drop("silent")  # every connection held now forwards nothing more
    ```
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._selector.register(self._wake_reader, selectors.EVENT_READ)
        self._sides: dict[socket.socket, _Side] = {}
        self._orders: queue.SimpleQueue[tuple[Callable[[], None], threading.Event]] = queue.SimpleQueue()
        self._accepted = 0
        self._running = True
        self._thread = threading.Thread(target=self._run, name=f"tcp-proxy-{self.port}", daemon=True)
        self._thread.start()

    def accepted(self) -> int:
        """How many connections the proxy has accepted since it started."""
        count: list[int] = []
        self._order(lambda: count.append(self._accepted))
        return count[0]

    def drop(self, how: Drop) -> int:
        """Drop every connection held now, and return how many: `reset` sends both ends an RST; `silent` forwards
        nothing more, either way, and keeps the sockets open, so that a client waits for a reply that never comes.
        """
        dropped: list[int] = []

        def act() -> None:
            held = [side for side in self._sides.values() if not side.silent]
            dropped.append(len(held) // 2)
            for side in held:
                if how == "reset":
                    self._discard(side, reset=True)
                else:
                    side.silent = True
                    side.pending.clear()
                    self._want(side)

        self._order(act)
        return dropped[0]

    def close(self) -> None:
        """Stop the thread and close every socket (the listener, both ends of each pair); idempotent."""
        if self._thread.is_alive():

            def stop() -> None:
                self._running = False

            self._order(stop)
            self._thread.join(10)
        for side in list(self._sides.values()):
            self._discard(side, reset=True)
        self._selector.close()
        self._listener.close()
        self._wake_reader.close()
        self._wake_writer.close()

    def _order(self, action: Callable[[], None]) -> None:
        """Run `action` in the proxy's thread, between two events, and wait until it has run."""
        done = threading.Event()
        self._orders.put((action, done))
        self._wake_writer.send(b"\0")
        if not done.wait(10):
            raise TimeoutError("the TCP proxy's thread did not run an order within 10 s")

    def _run(self) -> None:
        while self._running:
            for key, events in self._selector.select():
                if key.fileobj is self._wake_reader:
                    self._run_orders()
                elif key.fileobj is self._listener:
                    self._accept()
                else:
                    side: _Side = key.data
                    if side.open and events & selectors.EVENT_WRITE:
                        self._flush(side)
                    if side.open and events & selectors.EVENT_READ:
                        self._forward(side)
        for side in list(self._sides.values()):
            self._discard(side, reset=True)

    def _run_orders(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while self._wake_reader.recv(_CHUNK):
                pass
        while not self._orders.empty():
            action, done = self._orders.get()
            try:
                action()
            finally:
                done.set()

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        self._accepted += 1
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
        except OSError:
            _reset(client)
            return
        near, far = _Side(client), _Side(upstream)
        near.peer, far.peer = far, near
        for side in (near, far):
            side.sock.setblocking(False)
            self._sides[side.sock] = side
            self._selector.register(side.sock, selectors.EVENT_READ, side)

    def _forward(self, side: _Side) -> None:
        try:
            data = side.sock.recv(_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        peer = side.peer
        if not data:  # the end closed (or reset) its socket: close the pair once what it sent is written
            self._discard(side, reset=False)
            if peer is not None:
                if peer.pending and not peer.silent:
                    with contextlib.suppress(OSError):
                        peer.sock.send(peer.pending)
                self._discard(peer, reset=False)
            return
        if side.silent or peer is None or peer.silent:
            return  # blackholed: read and thrown away, so that nothing answers
        peer.pending += data
        self._flush(peer)

    def _flush(self, side: _Side) -> None:
        if side.pending:
            try:
                sent = side.sock.send(side.pending)
            except BlockingIOError:
                sent = 0
            except OSError:
                self._discard(side, reset=False)
                if side.peer is not None:
                    self._discard(side.peer, reset=False)
                return
            del side.pending[:sent]
        self._want(side)

    def _want(self, side: _Side) -> None:
        if side.open:
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if side.pending else 0)
            self._selector.modify(side.sock, events, side)

    def _discard(self, side: _Side, *, reset: bool) -> None:
        if not side.open:
            return
        side.open = False
        del self._sides[side.sock]
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(side.sock)
        if reset:
            _reset(side.sock)
        else:
            side.sock.close()


def _reset(sock: socket.socket) -> None:
    """Close `sock` with an RST rather than a FIN: SO_LINGER on, with a zero timeout."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@contextlib.contextmanager
def tcp_proxy(upstream_port: int) -> Iterator[TcpProxy]:
    """A running `TcpProxy` to `upstream_port`, closed (thread joined, sockets closed) when the block ends."""
    proxy = TcpProxy(upstream_port)
    try:
        yield proxy
    finally:
        proxy.close()
