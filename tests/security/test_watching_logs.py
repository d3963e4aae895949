"""Attacks on the log lines of a watched socket (issue 21): a re-validation that raises must log one short line,
whatever the client put in the path and whatever the verifier put in its exception.

The path is the client's, the exception's class name the verifier's (a library may make its classes at run time),
and neither was capped: a 10,000-character path of control characters wrote 30 KB to the warning, and a
class name with a line break forged a log line. The exception's message is never logged: it may hold a secret.
"""

import logging
import re
import time
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

import pytest
from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect
from starlette.testclient import TestClient

from fastapi_ws_reject import RejectingRouter, WebSocketGuardMiddleware, ws_guard
from fastapi_ws_reject._events import LOGGED_FIELD_CUT, LOGGED_FIELD_LIMIT
from fastapi_ws_reject.guards._expiry import REVALIDATION_ERROR_LOG

TOKEN = "tok-3f9a1c7e-secret"
CUT_MARK = re.compile(re.escape(LOGGED_FIELD_CUT).replace(r"\{omitted\}", r"\d+"))
# 10,000 characters, none of them printable but the room's name: the route's `{name:path}` matches them all
# (a line break would not be routed, so the verifier's class name brings that one).
CONTROLS = "\x1b[2J\r\x07\x00\u2028\x85"
PATH = "/rooms/" + (CONTROLS * 10_000)[: 10_000 - len("/rooms/")]
LINE_LIMIT = 2048


def message_error() -> Exception:
    """What a verifier raises when its backend fails: a long message, a line break, and the token it checked."""
    return ConnectionError(f"token {TOKEN} could not be verified\nERROR forged line " + "x" * 100_000)


def named_error() -> Exception:
    """An exception whose class the verifier made at run time, with a line break and a huge name."""
    forged: type[Exception] = type("VerifierError\nERROR forged line " + "E" * 100_000, (Exception,), {})
    return forged(f"token {TOKEN}")


def failing_after_the_handshake(error: Callable[[], Exception]) -> Callable[[WebSocket], Any]:
    calls: list[int] = []

    async def verify(websocket: WebSocket) -> bool:
        calls.append(1)
        assert websocket.query_params["token"] == TOKEN
        if len(calls) > 1:
            raise error()
        return True

    return verify


async def serve(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("in")
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass


def on_a_route(guard: Any) -> FastAPI:
    router = RejectingRouter()

    @router.websocket("/rooms/{name:path}")
    async def room(websocket: WebSocket, value: Annotated[Any, Depends(guard)]) -> None:
        await serve(websocket)

    app = FastAPI()
    app.include_router(router)
    return app


def in_the_middleware(guard: Any) -> FastAPI:
    app = FastAPI()
    app.websocket("/rooms/{name:path}")(serve)
    app.add_middleware(WebSocketGuardMiddleware, guards=[guard])
    return app


def revalidation_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.msg == REVALIDATION_ERROR_LOG]


@pytest.mark.parametrize("place", [on_a_route, in_the_middleware])
@pytest.mark.parametrize("error", [message_error, named_error])
@pytest.mark.parametrize("on_error", ["close", "keep"])
def test_a_revalidation_error_is_logged_as_one_short_line_without_the_token(
    place: Callable[[Any], FastAPI],
    error: Callable[[], Exception],
    on_error: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = ws_guard(failing_after_the_handshake(error), revalidate=0.05, on_error=on_error)
    client = TestClient(place(guard))
    with (
        caplog.at_level(logging.INFO, logger="fastapi_ws_reject"),
        client.websocket_connect(f"{quote(PATH)}?token={TOKEN}") as websocket,
    ):
        assert websocket.receive_text() == "in"
        if on_error == "close":
            closed = websocket.receive()
            assert (closed["type"], closed["code"]) == ("websocket.close", 1011)
        else:
            deadline = time.monotonic() + 5
            while not revalidation_errors(caplog) and time.monotonic() < deadline:
                time.sleep(0.01)
    lines = [record.getMessage() for record in caplog.records if record.name == "fastapi_ws_reject"]
    # Sizes and shapes, not the lines: a failure here must not print 100 KB.
    assert [(len(line) < LINE_LIMIT, line.isprintable()) for line in lines] == [(True, True)] * len(lines)
    assert TOKEN not in caplog.text
    assert "could not be verified" not in caplog.text  # the exception's message is never logged
    (first, *_) = revalidation_errors(caplog)  # "keep" logs once for each period that raised
    assert first.exc_info is None
    warning = first.getMessage()
    assert warning.startswith("Re-validation of websocket /rooms/\\x1b[2J\\r\\x07\\x00\\u2028\\x85")
    assert warning.endswith(f"; {'closing' if on_error == 'close' else 'keeping'} the socket")
    # The path is cut and marked, and so is a huge class name.
    assert len(CUT_MARK.findall(warning)) == (2 if error is named_error else 1)


def test_a_plain_revalidation_error_is_logged_as_it_was(caplog: pytest.LogCaptureFixture) -> None:
    guard = ws_guard(failing_after_the_handshake(message_error), revalidate=0.05, on_error="close")
    with (
        caplog.at_level(logging.INFO, logger="fastapi_ws_reject"),
        TestClient(on_a_route(guard)).websocket_connect(f"/rooms/lobby?token={TOKEN}") as websocket,
    ):
        assert websocket.receive_text() == "in"
        assert websocket.receive()["code"] == 1011
    assert [record.getMessage() for record in revalidation_errors(caplog)] == [
        "Re-validation of websocket /rooms/lobby by ws_guard(verify) raised ConnectionError; closing the socket"
    ]


def test_a_path_at_the_limit_is_logged_whole(caplog: pytest.LogCaptureFixture) -> None:
    path = "/rooms/" + "a" * (LOGGED_FIELD_LIMIT - len("/rooms/"))
    guard = ws_guard(failing_after_the_handshake(message_error), revalidate=0.05, on_error="close")
    with (
        caplog.at_level(logging.INFO, logger="fastapi_ws_reject"),
        TestClient(in_the_middleware(guard)).websocket_connect(f"{path}?token={TOKEN}") as websocket,
    ):
        assert websocket.receive_text() == "in"
        assert websocket.receive()["code"] == 1011
    (record,) = revalidation_errors(caplog)
    assert record.getMessage().startswith(f"Re-validation of websocket {path} by ")
    assert CUT_MARK.search(record.getMessage()) is None
