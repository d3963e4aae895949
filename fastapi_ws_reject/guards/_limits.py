"""`RateLimitGuard` and `ConnectionLimitGuard`: 429 with `Retry-After` when a key (a client, a user) asks too much.

Counts live in a `LimitBackend`; `InMemoryBackend` (the default) counts per process. A shared store
implements the same three methods to make limits hold across workers and hosts.
"""

import asyncio
import collections
import contextlib
import itertools
import logging
import math
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable
from typing import Protocol

import anyio
from starlette.requests import HTTPConnection
from starlette.types import Scope

from .._arguments import check_positive_int, check_seconds
from .._events import events_of
from .._pipeline.watching import SocketWatch, socket_watch
from .._rejection import WebSocketRejection
from ..policy import Policy
from ._addresses import IPV6_CLIENT_PREFIX, IPAddress, address, client_key, ipv6_prefix_length
from ._base import Guard, HoldingGuard
from ._network import forwarded_hops

Key = Callable[[HTTPConnection], "str | Awaitable[str]"]
_logger = logging.getLogger("fastapi_ws_reject")
# The most 429s with distinct Retry-After values a RateLimitGuard keeps built: all of a window of up to this many
# seconds (930 bytes each).
_KEPT_REFUSALS = 256


class LimitBackend(Protocol):
    """Where `RateLimitGuard` and `ConnectionLimitGuard` count: three methods a shared store implements.

    ```python
    RateLimitGuard(60, per=60, backend=InMemoryBackend())  # the default: counts in this process
    ```

    `InMemoryBackend` counts per process; `fastapi_ws_reject.redis_backend.RedisBackend` counts across workers and
    hosts. Any class with these three async methods is a backend; it need not subclass this one.
    """

    async def hit(self, key: str, limit: int, window: float) -> float | None:
        """Count one handshake for `key`: None within `limit` per `window` seconds, else seconds to wait."""

    async def acquire(self, key: str, limit: int) -> Hashable | None:
        """Take one of `limit` slots for `key`: a lease to give back to `release`, or None when all are taken."""

    async def release(self, key: str, lease: Hashable) -> None:
        """Give back the slot `lease` holds."""


class InMemoryBackend:
    """Counts in this process: the times of the last `limit` passes for rates, sets of leases for connections.

    ```python
    shared = InMemoryBackend()  # the default backend of every limit, one per guard
    ConnectionLimitGuard(3, backend=shared, namespace="chat")
    ```

    A handshake passes when fewer than `limit` passed in the `window` seconds before it, so no interval of
    `window` seconds holds more than `limit` (fixed windows let twice as many through across an edge).
    Under several workers each process has its own counts; `RedisBackend` shares them.
    """

    _PURGE_EVERY = 1024

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._passes: dict[str, tuple[float, collections.deque[float]]] = {}  # key -> (window, newest last)
        self._slots: dict[str, set[int]] = {}
        self._leases = itertools.count()
        self._hits = 0

    async def hit(self, key: str, limit: int, window: float) -> float | None:
        now = self._clock()
        self._hits += 1
        if self._hits % self._PURGE_EVERY == 0:
            self._passes = {k: v for k, v in self._passes.items() if v[1] and v[1][-1] + v[0] > now}
        return sliding_wait(self._passes.setdefault(key, (window, collections.deque(maxlen=limit)))[1], now, window)

    async def acquire(self, key: str, limit: int) -> Hashable | None:
        held = self._slots.setdefault(key, set())
        if len(held) >= limit:
            return None
        lease = next(self._leases)
        held.add(lease)
        return lease

    async def release(self, key: str, lease: Hashable) -> None:
        held = self._slots.get(key)
        if held is not None:
            held.discard(lease)
            if not held:
                del self._slots[key]

    def open_slots(self, key: str) -> int:
        """How many slots `key` holds now (for tests and metrics)."""
        return len(self._slots.get(key, ()))


def sliding_wait(passes: collections.deque[float], now: float, window: float) -> float | None:
    """Count a pass at `now` when fewer than `passes.maxlen` (the limit) were in the `window` before it: None;
    else the seconds until the oldest of them leaves the window, and nothing counted."""
    limit = passes.maxlen
    if limit is not None and len(passes) >= limit:
        wait = passes[-limit] + window - now
        if wait > 0:
            return wait
    passes.append(now)
    return None


# One WARNING per app when the default key sees a proxy: the proxy's address, four times; never the header's value.
PROXY_KEY_WARNING = (
    "A limit keyed by the client address sees handshakes that %s forwarded for other clients: every client "
    "shares the count of %s. Trust the proxy in the server (uvicorn --proxy-headers --forwarded-allow-ips=%s) "
    "or key the limit with client_host_behind_proxies(trusted_proxies=[%r]). Logged once per app."
)


def client_host(connection: HTTPConnection) -> str:
    """The default key: the client as the server saw it, an IPv6 one by its /64; behind proxies see
    `client_host_behind_proxies`.

    ```python
    RateLimitGuard(10, per=60, key=client_host)  # the default
    ```

    An IPv4 client is its address: one a dual-stack socket shows as `::ffff:203.0.113.9` has the key
    `203.0.113.9`, the one it has on an IPv4 socket. An IPv6 client is its /64 (`2001:db8:1:2::/64`), the
    smallest block a subscriber is given, so the 2^64 addresses it holds share one count; `client_prefix` picks
    another prefix. A peer that is no IP address (a unix socket) is keyed as the server named it; no peer at all
    is "unknown".
    """
    return _peer_key(connection, IPV6_CLIENT_PREFIX)


def client_prefix(*, ipv6_prefix: int = IPV6_CLIENT_PREFIX) -> Callable[[HTTPConnection], str]:
    """A limit key like `client_host`, counting an IPv6 client by its first `ipv6_prefix` bits (1 to 128).

    ```python
    per_site = RateLimitGuard(10, per=60, key=client_prefix(ipv6_prefix=56))  # 2001:db8:1:200::/56
    ```

    IPv4 clients are still keyed by their address.
    """
    prefix = ipv6_prefix_length(ipv6_prefix)

    def client_host(connection: HTTPConnection) -> str:
        return _peer_key(connection, prefix)

    return client_host


def _peer_key(connection: HTTPConnection, ipv6_prefix: int) -> str:
    if connection.client is None:
        return "unknown"
    peer = address(connection.client.host)
    if peer is None:
        return connection.client.host
    _warn_if_proxied(connection.scope, peer)
    return client_key(peer, ipv6_prefix)


def _warn_if_proxied(scope: Scope, peer: IPAddress) -> None:
    """Warn once per app when `peer` forwarded the handshake for someone else: a proxy the server does not trust,
    whose address every client shares as its key. The key itself stays the peer's: read from the header, it would
    let any client that reaches the server directly pick its own count."""
    events = events_of(scope)
    if events is None or events.warned_about_proxy_key:
        return  # outside any app there is nowhere to remember it, and a line per handshake would flood the log
    hops = forwarded_hops(scope)
    # A server that trusts the proxy (uvicorn --proxy-headers) put one of the hops in the scope: no warning.
    if hops is None or peer in hops:
        return
    events.warned_about_proxy_key = True
    _logger.warning(PROXY_KEY_WARNING, peer, peer, peer, str(peer))


async def key_of(key: Key, connection: HTTPConnection) -> str:
    """What `key` (sync or async) says `connection` counts as."""
    found = key(connection)
    return await found if isinstance(found, Awaitable) else found


class _Limit:
    def __init__(self, key: Key, backend: LimitBackend | None, namespace: str) -> None:
        self.key = key
        self.backend: LimitBackend = backend or InMemoryBackend()
        self.namespace = namespace

    async def _key(self, connection: HTTPConnection) -> str:
        return await key_of(self.key, connection)


class RateLimitGuard(_Limit, Guard[str]):
    """At most `limit` handshakes in any `per` seconds for each key (default: the client address).

    ```python
    @router.websocket("/ws", dependencies=[Depends(RateLimitGuard(10, per=60))])
    ```

    Over the limit: 429 with `Retry-After`, the seconds until a handshake would pass. Returns the key.
    """

    def __init__(
        self,
        limit: int,
        per: float,
        *,
        key: Key = client_host,
        backend: LimitBackend | None = None,
        namespace: str = "rate",
        rejection: WebSocketRejection | None = None,
        policy: Policy | None = None,
    ) -> None:
        _Limit.__init__(self, key, backend, namespace)
        self.limit: int = check_positive_int("limit", limit)
        self.per: float = check_seconds("per", per)
        # An explicit base __init__: pyright leaves its T unsolved (Guard[Unknown]), mypy binds it to self.
        Guard.__init__(self, rejection=rejection, policy=policy)  # pyright: ignore[reportUnknownMemberType]
        self._custom = rejection is not None
        # This guard's 429 for each Retry-After it sent, built once: building one costs about as much as the rest
        # of a refusal, and a flood asks for the same few. At most one per second of the window, and at most
        # _KEPT_REFUSALS (then built afresh), so a guard keeps no more than its window needs.
        self._refusals: dict[int, WebSocketRejection] = {}

    def make_rejection(self) -> WebSocketRejection:
        return _too_many("too many handshakes", 1)

    @property
    def rejections(self) -> tuple[WebSocketRejection, ...]:
        # Retry-After is the wait left in the window: at most the whole window.
        return (self.rejection,) if self._custom else (self._too_many(self.per),)

    async def check(self, connection: HTTPConnection) -> str:
        key = await self._key(connection)
        wait = await self.backend.hit(f"{self.namespace}:{key}", self.limit, self.per)
        if wait is not None:
            rejection = self.rejection if self._custom else self._too_many(wait)
            self.refuse(connection, f"rate limit {self.limit}/{self.per:g}s reached for a key", rejection)
        return key

    def _too_many(self, wait: float) -> WebSocketRejection:
        retry_after = max(math.ceil(wait), 1)
        refusal = self._refusals.get(retry_after)
        if refusal is None:
            if len(self._refusals) >= _KEPT_REFUSALS:
                self._refusals.clear()  # a window longer than that: start again
            refusal = self._refusals[retry_after] = _too_many("too many handshakes", retry_after)
        return refusal


class ConnectionLimitGuard(_Limit, HoldingGuard[str]):
    """At most `limit` open sockets for each key (default: the client address; for example per user).

    ```python
    per_user = ConnectionLimitGuard(3, key=lambda websocket: websocket.query_params.get("user", ""))

    @router.websocket("/ws", dependencies=[Depends(per_user)])
    ```

    The slot is held while the socket lives and given back however it ends (close, exception, client gone,
    server shutdown). Over the limit: 429 with `Retry-After: retry_after`. Returns the key.
    """

    def __init__(
        self,
        limit: int,
        *,
        key: Key = client_host,
        backend: LimitBackend | None = None,
        namespace: str = "connections",
        retry_after: int = 10,
        rejection: WebSocketRejection | None = None,
        policy: Policy | None = None,
    ) -> None:
        _Limit.__init__(self, key, backend, namespace)
        self.limit: int = check_positive_int("limit", limit)
        self.retry_after: int = check_positive_int("retry_after", retry_after)
        # An explicit base __init__: pyright leaves its T unsolved (HoldingGuard[Unknown]), mypy binds it to self.
        HoldingGuard.__init__(self, rejection=rejection, policy=policy)  # pyright: ignore[reportUnknownMemberType]

    def make_rejection(self) -> WebSocketRejection:
        return _too_many("too many open sockets", self.retry_after)

    @contextlib.asynccontextmanager
    async def hold(self, connection: HTTPConnection) -> AsyncGenerator[str, None]:
        key = await self._key(connection)
        slot = f"{self.namespace}:{key}"
        lease = await self.backend.acquire(slot, self.limit)
        if lease is None:
            self.refuse(connection, f"connection limit {self.limit} reached for a key")
        watcher = self._watch(slot, lease, connection)
        try:
            yield key
        finally:
            if watcher is not None:
                watcher.cancel()
            with anyio.CancelScope(shield=True):  # a shutdown cancels the socket's task; the slot must come back
                await self.backend.release(slot, lease)

    def _watch(self, slot: str, lease: Hashable, connection: HTTPConnection) -> asyncio.Task[None] | None:
        # A backend that can lose a lease while the socket lives (Redis, after a failover or a long outage)
        # says so through `watch`; the socket then closes with this limit's close code (4429).
        watch = getattr(self.backend, "watch", None)
        if watch is None:
            return None
        socket = socket_watch(connection)
        app = connection.scope.get("app")  # the app running this guard hears the close, whichever app serves then
        return socket.spawn(self._close_when_lost(watch, slot, lease, socket, app))

    async def _close_when_lost(
        self,
        watch: Callable[[str, Hashable], Awaitable[None]],
        slot: str,
        lease: Hashable,
        socket: SocketWatch,
        app: object,
    ) -> None:
        await watch(slot, lease)
        await socket.close(self.rejection._refusal(self.name, "connection slot lost"), app)


def _too_many(detail: str, retry_after: int) -> WebSocketRejection:
    return WebSocketRejection(429, {"detail": detail}, headers={"Retry-After": str(max(retry_after, 1))})
