"""Limits in a real redis-server, shared by several real server processes."""

import asyncio
import logging
import os
import signal
import time
import uuid
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect

from fastapi_ws_reject.redis_backend import REDIS_BACK, REDIS_DOWN, RedisBackend
from fastapi_ws_reject.testing import handshake, live_server
from tests.support.apps import ROOT
from tests.support.redis_server import redis_server

pytestmark = pytest.mark.e2e
APP = "tests.security.redis_app:app"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as (url, _):
        yield url


@pytest.fixture
def shared_redis(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """$REDIS_URL and a fresh $REDIS_PREFIX for the servers this test starts."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("REDIS_PREFIX", f"test-{uuid.uuid4().hex[:8]}:")
    return redis_url


def backend(url: str, **options: object) -> RedisBackend:
    return RedisBackend(Redis.from_url(url), prefix=f"unit-{uuid.uuid4().hex[:8]}:", **options)  # type: ignore[arg-type]


def test_rate_window_and_connection_leases_are_counted_in_redis(redis_url: str) -> None:
    async def scenario() -> None:
        limits = backend(redis_url)
        assert [await limits.hit("k", 3, 60) for _ in range(3)] == [None, None, None]
        wait = await limits.hit("k", 3, 60)
        assert wait is not None and 59 < wait <= 60
        first, second = await limits.acquire("c", 2), await limits.acquire("c", 2)
        assert first and second and await limits.acquire("c", 2) is None
        assert await limits.open_slots("c") == 2
        await limits.release("c", first)
        third = await limits.acquire("c", 2)
        assert third is not None
        await limits.release("c", second)
        await limits.release("c", third)
        assert await limits.open_slots("c") == 0
        await limits.aclose()

    asyncio.run(scenario())


async def hold(url: str, sockets: list[ClientConnection]) -> None:
    websocket = await connect(url + "/hold")
    assert await websocket.recv() == "holding"
    sockets.append(websocket)


def test_limits_hold_across_two_server_processes(shared_redis: str) -> None:
    with live_server(APP, cwd=ROOT) as first, live_server(APP, cwd=ROOT) as second:

        async def scenario() -> None:
            sockets: list[ClientConnection] = []
            await hold(first, sockets)
            await hold(second, sockets)
            refused = [await handshake(server + "/hold") for server in (first, second)]
            assert [result.status_code for result in refused] == [429, 429]
            await sockets[0].close()
            await asyncio.sleep(0.2)
            await hold(second, sockets)  # the slot came back, for any process
            for websocket in sockets:
                await websocket.close()
            rates = [(await handshake(server + "/rate")).status_code for server in (first, second, first, second)]
            assert rates == [101, 101, 101, 429]

        asyncio.run(scenario())


def test_a_users_messages_are_counted_across_two_server_processes(shared_redis: str) -> None:
    """Issue 23, item 3: MessageLimitGuard(5, per=60, key=user) in Redis; ann sends 3 on each of two servers."""

    async def scenario(first: str, second: str) -> None:
        async with connect(f"{first}/messages?user=ann") as one, connect(f"{second}/messages?user=ann") as two:
            for socket, echoed in ((one, ["0", "1", "2"]), (two, ["0", "1"])):
                for number in range(3):
                    await socket.send(str(number))
                assert [await socket.recv() for _ in echoed] == echoed
            await asyncio.wait_for(two.wait_closed(), 5)
            assert (two.close_code, two.close_reason) == (4429, "too many messages")
        async with connect(f"{second}/messages?user=bob") as other:
            await other.send("hello")
            assert await other.recv() == "hello"

    with live_server(APP, cwd=ROOT) as first, live_server(APP, cwd=ROOT) as second:
        asyncio.run(scenario(first, second))


def test_sigkill_of_a_worker_frees_its_slots_within_the_lease_ttl(shared_redis: str) -> None:
    with live_server(APP, cwd=ROOT) as doomed, live_server(APP, cwd=ROOT) as survivor:

        async def scenario() -> float:
            sockets: list[ClientConnection] = []
            await hold(doomed, sockets)
            await hold(doomed, sockets)
            assert (await handshake(survivor + "/hold")).status_code == 429
            assert doomed.pid is not None
            os.kill(doomed.pid, signal.SIGKILL)
            killed = time.monotonic()
            while (await handshake(survivor + "/hold", timeout=0.1)).status_code != 101:
                assert time.monotonic() - killed < 5, "the dead worker's slots were never freed"
                await asyncio.sleep(0.1)
            return time.monotonic() - killed

        freed_after = asyncio.run(scenario())
    assert freed_after <= 1.0 + 1.0  # lease_ttl of the app, plus the probes' own time


@pytest.mark.parametrize(("on_failure", "status"), [("open", 101), ("closed", 429)])
def test_redis_stopped_gives_the_configured_policy_within_the_timeout(
    on_failure: str, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    with redis_server() as (url, redis_process):
        monkeypatch.setenv("REDIS_URL", url)
        monkeypatch.setenv("REDIS_PREFIX", "down:")
        monkeypatch.setenv("REDIS_ON_FAILURE", on_failure)
        with live_server(APP, cwd=ROOT) as server:
            assert asyncio.run(handshake(server + "/rate")).status_code == 101
            os.kill(redis_process.pid, signal.SIGKILL)
            redis_process.wait()
            for _ in range(3):
                started = time.monotonic()
                result = asyncio.run(handshake(server + "/rate"))
                assert result.status_code == status
                assert time.monotonic() - started < 0.3 + 1.0  # the backend's timeout, plus the handshake
    log = server.log()
    assert log.count(REDIS_DOWN.split(" (")[0]) == 1, log[-2000:]


def test_failure_policy_is_logged_once_and_recovery_too(redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        limits = backend("redis://127.0.0.1:1/0", timeout=0.2, on_failure="closed")
        with caplog.at_level(logging.INFO, logger="fastapi_ws_reject"):
            assert await limits.hit("k", 1, 1) == 1.0
            assert await limits.acquire("c", 1) is None
            limits.client = Redis.from_url(redis_url)
            limits._hit = limits.client.register_script(limits._hit.script)
            assert await limits.hit("k", 1, 1) is None
        await limits.aclose()

    asyncio.run(scenario())
    assert [record.getMessage().split(" (")[0] for record in caplog.records] == [
        REDIS_DOWN.split(" (")[0],
        REDIS_BACK,
    ]


def test_backend_configuration_errors(redis_url: str) -> None:
    with pytest.raises(ValueError, match="on_failure must be 'open' or 'closed'"):
        backend(redis_url, on_failure="maybe")
    with pytest.raises(ValueError, match="lease_ttl must be a positive number of seconds"):
        backend(redis_url, lease_ttl=0)
