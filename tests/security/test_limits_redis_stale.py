"""`RedisBackend` whose pooled connection went stale: a TCP proxy between it and a real redis-server drops the
idle connection, with a reset as a load balancer's idle timeout does, or silently, as a lost NAT entry does.
The next handshake must not be a 500: it passes on a new connection, or follows `on_failure`, logged once."""

import asyncio
import gc
import logging
import socket
import struct
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Literal

import pytest
from fastapi import Depends, FastAPI, WebSocket
from redis.asyncio import Redis
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from fastapi_ws_reject import RejectingRouter
from fastapi_ws_reject.guards import ConnectionLimitGuard, RateLimitGuard
from fastapi_ws_reject.redis_backend import REDIS_BACK, REDIS_DOWN, FailurePolicy, RedisBackend
from tests.support.redis_server import redis_server

# The proxy cuts the pool's sockets under redis-py, which may then be collected unclosed after the test client's
# loop ended (seen with Starlette 0.38's TestClient): a harness artifact, not what these tests are about.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

LOGGER = "fastapi_ws_reject"
Drop = Literal["reset", "silent"]


class Proxy:
    """A TCP proxy on a loopback port, in a thread of its own, that can drop the connections it holds."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.loop = asyncio.new_event_loop()
        self.pairs: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self.silenced: set[asyncio.StreamWriter] = set()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(5)
        self.port: int = self.server.sockets[0].getsockname()[1]

    async def _serve(self) -> asyncio.Server:
        return await asyncio.start_server(self._pair, "127.0.0.1", 0)

    async def _pair(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self.pairs.append((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            if writer not in self.silenced:
                writer.write(data)
                await writer.drain()
        writer.close()

    def drop(self, how: Drop) -> None:
        """Drop every connection held now: `reset` sends the client an RST; `silent` forwards nothing more."""

        def act() -> None:
            for client, upstream in self.pairs:
                if how == "reset":
                    client.get_extra_info("socket").setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    client.transport.abort()
                    upstream.transport.abort()
                else:
                    self.silenced.update((client, upstream))
            self.pairs.clear()

        self.loop.call_soon_threadsafe(act)
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self.loop).result(5)

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            for client, upstream in self.pairs:
                client.transport.abort()
                upstream.transport.abort()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    with redis_server() as (url, _):
        yield int(url.rsplit(":", 1)[1].split("/")[0])


@pytest.fixture
def proxy(redis_port: int) -> Iterator[Proxy]:
    running = Proxy(redis_port)
    try:
        yield running
    finally:
        running.close()


def limited_app(limits: RedisBackend) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await limits.aclose()

    def user(websocket: WebSocket) -> str:
        return websocket.query_params["user"]

    async def accept(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()
        await websocket.close()

    router = RejectingRouter()
    router.add_api_websocket_route(
        "/rate", accept, dependencies=[Depends(RateLimitGuard(2, per=60, key=user, backend=limits))]
    )
    router.add_api_websocket_route(
        "/hold", accept, dependencies=[Depends(ConnectionLimitGuard(1, key=user, backend=limits))]
    )
    app = FastAPI(lifespan=lifespan)
    app.include_router(router)
    return app


def passes(client: TestClient, path: str) -> bool:
    try:
        with client.websocket_connect(path) as websocket:
            websocket.send_text("bye")
    except WebSocketDisconnect:  # refused: a denial response is a WebSocketDisconnect too
        return False
    return True


@pytest.fixture(autouse=True)
def _collect_cut_sockets() -> Iterator[None]:
    """Collect the sockets this test cut while its warning filter applies, not at the end of the session."""
    yield
    gc.collect()


def lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    prefix = text.split(" (")[0]
    return [record.getMessage() for record in caplog.records if record.getMessage().startswith(prefix)]


def enforced(client: TestClient, path: str) -> bool:
    """Whether the limit at `path` holds for a new user: 2 handshakes a minute, or 1 socket at once."""
    user = uuid.uuid4().hex[:8]
    if path == "/rate":
        return (
            passes(client, f"/rate?user={user}")
            and passes(client, f"/rate?user={user}")
            and not passes(client, f"/rate?user={user}")
        )
    try:
        with client.websocket_connect(f"/hold?user={user}") as held:
            refused = not passes(client, f"/hold?user={user}")
            held.send_text("bye")
    except WebSocketDisconnect:
        return False
    return refused


@pytest.mark.parametrize("on_failure", ["closed", "open"])
@pytest.mark.parametrize("how", ["reset", "silent"])
@pytest.mark.parametrize("path", ["/rate", "/hold"])
def test_a_stale_pooled_connection_is_no_500(
    proxy: Proxy, how: Drop, on_failure: FailurePolicy, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    client_of_redis = Redis(host="127.0.0.1", port=proxy.port)
    limits = RedisBackend(client_of_redis, prefix=f"stale-{uuid.uuid4().hex[:8]}:", timeout=0.3, on_failure=on_failure)
    with caplog.at_level(logging.INFO, LOGGER), TestClient(limited_app(limits)) as client:
        assert passes(client, f"{path}?user=alice")
        deadline = time.monotonic() + 2
        while client.portal.call(limits.open_slots, "connections:alice"):  # its release has run: the pool is idle
            assert time.monotonic() < deadline, "alice's slot was not released"
            time.sleep(0.02)
        proxy.drop(how)
        # Stale: it passes on a new connection, or follows on_failure (closed: 429; open: let in).
        let_in = passes(client, f"{path}?user=bob")
        failed = lines(caplog, REDIS_DOWN)
        if how == "reset":  # redis-py notices the reset and reconnects: no failure at all
            assert let_in
            assert not failed
        else:  # the command waits for a reply that never comes: the backend's timeout, then on_failure
            assert let_in == (on_failure == "open")
            assert len(failed) == 1
            assert "TimeoutError" in failed[0]
        # And then the limits hold again. Each pooled connection the proxy dropped fails once the same way (a
        # silent drop costs one `timeout` each, then on_failure), so hold again within a few handshakes.
        deadline = time.monotonic() + 10
        while not enforced(client, path):
            assert time.monotonic() < deadline, "the limits were not enforced again"
        seen = [record.getMessage() for record in caplog.records]
    changes = [line for line in seen if line.startswith(("Redis failed", "Redis answers"))]
    assert not changes or changes[-1] == REDIS_BACK  # every failure logged was followed by its recovery
