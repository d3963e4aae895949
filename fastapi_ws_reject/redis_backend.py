"""`RedisBackend`: rate and connection limits shared by every worker and host that uses one Redis.

Needs the `redis` extra (`pip install "fastapi-ws-reject[redis]"`). Each operation is one Lua script, so
it is atomic. A connection slot is a lease with a TTL, renewed while the socket lives: a worker killed
with SIGKILL stops renewing, and its slots free themselves within `lease_ttl` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import uuid
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from ._arguments import check_seconds

_logger = logging.getLogger("fastapi_ws_reject")

__all__ = ["LEASE_LOST", "REDIS_BACK", "REDIS_DOWN", "FailurePolicy", "RedisBackend", "from_url"]

FailurePolicy = Literal["open", "closed"]
"""What the limits do while Redis fails: `"open"` lets handshakes in unlimited, `"closed"` refuses them."""
# Log texts name no key: keys hold user ids. The exception's type says enough to tell an outage from a failover.
REDIS_DOWN = "Redis failed (%s); rate and connection limits fail %s until it answers again."
"""The WARNING logged once when Redis starts failing: the error, then `open` or `closed`."""
REDIS_BACK = "Redis answers again; rate and connection limits are enforced."
"""The line logged once when Redis answers again after `REDIS_DOWN`."""
LEASE_LOST = "A connection slot's lease could not be kept in Redis (%s); %s."
"""The WARNING logged when an open socket's slot is lost in Redis: why, then what happens to the socket."""
_EXPIRED = "every renewal failed until it expired"
_FULL = "it was gone, and the limit was full when the renewal tried to take it back"
_KEPT_OPEN = "its socket stays open, unlimited (on_failure='open')"
_CLOSING = "its socket is closed (on_failure='closed')"
_T = TypeVar("_T")

# KEYS[1] list of the times handshakes passed (server clock, ms), newest first, at most `limit` kept; ARGV window
# ms, limit. A handshake passes when fewer than `limit` passed in the last window (the limit-th newest is out of
# it): so any window holds at most `limit`, with no burst at a boundary. Returns -1 when it passes, else the ms
# until the limit-th newest leaves the window: the true wait. One key per call, so it works on a Cluster.
_HIT = """
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local oldest = redis.call('LINDEX', KEYS[1], limit - 1)
if oldest then
  local wait = tonumber(oldest) + window - now
  if wait > 0 then return wait end
end
redis.call('LPUSH', KEYS[1], now)
redis.call('LTRIM', KEYS[1], 0, limit - 1)
redis.call('PEXPIRE', KEYS[1], window)
return -1
"""
# KEYS[1] sorted set of leases scored by expiry (server clock, ms); ARGV lease, limit, ttl ms.
# Takes a slot for a new lease, renews one still held, or takes back one that expired or was removed
# (a flush, a failover to a replica that had not seen it), if the limit has room. Returns 1, or 0 when full.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
"""
# Whatever Redis or the network does (a failover's ReadOnlyError, a key of another type, a refused
# connection, a slow reply) costs one operation, which then follows on_failure. A Cluster client that reaches
# no node raises RedisClusterException, which is no RedisError.
_FAILURES = (redis_errors.RedisError, redis_errors.RedisClusterException, OSError, asyncio.TimeoutError)
_UNTRACKED = "untracked"  # the lease handed out while Redis fails and limits fail open
_MIN_LEASE_TTL = 0.1


@dataclass(eq=False)
class _Lease:
    """A slot this process takes or holds: the script last sent for it, when, and whether it is lost for good."""

    key: str
    limit: int
    attempt: asyncio.Future[Any]
    sent: float
    lost: asyncio.Event = field(default_factory=asyncio.Event)


class RedisBackend:
    """A `LimitBackend` in Redis, for `RateLimitGuard(..., backend=...)` and `ConnectionLimitGuard(..., backend=...)`.

    ```python
    backend = RedisBackend(Redis.from_url("redis://localhost:6379/0"))
    per_user = ConnectionLimitGuard(3, key=user_of, backend=backend)
    ```

    Every call waits at most `timeout` seconds. When Redis fails in any way (down, slow, read-only during a
    failover, a key overwritten with another type), `on_failure="open"` (the default) lets handshakes in
    unlimited and `"closed"` refuses them with the limit's 429; one WARNING says so when it starts, one INFO
    when Redis answers again. Open keeps a Redis outage from becoming an outage of every socket; choose
    closed where the limit protects something that must not be overrun.

    A connection slot is renewed every `lease_ttl / 3` seconds, retried with backoff when Redis fails, and
    taken back if it vanished while the limit has room. `watch(key, lease)` returns when the lease is lost
    for good (the limit was full when it was taken back, or Redis failed until it expired), and only under
    `on_failure="closed"`; `ConnectionLimitGuard` then closes the socket with its rejection's close code (4429).
    Under `"open"`, `watch` never returns: the socket stays, and one WARNING says its lease was not kept.
    """

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "fastapi_ws_reject:",
        lease_ttl: float = 30.0,
        timeout: float = 0.5,
        on_failure: FailurePolicy = "open",
    ) -> None:
        if on_failure not in ("open", "closed"):
            raise ValueError(f"on_failure must be 'open' or 'closed', got {on_failure!r}.")
        check_seconds("lease_ttl", lease_ttl)
        check_seconds("timeout", timeout)
        if lease_ttl < _MIN_LEASE_TTL:
            raise ValueError(
                f"lease_ttl must be at least {_MIN_LEASE_TTL} seconds, got {lease_ttl!r}: a shorter lease expires "
                "before its renewal reaches Redis, and under 1 ms it rounds to 0, which is no limit at all. Use "
                "lease_ttl=1 or more."
            )
        if timeout >= lease_ttl / 3:
            raise ValueError(
                f"timeout must be under lease_ttl / 3 ({lease_ttl / 3:g} s), got {timeout!r}: a lease is "
                "renewed every lease_ttl / 3, and a renewal that may wait longer lets it expire. Lower timeout or "
                "raise lease_ttl."
            )
        self.client = client
        self.prefix = prefix
        self.lease_ttl: float = float(lease_ttl)
        self.lease_ttl_ms: int = round(lease_ttl * 1000)
        self.timeout: float = float(timeout)
        self.on_failure = on_failure
        self._hit = client.register_script(_HIT)
        self._take_script = client.register_script(_TAKE)
        self._leases: dict[str, tuple[_Lease, asyncio.Task[None]]] = {}  # name -> (lease, its renewal)
        self._removals: set[asyncio.Task[None]] = set()
        self._down = False

    async def hit(self, key: str, limit: int, window: float) -> float | None:
        # Under 1 ms the window would round to 0, and PEXPIRE 0 deletes the counter: no limit at all.
        window_ms = max(1, math.ceil(window * 1000))
        ms = await self._call(lambda: self._hit(keys=[self.prefix + key], args=[window_ms, limit]))
        if ms is None:
            return None if self.on_failure == "open" else 1.0
        return None if int(ms) < 0 else int(ms) / 1000

    async def acquire(self, key: str, limit: int) -> Hashable | None:
        name = uuid.uuid4().hex
        lease = _Lease(key, limit, self._send(key, name, limit), asyncio.get_running_loop().time())
        try:
            taken = await self._take(lease, name)
        except asyncio.CancelledError:  # the handshake is gone; its script may still run
            self._forget(lease, name)
            raise
        if taken is None:
            self._forget(lease, name)
            return _UNTRACKED if self.on_failure == "open" else None
        if not taken:
            return None
        self._leases[name] = (lease, asyncio.get_running_loop().create_task(self._keep(lease, name)))
        return name

    async def release(self, key: str, lease: Hashable) -> None:
        entry = self._leases.pop(str(lease), None)
        if entry is None:
            return  # untracked (handed out while Redis failed) or released already
        held, renewal = entry
        renewal.cancel()
        if held.attempt.done():
            await self._call(lambda: self.client.zrem(self.prefix + key, str(lease)))
        else:
            self._forget(held, str(lease))

    async def watch(self, key: str, lease: Hashable) -> None:
        """Return when `lease` (from `acquire`) is lost for good, so that its socket can be closed.

        ```python
        lease = await backend.acquire("connections:alice", 3)
        await backend.watch("connections:alice", lease)  # the slot is gone: close the socket
        ```

        Only under `on_failure="closed"`; under `"open"` it never returns. Returns at once for a lease this
        backend does not hold (released already).
        """
        if self.on_failure == "open":
            await asyncio.Event().wait()  # never set: when limits fail open, a socket outlives its lease
        entry = self._leases.get(str(lease))
        if entry is not None:
            await entry[0].lost.wait()

    async def open_slots(self, key: str) -> int:
        """How many unexpired leases `key` holds now, across every worker (for tests and metrics)."""
        # redis-py leaves the `**kwargs` of its commands unannotated.
        seconds, microseconds = await self.client.time()  # pyright: ignore[reportUnknownMemberType]
        now_ms = int(seconds) * 1000 + int(microseconds) // 1000
        return int(await self.client.zcount(self.prefix + key, f"({now_ms}", "+inf"))

    async def _keep(self, lease: _Lease, name: str) -> None:
        loop = asyncio.get_running_loop()
        expires = lease.sent + self.lease_ttl  # Redis ran the script after we sent it, not before
        interval, failures = self.lease_ttl / 3, 0
        delay = interval
        while True:
            await asyncio.sleep(delay)
            taken = await self._take(lease, name)
            if taken:
                expires, delay, failures = lease.sent + self.lease_ttl, interval, 0
            elif taken is None and loop.time() < expires:
                failures += 1
                # Doubling from lease_ttl / 30 up to lease_ttl / 6 leaves several tries before the lease expires;
                # the jitter keeps every socket from renewing at the same instant on a Redis that just came back.
                delay = min(self.lease_ttl / 30 * 2 ** min(failures - 1, 8), interval / 2) * random.uniform(0.5, 1)
            else:
                break
        lease.lost.set()
        _logger.warning(
            LEASE_LOST, _EXPIRED if taken is None else _FULL, _KEPT_OPEN if self.on_failure == "open" else _CLOSING
        )

    async def _take(self, lease: _Lease, name: str) -> bool | None:
        """Run `_TAKE` for `name`: True when it holds a slot, False when the limit is full, None when Redis failed.

        The script runs in a task of its own (`_send`) that our timeout does not cancel: cancelling cannot unsend
        it, and Redis may run it after we stopped waiting. Whoever removes the lease waits for that task
        (`_forget`), and a renewal that finds it still running waits for it rather than sending another.
        """
        if lease.attempt.done():
            lease.attempt, lease.sent = self._send(lease.key, name, lease.limit), asyncio.get_running_loop().time()
        attempt = lease.attempt
        taken = await self._call(lambda: asyncio.shield(attempt))
        return None if taken is None else bool(int(taken))

    def _send(self, key: str, name: str, limit: int) -> asyncio.Future[Any]:
        script = self._take_script(keys=[self.prefix + key], args=[name, limit, self.lease_ttl_ms])
        attempt = asyncio.ensure_future(asyncio.wait_for(script, self.lease_ttl))
        attempt.add_done_callback(_retrieve)
        return attempt

    def _forget(self, lease: _Lease, name: str) -> None:
        """Remove `name` from Redis in the background, once the script last sent for it has run or given up."""
        removal = asyncio.get_running_loop().create_task(self._remove(lease, name))
        self._removals.add(removal)
        removal.add_done_callback(self._removals.discard)

    async def _remove(self, lease: _Lease, name: str) -> None:
        await asyncio.wait([lease.attempt])  # bounded by lease_ttl, after which the lease expires anyway
        await self._call(lambda: self.client.zrem(self.prefix + lease.key, name))

    async def _call(self, operation: Callable[[], Awaitable[_T]]) -> _T | None:
        try:
            result = await asyncio.wait_for(operation(), self.timeout)
        except (*_FAILURES, AttributeError, TypeError) as exc:
            if isinstance(exc, (AttributeError, TypeError)) and not _raised_by_asyncio_transport(exc):
                raise
            if not self._down:
                self._down = True
                _logger.warning(REDIS_DOWN, type(exc).__name__, self.on_failure)
            return None
        if self._down:
            self._down = False
            _logger.info(REDIS_BACK)
        return result

    async def aclose(self) -> None:
        """Stop renewing leases (their sockets are gone), let pending removals finish, and close the client."""
        for _, renewal in self._leases.values():
            renewal.cancel()
        if self._removals:
            await asyncio.wait(self._removals, timeout=self.timeout)
        for removal in self._removals:
            removal.cancel()  # its lease expires by itself within lease_ttl
        with contextlib.suppress(*_FAILURES):
            await self.client.aclose()

    def __repr__(self) -> str:
        return f"RedisBackend(prefix={self.prefix!r}, on_failure={self.on_failure!r})"


def _raised_by_asyncio_transport(exc: BaseException) -> bool:
    # Python 3.12 and 3.13 (CPython gh-136234, until fixed): writing to a connection its peer reset (a proxy's idle
    # timeout) raises AttributeError or TypeError inside asyncio's socket transport, which redis-py lets out
    # (it closes that connection). That is the network failing, like the OSError that 3.11 raises there.
    innermost = exc.__traceback__
    while innermost is not None and innermost.tb_next is not None:
        innermost = innermost.tb_next
    return innermost is not None and innermost.tb_frame.f_globals.get("__name__") == "asyncio.selector_events"


def _retrieve(attempt: asyncio.Future[Any]) -> None:
    # Read the outcome of a script nobody may await any more, so that asyncio does not log it as never retrieved;
    # whoever awaited it in time has reported the failure already.
    if not attempt.cancelled():
        attempt.exception()


def from_url(url: str, **options: Any) -> RedisBackend:
    """A `RedisBackend` on a new client for `url`: `RedisBackend(Redis.from_url(url), **options)`.

    ```python
    limits = from_url("redis://localhost:6379/0", lease_ttl=30, timeout=0.5, on_failure="open")
    ```
    """
    # redis-py leaves the `**kwargs` of `Redis.from_url` unannotated.
    return RedisBackend(Redis.from_url(url), **options)  # pyright: ignore[reportUnknownMemberType]
