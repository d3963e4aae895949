"""Attacks on the watch of an open socket: an expired or banned client must lose its socket in every placement,
and an endpoint must not go on serving a socket the library closed.

Issue 21, rows 1 (expiry and revalidate= in all_of, beside ConnectionLimitGuard, in the middleware), 2 (the
endpoint kept receiving after the library's close), 5 (a hanging re-validation never timed out) and 6 (an
expiry held in a mapping was ignored).
"""

import asyncio
import time
from collections.abc import Callable
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect
from starlette.requests import HTTPConnection
from starlette.testclient import TestClient

from fastapi_ws_reject import RejectingRouter, ws_guard
from fastapi_ws_reject.testing import assert_rejected
from tests.support.watched import PLACEMENTS, SEEN, Placement, depends


def expiring_in(seconds: float) -> Callable[[HTTPConnection], Any]:
    def session(connection: HTTPConnection) -> dict[str, Any]:
        return {"user": "ann", "exp": time.time() + seconds}

    return session


class Banned:
    """A re-validated check that refuses from its second call on: the ban after the handshake."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, websocket: WebSocket) -> bool:
        self.calls += 1
        return self.calls == 1


@pytest.fixture(autouse=True)
def fresh_record() -> None:
    SEEN.clear()


def closed_on_its_own(app: FastAPI) -> dict[str, Any]:
    with TestClient(app).websocket_connect("/ws") as websocket:
        assert websocket.receive_text() == "in"
        return websocket.receive()


@pytest.mark.parametrize("place", PLACEMENTS)
def test_an_expired_credential_closes_the_socket_in_every_placement(place: Placement) -> None:
    closed = closed_on_its_own(place(ws_guard(expiring_in(0.2))))
    assert (closed["type"], closed["code"], closed["reason"]) == ("websocket.close", 4401, "credential expired")


@pytest.mark.parametrize("place", PLACEMENTS)
def test_a_ban_found_by_revalidation_closes_the_socket_in_every_placement(place: Placement) -> None:
    closed = closed_on_its_own(place(ws_guard(Banned(), revalidate=0.05)))
    assert (closed["type"], closed["code"]) == ("websocket.close", 4403)


@pytest.mark.parametrize("place", PLACEMENTS)
def test_an_expiry_already_past_in_a_mapping_refuses_the_handshake(place: Placement) -> None:
    assert_rejected(TestClient(place(ws_guard(expiring_in(-1)))), "/ws", status_code=403)


@pytest.mark.parametrize("claim", ["exp", "expires_at"])
def test_an_expiry_held_in_a_mapping_closes_the_socket(claim: str) -> None:
    def claims(connection: HTTPConnection) -> dict[str, Any]:
        return {"sub": "ann", claim: time.time() + 0.2}

    closed = closed_on_its_own(depends(ws_guard(claims)))
    assert (closed["code"], closed["reason"]) == (4401, "credential expired")


@pytest.mark.parametrize("place", PLACEMENTS)
def test_the_endpoint_takes_nothing_a_client_sends_after_the_librarys_close(place: Placement) -> None:
    with TestClient(place(ws_guard(expiring_in(0.2)))).websocket_connect("/ws") as websocket:
        assert websocket.receive_text() == "in"
        assert websocket.receive()["code"] == 4401
        for number in range(20):  # a client that ignores the close frame
            websocket.send_text(f"message {number}")
    assert SEEN == [4401]


def test_a_send_after_the_librarys_close_raises_websocket_disconnect_with_its_code() -> None:
    router = RejectingRouter()
    raised: list[int] = []

    @router.websocket("/ws")
    async def feed(websocket: WebSocket, value: Annotated[Any, Depends(ws_guard(expiring_in(0.1)))]) -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.send_text("tick")
                await asyncio.sleep(0.02)
        except WebSocketDisconnect as disconnect:
            raised.append(disconnect.code)
            await websocket.close()  # closing again is harmless

    app = FastAPI()
    app.include_router(router)
    with TestClient(app).websocket_connect("/ws") as websocket:
        while (message := websocket.receive())["type"] == "websocket.send":
            pass
        assert message["code"] == 4401
        deadline = time.monotonic() + 2
        while not raised and time.monotonic() < deadline:  # the feed's next send, within its 20 ms tick
            time.sleep(0.01)
    assert raised == [4401]


class Hanging:
    """A re-validated check that never answers after the handshake (a backend that hangs)."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, websocket: WebSocket) -> bool:
        self.calls += 1
        if self.calls > 1:
            await asyncio.sleep(3600)
        return True


@pytest.mark.parametrize("place", PLACEMENTS)
def test_a_revalidation_that_hangs_follows_on_error(place: Placement) -> None:
    closed = closed_on_its_own(place(ws_guard(Hanging(), revalidate=0.05, on_error="close")))
    assert (closed["code"], closed["reason"]) == (1011, "re-validation failed")
