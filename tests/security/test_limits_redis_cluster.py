"""`RedisBackend` on a real Redis Cluster of three masters (`redis-server --cluster-enabled yes`), through a
`redis.asyncio.cluster.RedisCluster` client: every script touches one key, so keys land on any node with no
CROSSSLOT error; and a cluster that stops answering follows `on_failure`, never a 500."""

import asyncio
import logging
import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from redis.asyncio.cluster import RedisCluster
from starlette.testclient import TestClient

from fastapi_ws_reject.redis_backend import REDIS_DOWN, FailurePolicy, RedisBackend
from fastapi_ws_reject.testing import assert_rejected
from tests.support.limited_app import limited_app
from tests.support.redis_server import ClusterSetup, redis_cluster

pytestmark = pytest.mark.e2e  # three redis-server processes: the full venvs only

LOGGER = "fastapi_ws_reject"
USERS = [f"user-{number}" for number in range(24)]


@pytest.fixture(scope="module")
def cluster() -> Iterator[ClusterSetup]:
    with redis_cluster() as setup:
        yield setup


@pytest.fixture
def own_cluster() -> Iterator[ClusterSetup]:
    """A cluster for one test, which it may kill."""
    with redis_cluster() as setup:
        yield setup


def backend(port: int, **options: object) -> RedisBackend:
    options.setdefault("prefix", f"cluster-{uuid.uuid4().hex[:8]}:")
    return RedisBackend(RedisCluster(host="127.0.0.1", port=port), **options)  # type: ignore[arg-type]


@asynccontextmanager
async def limits_at(port: int, **options: object) -> AsyncIterator[RedisBackend]:
    limits = backend(port, **options)
    try:
        yield limits
    finally:
        await limits.aclose()


def test_users_land_on_every_master(cluster: ClusterSetup) -> None:
    async def scenario() -> None:
        async with limits_at(cluster.ports[0]) as limits:
            client = limits.client
            assert isinstance(client, RedisCluster)
            await client.initialize()
            nodes = {client.get_node_from_key(f"{limits.prefix}rate:{user}").port for user in USERS}  # type: ignore[union-attr]
            assert nodes == set(cluster.ports)

    asyncio.run(scenario())


def test_rate_limit_holds_for_users_on_every_node(cluster: ClusterSetup) -> None:
    with TestClient(limited_app(backend(cluster.ports[0], on_failure="closed"), at_once=2)) as client:
        for user in USERS:
            for _ in range(2):
                with client.websocket_connect(f"/rate?user={user}") as websocket:
                    websocket.send_text("bye")
            assert_rejected(client, f"/rate?user={user}", status_code=429)


def test_connection_limit_holds_and_frees_for_users_on_every_node(cluster: ClusterSetup) -> None:
    limits = backend(cluster.ports[0], on_failure="closed")
    with TestClient(limited_app(limits, at_once=2)) as client:
        for user in USERS[:9]:
            with (
                client.websocket_connect(f"/hold?user={user}") as first,
                client.websocket_connect(f"/hold?user={user}") as second,
            ):
                assert client.portal.call(limits.open_slots, f"connections:{user}") == 2  # type: ignore[union-attr]
                assert_rejected(client, f"/hold?user={user}", status_code=429)
                first.send_text("bye")
                second.send_text("bye")
            with client.websocket_connect(f"/hold?user={user}") as again:  # released: room again
                again.send_text("bye")


def test_renewal_keeps_leases_on_every_node(cluster: ClusterSetup) -> None:
    async def scenario() -> None:
        # A timeout a loaded CI machine can meet (a first call also maps the cluster's slots: make it first).
        async with limits_at(cluster.ports[0], lease_ttl=1.5, timeout=0.45, on_failure="closed") as limits:
            assert await limits.open_slots("warm-up") == 0
            leases = {user: await limits.acquire(user, 1) for user in USERS[:9]}
            assert None not in leases.values()
            await asyncio.sleep(3.2)  # past two lease_ttl: only renewals keep them
            for user, lease in leases.items():
                assert await limits.open_slots(user) == 1
                assert await limits.acquire(user, 1) is None
                await limits.release(user, lease)  # type: ignore[arg-type]
                assert await limits.open_slots(user) == 0

    asyncio.run(scenario())


@pytest.mark.parametrize("on_failure", ["closed", "open"])
@pytest.mark.parametrize("path", ["/rate", "/hold"])
def test_a_cluster_that_stopped_answering_follows_on_failure(
    own_cluster: ClusterSetup, on_failure: FailurePolicy, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    limits = backend(own_cluster.ports[0], on_failure=on_failure, timeout=0.3)
    with caplog.at_level(logging.INFO, LOGGER), TestClient(limited_app(limits, at_once=2)) as client:
        with client.websocket_connect(f"{path}?user=alice") as websocket:  # the client knows the cluster
            websocket.send_text("bye")
        for process in own_cluster.processes:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        for user in USERS[:3]:
            if on_failure == "closed":
                assert_rejected(client, f"{path}?user={user}", status_code=429)
            else:
                with client.websocket_connect(f"{path}?user={user}") as websocket:
                    websocket.send_text("bye")
    [down] = [record.getMessage() for record in caplog.records if record.getMessage().startswith("Redis failed")]
    assert down == REDIS_DOWN % (down.split("(")[1].split(")")[0], on_failure)
