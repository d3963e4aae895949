import asyncio

import pytest
from fastapi import FastAPI, WebSocket
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from fastapi_ws_reject import Guard, RejectingRouter, WebSocketGuardMiddleware, ws_guard
from fastapi_ws_reject.guards import ConnectionLimitGuard, HoldingGuard, InMemoryBackend, RateLimitGuard
from fastapi_ws_reject.testing import assert_rejected
from tests.support.places import PLACES, client_for, value_of, with_peer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("place", PLACES)
def test_rate_limit_refuses_the_third_handshake_in_a_window_with_retry_after(place: str) -> None:
    clock = Clock()
    client = client_for(RateLimitGuard(2, per=60, backend=InMemoryBackend(clock=clock)), place)
    value_of(client)
    clock.now += 10
    value_of(client)
    rejected = assert_rejected(client, "/ws", status_code=429, json={"detail": "too many handshakes"})
    assert rejected.headers["retry-after"] == "50"
    assert value_of(client, headers={"x-test-peer": "10.0.0.2"})  # another key has its own count
    clock.now += 50
    assert value_of(client)  # a new window


def test_rate_limit_key_may_be_async_and_come_from_the_handshake() -> None:
    async def user(websocket: WebSocket) -> str:
        return websocket.query_params.get("user", "")

    client = client_for(RateLimitGuard(1, per=60, key=user), "depends")
    assert value_of(client, "/ws?user=a") == "a"
    assert value_of(client, "/ws?user=b") == "b"
    assert_rejected(client, "/ws?user=a", status_code=429)


def test_in_memory_backend_forgets_ended_windows() -> None:
    clock = Clock()
    backend = InMemoryBackend(clock=clock)

    async def hits() -> None:
        for number in range(InMemoryBackend._PURGE_EVERY - 1):
            await backend.hit(f"k{number}", 1, 1.0)
        clock.now += 2
        await backend.hit("last", 1, 1.0)

    asyncio.run(hits())
    assert list(backend._passes) == ["last"]


def connection_app(limit: ConnectionLimitGuard, *, middleware: bool = False) -> TestClient:
    router = RejectingRouter()

    if middleware:

        @router.websocket("/ws")
        async def behind_middleware(websocket: WebSocket) -> None:
            await serve(websocket)

    else:
        from typing import Annotated

        from fastapi import Depends

        @router.websocket("/ws")
        async def with_depends(websocket: WebSocket, key: Annotated[str, Depends(limit)]) -> None:
            await serve(websocket)

    app = FastAPI()
    app.include_router(router)
    if middleware:
        app.add_middleware(WebSocketGuardMiddleware, guards=[limit])
    return TestClient(with_peer(app))


async def serve(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        command = await websocket.receive_text()
    except WebSocketDisconnect:
        return  # the client went away
    if command == "fail":
        raise RuntimeError("endpoint failed")
    if command == "close":
        await websocket.close()


@pytest.mark.parametrize("middleware", [False, True], ids=["depends", "middleware"])
@pytest.mark.parametrize("ending", ["close", "fail", "client-gone"])
def test_a_connection_slot_is_given_back_however_the_socket_ends(middleware: bool, ending: str) -> None:
    backend = InMemoryBackend()
    client = connection_app(ConnectionLimitGuard(1, backend=backend, retry_after=7), middleware=middleware)

    def hold_then_end() -> None:
        with client.websocket_connect("/ws") as first:
            assert backend.open_slots("connections:testclient") == 1
            rejected = assert_rejected(client, "/ws", status_code=429, json={"detail": "too many open sockets"})
            assert rejected.headers["retry-after"] == "7"
            if ending == "client-gone":
                first.close()
                return
            first.send_text(ending)
            with pytest.raises(WebSocketDisconnect):
                first.receive_text()

    if ending == "fail":
        with pytest.raises(RuntimeError, match="endpoint failed"):
            hold_then_end()
    else:
        hold_then_end()
    assert backend.open_slots("connections:testclient") == 0
    with client.websocket_connect("/ws") as again:
        again.send_text("close")


@pytest.mark.parametrize("place", ["ws_guard", "reject_unless"])
def test_connection_limit_in_ws_guard_and_reject_unless(place: str) -> None:
    backend = InMemoryBackend()
    client = client_for(ConnectionLimitGuard(2, backend=backend), place)
    assert value_of(client)
    assert backend.open_slots("connections:testclient") == 0


def test_connection_limit_is_a_holding_guard_and_cannot_be_timed() -> None:
    assert isinstance(ConnectionLimitGuard(1), HoldingGuard) and not isinstance(ConnectionLimitGuard(1), Guard)
    with pytest.raises(TypeError, match="holds a slot while the socket lives"):
        ws_guard(ConnectionLimitGuard(1), timeout=1)


@pytest.mark.parametrize("limit", [0, -1, 1.5, True])
def test_a_limit_that_refuses_everyone_fails_when_built(limit: object) -> None:
    with pytest.raises(ValueError, match="a limit of 0 refuses everyone"):
        RateLimitGuard(limit, per=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a limit of 0 refuses everyone"):
        ConnectionLimitGuard(limit)  # type: ignore[arg-type]


@pytest.mark.parametrize("per", [0, -5, "60", float("nan"), float("inf")])
def test_a_window_that_is_not_positive_fails_when_built(per: object) -> None:
    with pytest.raises(ValueError, match="per must be a positive number of seconds"):
        RateLimitGuard(1, per=per)  # type: ignore[arg-type]
