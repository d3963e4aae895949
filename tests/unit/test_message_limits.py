"""`MessageLimitGuard`: what it counts, what a client over the limit gets, its value, its configuration errors."""

import contextlib
import time
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect
from starlette.requests import HTTPConnection
from starlette.testclient import TestClient

from fastapi_ws_reject import RejectingRouter, WebSocketRejection
from fastapi_ws_reject.guards import InMemoryBackend, MessageLimitGuard
from tests.support.watched import SEEN, depends, seen_after, seen_once_ended


@pytest.fixture(autouse=True)
def fresh_record() -> None:
    SEEN.clear()


def user_of(connection: HTTPConnection) -> str:
    return connection.query_params.get("user", "")


def test_the_drop_message_may_be_text_or_bytes() -> None:
    text = TestClient(depends(MessageLimitGuard(1, per=60, on_limit="drop", drop_message="slow down")))
    with text.websocket_connect("/ws") as websocket:
        websocket.receive_text()
        websocket.send_text("a")
        websocket.send_text("b")
        assert websocket.receive_text() == "slow down"
    binary = TestClient(depends(MessageLimitGuard(1, per=60, on_limit="drop", drop_message=b"\x00")))
    with binary.websocket_connect("/ws") as websocket:
        websocket.receive_text()
        websocket.send_text("a")
        websocket.send_text("b")
        assert websocket.receive_bytes() == b"\x00"


def test_binary_messages_count_too() -> None:
    app = depends(MessageLimitGuard(1, per=60))
    with TestClient(app).websocket_connect("/ws") as websocket:
        websocket.receive_text()
        websocket.send_text("0")
        websocket.send_bytes(b"1")
        assert websocket.receive()["code"] == 4429
    assert seen_once_ended() == ["0", 4429]


def test_the_limit_is_per_interval_not_per_window_and_frees_as_time_passes() -> None:
    app = depends(MessageLimitGuard(2, per=0.3, on_limit="drop"))
    with TestClient(app).websocket_connect("/ws") as websocket:
        websocket.receive_text()
        websocket.send_text("0")
        websocket.send_text("1")
        websocket.send_text("2")
        assert websocket.receive_json() == {"detail": "too many messages"}
        time.sleep(0.35)
        websocket.send_text("3")
        websocket.send_text("4")
        websocket.send_text("5")
        assert websocket.receive_json() == {"detail": "too many messages"}
        assert seen_after(4) == ["0", "1", "3", "4"]


def test_the_endpoint_gets_the_key_as_the_guards_value() -> None:
    per_user = MessageLimitGuard(3, per=60, key=user_of)
    per_socket = MessageLimitGuard(3, per=60)
    router = RejectingRouter()

    @router.websocket("/ws")
    async def endpoint(
        websocket: WebSocket,
        user: Annotated[str | None, Depends(per_user)],
        socket: Annotated[str | None, Depends(per_socket)],
    ) -> None:
        await websocket.accept()
        await websocket.send_json([user, socket])
        with contextlib.suppress(WebSocketDisconnect):
            await websocket.receive_text()

    app = FastAPI()
    app.include_router(router)
    with TestClient(app).websocket_connect("/ws?user=ann") as websocket:
        assert websocket.receive_json() == ["ann", None]


@pytest.mark.parametrize(
    ("options", "fix"),
    [
        ({"limit": 0, "per": 1}, "at least 1"),
        ({"limit": 1, "per": 0}, "positive number of seconds"),
        ({"limit": 1, "per": 1, "on_limit": "ignore"}, "'close' or 'drop'"),
        ({"limit": 1, "per": 1, "backend": InMemoryBackend()}, "Give key="),
        ({"limit": 1, "per": 1, "drop_message": "x"}, "on_limit='drop'"),
        ({"limit": 1, "per": 1, "on_limit": "drop", "rejection": WebSocketRejection(429)}, "drop_message="),
    ],
)
def test_an_impossible_limit_fails_at_construction_and_names_the_fix(options: dict[str, Any], fix: str) -> None:
    with pytest.raises(ValueError, match=fix):
        MessageLimitGuard(**options)


def test_a_drop_message_that_cannot_be_sent_fails_at_construction_as_a_rejection_body_does() -> None:
    with pytest.raises(TypeError, match="did you forget to await or call it"):
        MessageLimitGuard(1, per=1, on_limit="drop", drop_message=user_of)
    with pytest.raises(TypeError, match="cannot be rendered"):
        MessageLimitGuard(1, per=1, on_limit="drop", drop_message={"at": float("nan")})
