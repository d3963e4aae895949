"""`RedisBackend`: rate and connection limits shared by every worker and host that uses one Redis.

Needs the `redis` extra (`pip install "fastapi-ws-reject[redis]"`). Each operation is one Lua script, so
it is atomic. A connection slot is a lease with a TTL, renewed while the socket lives: a worker killed
with SIGKILL stops renewing, and its slots free themselves within `lease_ttl` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Literal, TypeVar

from redis import exceptions as redis_errors
from redis.asyncio import Redis

logger = logging.getLogger("fastapi_ws_reject")

FailurePolicy = Literal["open", "closed"]
REDIS_DOWN = "Redis did not answer (%s); rate and connection limits fail %s until it does."
REDIS_BACK = "Redis answers again; rate and connection limits are enforced."
T = TypeVar("T")

# KEYS[1] counter; ARGV window ms, limit. Returns -1 within the limit, else the ms until the window ends.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if count > tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
  return ttl
end
return -1
"""
# KEYS[1] sorted set of leases scored by expiry (server clock, ms); ARGV lease, limit, ttl ms.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
# KEYS[1] sorted set; ARGV lease, ttl ms. Returns 0 when the lease had already expired.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local renewed = redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return renewed
"""
_FAILURES = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError, asyncio.TimeoutError)
_UNTRACKED = "untracked"  # the lease handed out while Redis is down and limits fail open


class RedisBackend:
    """A `LimitBackend` in Redis, for `RateLimit(..., backend=...)` and `ConnectionLimit(..., backend=...)`.

    ```python
    backend = RedisBackend(Redis.from_url("redis://localhost:6379/0"))
    per_user = ConnectionLimit(3, key=user_of, backend=backend)
    ```

    Every call waits at most `timeout` seconds. When Redis is slow or down, `on_failure="open"` (the
    default) lets handshakes in unlimited and `"closed"` refuses them with the limit's 429; one WARNING
    says so when it starts, one INFO when Redis answers again. Open keeps a Redis outage from becoming
    an outage of every socket; choose closed where the limit protects something that must not be overrun.
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
        for name, value in (("lease_ttl", lease_ttl), ("timeout", timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}.")
        self.client = client
        self.prefix = prefix
        self.lease_ttl_ms = int(lease_ttl * 1000)
        self.timeout = float(timeout)
        self.on_failure = on_failure
        self._hit = client.register_script(_HIT)
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._renewals: dict[str, asyncio.Task[None]] = {}
        self._down = False

    async def hit(self, key: str, limit: int, window: float) -> float | None:
        ms = await self._call(lambda: self._hit(keys=[self.prefix + key], args=[int(window * 1000), limit]))
        if ms is None:
            return None if self.on_failure == "open" else 1.0
        return None if int(ms) < 0 else int(ms) / 1000

    async def acquire(self, key: str, limit: int) -> Hashable | None:
        lease = uuid.uuid4().hex
        taken = await self._call(
            lambda: self._acquire(keys=[self.prefix + key], args=[lease, limit, self.lease_ttl_ms])
        )
        if taken is None:
            return _UNTRACKED if self.on_failure == "open" else None
        if not int(taken):
            return None
        self._renewals[lease] = asyncio.get_running_loop().create_task(self._keep(key, lease))
        return lease

    async def release(self, key: str, lease: Hashable) -> None:
        renewal = self._renewals.pop(str(lease), None)
        if renewal is not None:
            renewal.cancel()
        if lease != _UNTRACKED:
            await self._call(lambda: self.client.zrem(self.prefix + key, str(lease)))

    async def open_slots(self, key: str) -> int:
        """How many unexpired leases `key` holds now, across every worker (for tests and metrics)."""
        now_ms = int((await self.client.time())[0]) * 1000
        return int(await self.client.zcount(self.prefix + key, now_ms, "+inf"))

    async def _keep(self, key: str, lease: str) -> None:
        while True:
            await asyncio.sleep(self.lease_ttl_ms / 3000)
            await self._call(lambda: self._renew(keys=[self.prefix + key], args=[lease, self.lease_ttl_ms]))

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T | None:
        try:
            result = await asyncio.wait_for(operation(), self.timeout)
        except _FAILURES as exc:
            if not self._down:
                self._down = True
                logger.warning(REDIS_DOWN, type(exc).__name__, self.on_failure)
            return None
        if self._down:
            self._down = False
            logger.info(REDIS_BACK)
        return result

    async def aclose(self) -> None:
        """Stop renewing leases (their sockets are gone) and close the client."""
        for renewal in self._renewals.values():
            renewal.cancel()
        with contextlib.suppress(*_FAILURES):
            await self.client.aclose()

    def __repr__(self) -> str:
        return f"RedisBackend(prefix={self.prefix!r}, on_failure={self.on_failure!r})"


def from_url(url: str, **options: Any) -> RedisBackend:
    """`RedisBackend(Redis.from_url(url), **options)`."""
    return RedisBackend(Redis.from_url(url), **options)
