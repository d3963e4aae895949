"""One connection limit across two hosts of two workers, behind each proxy (issue 24): exactly N of 200 clients
at once, a worker killed with SIGKILL, a host drained with SIGTERM. The limit counts in one redis-server;
every client reaches the proxy only, from a loopback address of its own."""

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from examples.deploy.run import PROXIES, Deployment
from tests.support.deployment import deployed, websocket

pytestmark = [pytest.mark.e2e, pytest.mark.deploy]

AT_ONCE = 20
CLIENTS = 200
# uvicorn closes the sockets of a server that shuts down with 1012 (RFC 6455 section 7.4.1, as registered by IANA:
# "service restart"), the code a client takes as "come back"; a proxy in front passes the frame on.
GOING_AWAY = 1012


def sources() -> Iterator[str]:
    """A fresh loopback address for each client: 127.0.1.1, 127.0.1.2, ... 127.0.9.254."""
    for third in range(1, 10):
        for fourth in range(1, 255):
            yield f"127.0.{third}.{fourth}"


class Held:
    """The sockets a test keeps open on /ws/hold, with the worker that serves each."""

    def __init__(self, running: Deployment, stack: contextlib.AsyncExitStack) -> None:
        self.running, self.stack, self.sources = running, stack, sources()
        self.sockets: list[tuple[int, ClientConnection]] = []

    async def try_one(self) -> int | None:
        """Open one more: its worker's pid, or None when the limit refused it (429, with Retry-After)."""
        try:
            connection = await self.stack.enter_async_context(websocket(self.running, "/ws/hold", next(self.sources)))
        except InvalidStatus as refused:
            assert refused.response.status_code == 429
            assert refused.response.headers["Retry-After"] == "10"
            return None
        pid = int(json.loads(await connection.recv())["pid"])
        self.sockets.append((pid, connection))
        return pid

    def open(self) -> list[tuple[int, ClientConnection]]:
        return [(pid, connection) for pid, connection in self.sockets if connection.close_code is None]


@contextlib.asynccontextmanager
async def holding(running: Deployment) -> AsyncIterator[Held]:
    async with contextlib.AsyncExitStack() as stack:
        yield Held(running, stack)


def host_of(running: Deployment, pid: int) -> int:
    """Which host (0 or 1) runs the worker `pid`: its parent is that host's uvicorn."""
    parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return [host.process.pid for host in running.hosts].index(parent)


def deployment(kind: str, tmp_path: Path, lease_ttl: float) -> "contextlib.AbstractContextManager[Deployment]":
    # "closed", and as long a wait for Redis as the lease allows: a burst of handshakes on a busy machine can make
    # a Redis call wait past the default 0.5 s, and "open" (the default) then lets everyone in (as it says once in
    # the log), which is no test of the count.
    environment = {"DEPLOY_AT_ONCE": str(AT_ONCE), "DEPLOY_LEASE_TTL": str(lease_ttl), "DEPLOY_ON_FAILURE": "closed"}
    environment["DEPLOY_REDIS_TIMEOUT"] = str(min(5.0, lease_ttl / 3.5))
    return deployed(kind, "server", tmp_path, **environment)


@pytest.mark.parametrize("kind", PROXIES)
def test_exactly_n_of_200_concurrent_clients_get_in_across_both_hosts(kind: str, tmp_path: Path) -> None:
    async def crowd(running: Deployment) -> list[int | None]:
        async with holding(running) as held:
            return list(await asyncio.gather(*(held.try_one() for _ in range(CLIENTS))))

    with deployment(kind, tmp_path, lease_ttl=30) as running:
        answers = asyncio.run(crowd(running))
        deadline = time.monotonic() + 5  # a worker may log its answer just after the client read it
        while time.monotonic() < deadline and sum(h.log().count("/api/ws/hold") for h in running.hosts) < CLIENTS:
            time.sleep(0.05)
        logged = [host.log() for host in running.hosts]
    assert sum(pid is not None for pid in answers) == AT_ONCE
    # Both hosts had their share of the crowd (which of them won the slots is a race), and one count covered both.
    handshakes = [log.count('"WebSocket /api/ws/hold"') for log in logged]
    assert sum(handshakes) == CLIENTS and min(handshakes) >= CLIENTS // 4, handshakes
    assert sum(log.count('"WebSocket /api/ws/hold" [accepted]') for log in logged) == AT_ONCE


@pytest.mark.parametrize("kind", PROXIES)
def test_a_killed_workers_slots_are_free_again_within_lease_ttl(kind: str, tmp_path: Path) -> None:
    lease_ttl = 2.0

    async def kill_one(running: Deployment) -> tuple[int, float]:
        async with holding(running) as held:
            while await held.try_one() is not None:
                pass
            pids = [pid for pid, _ in held.sockets]
            victim = max(set(pids), key=pids.count)
            killed = pids.count(victim)
            os.kill(victim, signal.SIGKILL)
            started = time.monotonic()
            for pid, connection in held.sockets:
                if pid == victim:  # the proxy closes the client's side once its connection to the worker is gone
                    await asyncio.wait_for(connection.wait_closed(), 10)
            assert len(held.open()) == AT_ONCE - killed
            while time.monotonic() - started < lease_ttl + 3 and len(held.open()) < AT_ONCE:
                if await held.try_one() is None:
                    await asyncio.sleep(0.1)
            freed_after = time.monotonic() - started
            assert len(held.open()) == AT_ONCE, f"{AT_ONCE - len(held.open())} slots still taken after {freed_after}s"
            assert await held.try_one() is None  # and no more than the limit
            return killed, freed_after

    with deployment(kind, tmp_path, lease_ttl=lease_ttl) as running:
        killed, freed_after = asyncio.run(kill_one(running))
    assert killed >= 1
    assert freed_after <= lease_ttl + 1.0


@pytest.mark.parametrize("kind", PROXIES)
def test_a_draining_host_closes_with_going_away_and_frees_its_slots_at_once(kind: str, tmp_path: Path) -> None:
    lease_ttl = 30.0  # what is free within a few seconds was released, not expired

    async def drain(running: Deployment) -> tuple[set[int | None], float, set[int]]:
        async with holding(running) as held:
            while await held.try_one() is not None:
                pass
            on_first = [connection for pid, connection in held.sockets if host_of(running, pid) == 0]
            assert on_first, "the proxy sent no client to the first host"
            running.hosts[0].process.send_signal(signal.SIGTERM)
            started = time.monotonic()
            codes = set()
            for connection in on_first:
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(connection.recv(), 10)
                codes.add(closed.value.rcvd.code if closed.value.rcvd else None)
            while time.monotonic() - started < 5 and len(held.open()) < AT_ONCE:
                if await held.try_one() is None:
                    await asyncio.sleep(0.05)
            back_after = time.monotonic() - started
            assert len(held.open()) == AT_ONCE
            assert await held.try_one() is None
            hosts = {host_of(running, pid) for pid, connection in held.open()}
            return codes, back_after, hosts

    with deployment(kind, tmp_path, lease_ttl=lease_ttl) as running:
        codes, back_after, hosts = asyncio.run(drain(running))
    assert codes == {GOING_AWAY}
    assert back_after < 5 < lease_ttl
    assert hosts == {1}
