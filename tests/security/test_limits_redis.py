"""Attacks on `RedisBackend`, each against a real redis-server: failovers, overwritten keys, lost leases, slow
replies and outages must neither lift a limit nor raise into the endpoint."""

import asyncio
import logging
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager

import pytest
from fastapi import Depends, FastAPI, WebSocket
from redis.asyncio import Redis
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from fastapi_ws_reject import RejectingRouter, WebSocketGuardMiddleware
from fastapi_ws_reject.guards import ConnectionLimitGuard, RateLimitGuard
from fastapi_ws_reject.redis_backend import LEASE_LOST, REDIS_DOWN, RedisBackend
from fastapi_ws_reject.testing import assert_rejected
from tests.support.redis_server import redis_server

LOGGER = "fastapi_ws_reject"
SECRET_USER = "user-4f1e-secret"  # keys hold user ids; no log line may repeat one


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as (url, _):
        yield url


@pytest.fixture
def own_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server for one test, which it may stop, pause or turn into a replica."""
    with redis_server() as running:
        yield running


@pytest.fixture
def primary() -> Iterator[tuple[str, int]]:
    """Another redis-server (URL, port), for ours to become the replica of, as in a failover."""
    with redis_server() as (url, _):
        yield url, int(url.rsplit(":", 1)[1].split("/")[0])


def backend(url: str, **options: object) -> RedisBackend:
    options.setdefault("prefix", f"sec-{uuid.uuid4().hex[:8]}:")
    return RedisBackend(Redis.from_url(url), **options)  # type: ignore[arg-type]


@asynccontextmanager
async def limits_at(url: str, **options: object) -> AsyncIterator[RedisBackend]:
    """A backend closed however the test ends, so that a failure reports itself and no unclosed connection."""
    limits = backend(url, **options)
    try:
        yield limits
    finally:
        await limits.aclose()


@asynccontextmanager
async def admin(url: str) -> AsyncIterator[Redis]:
    """A client of our own, to do to Redis what an operator or a failover would."""
    client = Redis.from_url(url)
    try:
        yield client
    finally:
        await client.aclose()


async def eventually(check: Callable[[], Awaitable[bool]], within: float, failure: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, failure
        await asyncio.sleep(0.02)


def messages(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    prefix = text.split(" (")[0]
    return [record.getMessage() for record in caplog.records if record.getMessage().startswith(prefix)]


async def logged(caplog: pytest.LogCaptureFixture, text: str, within: float) -> None:
    async def seen() -> bool:
        return bool(messages(caplog, text))

    await eventually(seen, within, f"nothing logged {text.split(' (')[0]!r}")


def slots_are(limits: RedisBackend, key: str, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await limits.open_slots(key) == count

    return check


# a) The renewal survives errors it did not expect.


def test_renewal_survives_read_only_errors_of_a_failover_and_keeps_the_slot(
    own_redis: tuple[str, subprocess.Popen[bytes]], primary: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    url, _ = own_redis

    async def scenario() -> None:
        async with limits_at(url, lease_ttl=1.2, timeout=0.2, on_failure="closed") as limits:
            lease = await limits.acquire(SECRET_USER, 1)
            assert lease is not None
            with caplog.at_level(logging.INFO, LOGGER):
                async with admin(url) as ours:
                    await ours.replicaof("127.0.0.1", primary[1])  # ours turns replica: read-only, then emptied
                    await logged(caplog, REDIS_DOWN, within=1.0)
                    assert "ReadOnlyError" in messages(caplog, REDIS_DOWN)[0]
                    await ours.replicaof("NO", "ONE")  # and is promoted back
                    await eventually(slots_are(limits, SECRET_USER, 1), 1.0, "the slot was not taken back")
            await limits.release(SECRET_USER, lease)

    asyncio.run(scenario())


def test_renewal_survives_a_key_overwritten_with_another_type(redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with limits_at(redis_url, lease_ttl=0.6, timeout=0.15, on_failure="closed") as limits:
            lease = await limits.acquire("c", 1)
            assert lease is not None
            async with admin(redis_url) as operator:
                with caplog.at_level(logging.INFO, LOGGER):
                    await operator.set(limits.prefix + "c", "x")  # WRONGTYPE for every script on this key
                    await logged(caplog, REDIS_DOWN, within=0.6)
                    await operator.delete(limits.prefix + "c")
                    await eventually(slots_are(limits, "c", 1), 0.6, "the slot was not taken back")
            await limits.release("c", lease)

    asyncio.run(scenario())


# b) A renewal that finds the lease gone takes it back, or says it is lost for good.


def test_renewal_takes_back_a_lease_removed_from_redis(redis_url: str) -> None:
    async def scenario() -> None:
        async with limits_at(redis_url, lease_ttl=0.3, timeout=0.05) as limits:
            lease = await limits.acquire("c", 2)
            assert lease is not None
            async with admin(redis_url) as operator:
                await operator.zrem(limits.prefix + "c", str(lease))
            assert await limits.open_slots("c") == 0
            await eventually(slots_are(limits, "c", 1), 0.3, "the lease stayed lost")
            await limits.release("c", lease)

    asyncio.run(scenario())


def test_lease_lost_to_a_full_limit_ends_watch_under_closed(redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with (
            limits_at(redis_url, lease_ttl=0.3, timeout=0.05, on_failure="closed") as limits,
            limits_at(redis_url, prefix=limits.prefix, lease_ttl=0.3, timeout=0.05) as other,
        ):
            lease = await limits.acquire(SECRET_USER, 1)
            assert lease is not None
            async with admin(redis_url) as operator:
                await operator.delete(limits.prefix + SECRET_USER)
            taker = await other.acquire(SECRET_USER, 1)  # another worker takes the freed slot
            assert taker is not None
            with caplog.at_level(logging.INFO, LOGGER):
                await asyncio.wait_for(limits.watch(SECRET_USER, lease), 0.5)
            assert await limits.open_slots(SECRET_USER) == 1
            await limits.release(SECRET_USER, lease)
            assert await limits.open_slots(SECRET_USER) == 1  # releasing the lost lease frees nobody else's slot
            await other.release(SECRET_USER, taker)
            await asyncio.wait_for(limits.watch(SECRET_USER, lease), 0.1)  # nothing held: nothing to wait for

    asyncio.run(scenario())
    [lost] = messages(caplog, LEASE_LOST)
    assert "limit" in lost and "closed" in lost


def test_lease_lost_under_open_keeps_watch_waiting_and_says_so_once(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with limits_at(redis_url, lease_ttl=0.3, timeout=0.05, on_failure="open") as limits:
            lease = await limits.acquire("c", 1)
            assert lease is not None
            async with admin(redis_url) as operator:
                await operator.delete(limits.prefix + "c")
            assert await limits.acquire("c", 1) is not None
            with caplog.at_level(logging.INFO, LOGGER):
                await logged(caplog, LEASE_LOST, within=0.5)
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(limits.watch("c", lease), 0.4)

    asyncio.run(scenario())
    [lost] = messages(caplog, LEASE_LOST)
    assert "open" in lost


# Outages: a short one costs nothing, one past the lease's expiry loses it.


def test_redis_paused_shorter_than_the_lease_keeps_it(
    own_redis: tuple[str, subprocess.Popen[bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    url, process = own_redis

    async def scenario() -> None:
        async with limits_at(url, lease_ttl=0.9, timeout=0.1, on_failure="closed") as limits:
            lease = await limits.acquire("c", 1)
            assert lease is not None
            with caplog.at_level(logging.INFO, LOGGER):
                os.kill(process.pid, signal.SIGSTOP)
                try:
                    await logged(caplog, REDIS_DOWN, within=0.6)
                finally:
                    os.kill(process.pid, signal.SIGCONT)
                await asyncio.sleep(0.9)  # past the expiry the lease had when Redis stopped answering
            assert await limits.open_slots("c") == 1
            await limits.release("c", lease)

    asyncio.run(scenario())


def test_redis_stopped_past_the_lease_expiry_ends_watch_under_closed(
    own_redis: tuple[str, subprocess.Popen[bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    url, process = own_redis

    async def scenario() -> None:
        async with limits_at(url, lease_ttl=0.3, timeout=0.05, on_failure="closed") as limits:
            lease = await limits.acquire(SECRET_USER, 1)
            assert lease is not None
            with caplog.at_level(logging.INFO, LOGGER):
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                await asyncio.wait_for(limits.watch(SECRET_USER, lease), 1.0)
                await limits.release(SECRET_USER, lease)  # with Redis gone: no exception into the endpoint

    asyncio.run(scenario())
    assert len(messages(caplog, REDIS_DOWN)) == 1
    assert len(messages(caplog, LEASE_LOST)) == 1


# c) Every Redis error follows on_failure, in hit, acquire and release.


def test_read_only_replica_gives_the_failure_policy_not_an_exception(
    own_redis: tuple[str, subprocess.Popen[bytes]], primary: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    url, _ = own_redis

    async def scenario() -> None:
        async with (
            limits_at(url, timeout=0.2, on_failure="open") as opened,
            limits_at(url, timeout=0.2, on_failure="closed") as closed,
            admin(url) as ours,
        ):
            await ours.replicaof("127.0.0.1", primary[1])
            assert await opened.hit("k", 1, 60) is None
            assert await closed.hit("k", 1, 60) == 1.0
            unlimited = await opened.acquire("c", 1)
            assert unlimited is not None
            assert await closed.acquire("c", 1) is None
            await opened.release("c", unlimited)

    with caplog.at_level(logging.INFO, LOGGER):
        asyncio.run(scenario())
    assert all("ReadOnlyError" in message for message in messages(caplog, REDIS_DOWN))


def test_release_on_an_overwritten_key_does_not_raise(redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with limits_at(redis_url, on_failure="closed") as limits:
            lease = await limits.acquire("c", 1)
            assert lease is not None
            async with admin(redis_url) as operator:
                await operator.set(limits.prefix + "c", "x")
            await limits.release("c", lease)

    with caplog.at_level(logging.INFO, LOGGER):
        asyncio.run(scenario())
    assert len(messages(caplog, REDIS_DOWN)) == 1


def limited_app(limits: RedisBackend) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await limits.aclose()  # in the loop that opened its connections

    router = RejectingRouter()

    async def accept(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()

    router.add_api_websocket_route(
        "/rate", accept, dependencies=[Depends(RateLimitGuard(5, per=60, key=lambda _: SECRET_USER, backend=limits))]
    )
    router.add_api_websocket_route(
        "/hold", accept, dependencies=[Depends(ConnectionLimitGuard(5, key=lambda _: SECRET_USER, backend=limits))]
    )
    app = FastAPI(lifespan=lifespan)
    app.include_router(router)
    return app


@pytest.mark.parametrize("path", ["/rate", "/hold"])
def test_overwritten_keys_refuse_with_429_under_closed(redis_url: str, path: str) -> None:
    limits = backend(redis_url, on_failure="closed")

    async def overwrite() -> None:
        async with admin(redis_url) as operator:
            await operator.set(limits.prefix + f"rate:{SECRET_USER}", "x")
            await operator.set(limits.prefix + f"connections:{SECRET_USER}", "x")

    asyncio.run(overwrite())
    with TestClient(limited_app(limits)) as client:
        assert_rejected(client, path, status_code=429)


@pytest.mark.parametrize("path", ["/rate", "/hold"])
def test_overwritten_keys_let_handshakes_in_under_open(redis_url: str, path: str) -> None:
    limits = backend(redis_url, on_failure="open")

    async def overwrite() -> None:
        async with admin(redis_url) as operator:
            await operator.set(limits.prefix + f"rate:{SECRET_USER}", "x")
            await operator.set(limits.prefix + f"connections:{SECRET_USER}", "x")

    asyncio.run(overwrite())
    with TestClient(limited_app(limits)) as client, client.websocket_connect(path):
        pass


# d) No phantom lease from a reply that came after the timeout.


async def unanswered(probe: Redis) -> bool:
    try:
        await asyncio.wait_for(probe.ping(), 0.05)
    except asyncio.TimeoutError:
        return True
    return False


@asynccontextmanager
async def asleep(url: str, seconds: float) -> AsyncIterator[None]:
    """Redis busy with one slow command for `seconds`, as under a heavy script: what is sent meanwhile runs late.

    On leaving, whatever the block sent has run (DEBUG SLEEP, unlike CLIENT PAUSE, still runs the commands of
    a client that gave up waiting, as a busy Redis does).
    """
    async with admin(url) as sleeper, admin(url) as probe, admin(url) as barrier:
        await barrier.ping()  # connected before Redis sleeps
        sleeping = asyncio.ensure_future(sleeper.execute_command("DEBUG", "SLEEP", seconds))
        await eventually(lambda: unanswered(probe), 1.0, "DEBUG SLEEP did not block Redis")
        yield
        # Sent while Redis sleeps, so answered in the same turn as everything sent meanwhile.
        await barrier.ping()
        await sleeping


async def warm(limits: RedisBackend) -> None:
    """A connection and a loaded script, so that what we send to a sleeping Redis is the script itself."""
    lease = await limits.acquire("warm", 1)
    await limits.release("warm", lease)  # type: ignore[arg-type]


def test_acquire_timed_out_leaves_no_phantom_lease(redis_url: str) -> None:
    async def scenario() -> None:
        async with limits_at(redis_url, lease_ttl=3.0, timeout=0.1, on_failure="closed") as limits:
            await warm(limits)
            async with asleep(redis_url, 0.4):
                assert await limits.acquire("c", 1) is None  # the 429, while Redis still holds our script
            await eventually(slots_are(limits, "c", 0), 0.5, "a late reply kept a slot")
            assert await limits.acquire("c", 1) is not None

    asyncio.run(scenario())


def test_acquire_cancelled_while_waiting_leaves_no_phantom_lease(redis_url: str) -> None:
    async def scenario() -> None:
        async with limits_at(redis_url, lease_ttl=3.0, timeout=0.5) as limits:
            await warm(limits)
            async with asleep(redis_url, 0.4):
                with pytest.raises(asyncio.TimeoutError):  # the handshake is cancelled before Redis answers
                    await asyncio.wait_for(limits.acquire("c", 1), 0.1)
            await eventually(slots_are(limits, "c", 0), 0.5, "a cancelled acquire kept a slot")

    asyncio.run(scenario())


def test_aclose_gives_up_on_a_removal_that_waits_for_a_sleeping_redis(redis_url: str) -> None:
    async def scenario() -> float:
        async with limits_at(redis_url, lease_ttl=3.0, timeout=0.1) as limits:
            await warm(limits)
            async with asleep(redis_url, 0.8):
                await limits.acquire("c", 1)  # timed out: its removal waits for Redis to wake up
                started = time.monotonic()
                await limits.aclose()
                return time.monotonic() - started

    assert asyncio.run(scenario()) < 0.1 + 0.3  # the timeout, plus closing the client


def test_release_while_a_renewal_waits_leaves_no_lease(redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with limits_at(redis_url, lease_ttl=0.6, timeout=0.1) as limits:
            lease = await limits.acquire("c", 1)
            assert lease is not None
            with caplog.at_level(logging.INFO, LOGGER):
                async with asleep(redis_url, 0.5):
                    await logged(caplog, REDIS_DOWN, within=0.4)  # a renewal timed out; Redis still holds it
                    await limits.release("c", lease)
            await eventually(slots_are(limits, "c", 0), 0.5, "the released lease came back")

    asyncio.run(scenario())


# e) Configuration that would lift the limit or starve renewals is refused.


@pytest.mark.parametrize("lease_ttl", [0.0004, 0.05])
def test_lease_ttl_under_a_tenth_of_a_second_is_refused(redis_url: str, lease_ttl: float) -> None:
    with pytest.raises(ValueError, match=r"lease_ttl must be at least 0\.1 seconds"):
        backend(redis_url, lease_ttl=lease_ttl, timeout=0.0001)


def test_timeout_must_leave_room_for_renewals(redis_url: str) -> None:
    with pytest.raises(
        ValueError, match=r"timeout must be under lease_ttl / 3 \(1 s\).*Lower timeout or raise lease_ttl"
    ):
        backend(redis_url, lease_ttl=3, timeout=1)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_lease_ttl_and_timeout_must_be_finite(redis_url: str, value: float) -> None:
    with pytest.raises(ValueError, match="lease_ttl must be a positive number of seconds"):
        backend(redis_url, lease_ttl=value)
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
        backend(redis_url, timeout=value)


def test_log_lines_hold_no_key(
    own_redis: tuple[str, subprocess.Popen[bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    url, process = own_redis

    async def scenario() -> None:
        async with limits_at(url, lease_ttl=0.3, timeout=0.05, on_failure="open") as limits:
            lease = await limits.acquire(SECRET_USER, 1)
            assert lease is not None
            async with admin(url) as operator:
                await operator.set(limits.prefix + SECRET_USER, "x")
                await limits.hit(SECRET_USER, 1, 60)
                await operator.delete(limits.prefix + SECRET_USER)
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            await logged(caplog, LEASE_LOST, within=1.0)
            await limits.release(SECRET_USER, lease)

    with caplog.at_level(logging.DEBUG, LOGGER):
        asyncio.run(scenario())
    assert caplog.records
    assert not [record for record in caplog.records if SECRET_USER in record.getMessage()]


@pytest.mark.parametrize("place", ["depends", "middleware"])
def test_a_lease_lost_for_good_closes_its_socket_with_4429(redis_url: str, place: str) -> None:
    limits = backend(redis_url, lease_ttl=0.3, timeout=0.05, on_failure="closed")
    router = RejectingRouter()
    per_user = ConnectionLimitGuard(1, key=lambda _: SECRET_USER, backend=limits)

    @router.websocket("/hold", dependencies=[Depends(per_user)] if place == "depends" else [])
    async def hold(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("in")
        with pytest.raises(WebSocketDisconnect):  # the endpoint's next receive ends, as for any close
            await websocket.receive_text()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await limits.aclose()

    app = FastAPI(lifespan=lifespan)
    app.include_router(router)
    if place == "middleware":
        app.add_middleware(WebSocketGuardMiddleware, guards=[per_user])

    async def another_worker_takes_the_slot() -> None:
        # In one transaction, so that our renewal cannot take the slot back in between.
        async with admin(redis_url) as operator:
            seconds, _ = await operator.time()
            slot = f"{limits.prefix}connections:{SECRET_USER}"
            async with operator.pipeline(transaction=True) as transaction:
                transaction.delete(slot)
                transaction.zadd(slot, {"another-worker": (int(seconds) + 60) * 1000})
                await transaction.execute()

    with TestClient(app) as client, client.websocket_connect("/hold") as websocket:
        assert websocket.receive_text() == "in"
        asyncio.run(another_worker_takes_the_slot())
        assert websocket.receive() == {"type": "websocket.close", "code": 4429, "reason": ""}
