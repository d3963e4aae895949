"""Attacks on `MessageLimitGuard` (issue 23, item 3): a client that floods an accepted socket must be held to the
limit in every placement, per socket and per key, whichever way the guard answers (a close, or a drop).

On main before the guard, nothing counted messages after accept: the endpoint took all of a flood.
"""

import logging
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.requests import HTTPConnection
from starlette.testclient import TestClient
from starlette.types import Message

from fastapi_ws_reject import WebSocketRejection
from fastapi_ws_reject.guards import InMemoryBackend, MessageLimitGuard, all_of, any_of, ws_guard
from tests.support.watched import (
    SEEN,
    Placement,
    beside_a_connection_limit,
    depends,
    in_all_of,
    middleware,
    middleware_with_two_guards,
    seen_after,
    seen_once_ended,
    seen_when,
    served_as_built,
)

FLOOD = 20


def behind_an_override(guard: Any) -> FastAPI:
    """The app overrides a stand-in dependency with the guard: FastAPI calls the guard in its place."""

    async def stand_in() -> None:
        return None

    app = depends(stand_in)
    app.dependency_overrides[stand_in] = guard
    return app


def in_any_of_a_route(guard: Any) -> FastAPI:
    """`any_of` refuses a message limit (see below), so the route puts it beside one."""
    return depends(all_of(any_of(ws_guard(lambda: False), ws_guard(lambda: True)), guard))


PLACEMENTS: list[Placement] = [
    depends,
    served_as_built,
    behind_an_override,
    in_all_of,
    beside_a_connection_limit,
    in_any_of_a_route,
    middleware,
    middleware_with_two_guards,
]


@pytest.fixture(autouse=True)
def fresh_record() -> None:
    SEEN.clear()


def flood(app: FastAPI, messages: int = FLOOD, **connect: Any) -> Message:
    """Send `messages` texts at once, then return the frame the server sent next."""
    with TestClient(app).websocket_connect("/ws", **connect) as websocket:
        assert websocket.receive_text() == "in"
        for number in range(messages):
            websocket.send_text(str(number))
        return websocket.receive()


def user_of(connection: HTTPConnection) -> str:
    return connection.query_params.get("user", "")


@pytest.mark.parametrize("place", PLACEMENTS)
def test_a_flood_closes_the_socket_with_4429_after_the_limit_in_every_placement(place: Placement) -> None:
    closed = flood(place(MessageLimitGuard(3, per=60)))
    assert closed == {"type": "websocket.close", "code": 4429, "reason": "too many messages"}
    assert seen_once_ended() == ["0", "1", "2", 4429]


@pytest.mark.parametrize("place", PLACEMENTS)
def test_a_flood_is_dropped_with_an_error_message_and_the_socket_stays_in_every_placement(place: Placement) -> None:
    app = place(MessageLimitGuard(3, per=60, on_limit="drop"))
    with TestClient(app).websocket_connect("/ws") as websocket:
        assert websocket.receive_text() == "in"
        for number in range(FLOOD):
            websocket.send_text(str(number))
        errors = [websocket.receive_json() for _ in range(FLOOD - 3)]
        assert seen_after(3) == ["0", "1", "2"]
    assert errors == [{"detail": "too many messages"}] * (FLOOD - 3)


def test_a_close_with_1008_and_a_reason_of_ones_own() -> None:
    slow_down = WebSocketRejection(429, "slow down", close_code=1008)
    assert flood(depends(MessageLimitGuard(2, per=60, rejection=slow_down)))["code"] == 1008
    assert seen_once_ended() == ["0", "1", 1008]


def test_each_socket_counts_its_own_messages() -> None:
    app = depends(MessageLimitGuard(3, per=60))
    client = TestClient(app)
    with client.websocket_connect("/ws") as first, client.websocket_connect("/ws") as second:
        first.receive_text()
        second.receive_text()
        for number in range(3):
            first.send_text(f"a{number}")
            second.send_text(f"b{number}")
        assert sorted(seen_after(6)) == ["a0", "a1", "a2", "b0", "b1", "b2"]


def test_a_user_on_two_sockets_shares_one_count_and_another_user_has_their_own() -> None:
    app = depends(MessageLimitGuard(3, per=60, key=user_of))
    client = TestClient(app)
    with client.websocket_connect("/ws?user=ann") as first, client.websocket_connect("/ws?user=ann") as second:
        first.receive_text()
        second.receive_text()
        first.send_text("a0")
        first.send_text("a1")
        assert seen_after(2) == ["a0", "a1"]  # counted before the second socket's
        second.send_text("b0")
        second.send_text("b1")
        assert second.receive()["code"] == 4429
    with client.websocket_connect("/ws?user=bob") as third:
        third.receive_text()
        third.send_text("c0")
        assert "c0" in seen_when(lambda: "c0" in SEEN, 5)


def test_a_client_that_keeps_sending_after_the_close_reaches_nothing() -> None:
    app = depends(MessageLimitGuard(1, per=60))
    with TestClient(app).websocket_connect("/ws") as websocket:
        websocket.receive_text()
        for number in range(FLOOD):
            websocket.send_text(str(number))
        assert websocket.receive()["code"] == 4429
    assert seen_once_ended() == ["0", 4429]


def test_the_close_is_logged_once_with_the_guard_and_no_message_content(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="fastapi_ws_reject")
    with TestClient(depends(MessageLimitGuard(1, per=60))).websocket_connect("/ws") as websocket:
        websocket.receive_text()
        websocket.send_text("secret-one")
        websocket.send_text("secret-two")
        websocket.receive()
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 1, lines
    assert "MessageLimitGuard" in lines[0] and "4429" in lines[0]
    assert "secret" not in caplog.text


class FailingBackend(InMemoryBackend):
    """What RedisBackend answers while Redis fails: on_failure="open" lets a hit pass, "closed" refuses it."""

    def __init__(self, on_failure: str) -> None:
        super().__init__()
        self.on_failure = on_failure

    async def hit(self, key: str, limit: int, window: float) -> float | None:
        return None if self.on_failure == "open" else 1.0


@pytest.mark.parametrize(("on_failure", "seen"), [("open", [str(n) for n in range(5)]), ("closed", [4429])])
def test_a_backend_that_cannot_count_follows_its_on_failure(on_failure: str, seen: list[Any]) -> None:
    app = depends(MessageLimitGuard(2, per=60, key=user_of, backend=FailingBackend(on_failure)))
    with TestClient(app).websocket_connect("/ws?user=ann") as websocket:
        websocket.receive_text()
        for number in range(5):
            websocket.send_text(str(number))
        if on_failure == "open":
            assert seen_after(5) == seen
        else:
            assert websocket.receive()["code"] == 4429
            assert seen_once_ended() == seen


def test_any_of_refuses_a_message_limit_it_would_skip() -> None:
    with pytest.raises(TypeError, match="beside the any_of"):
        any_of(ws_guard(lambda: True), MessageLimitGuard(3, per=1))
