import asyncio
import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI, WebSocket, WebSocketException
from starlette.testclient import TestClient

from fastapi_ws_reject import WebSocketRejection, add_rejection_handlers
from fastapi_ws_reject.testing import (
    RunningServer,
    assert_closed,
    assert_rejected,
    handshake,
    live_server,
    without_denial_extension,
)
from tests.support.apps import ROOT


def build() -> FastAPI:
    app = FastAPI()
    add_rejection_handlers(app)

    @app.websocket("/denied")
    async def denied(websocket: WebSocket) -> None:
        raise WebSocketRejection(404, {"detail": "nope"}, headers={"X-Why": "test"})

    @app.websocket("/closed-early")
    async def closed_early(websocket: WebSocket) -> None:
        await websocket.close(code=4401)

    @app.websocket("/talks")
    async def talks(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("one")
        await websocket.send_bytes(b"two")
        raise WebSocketRejection(409, "conflict")

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(build())


def test_assert_rejected_returns_what_was_sent(client: TestClient) -> None:
    rejected = assert_rejected(
        client,
        "/denied",
        status_code=404,
        headers={"X-Why": "test"},
        json={"detail": "nope"},
        content='{"detail":"nope"}',
    )
    assert (rejected.status_code, rejected.text, rejected.closed_before_accept) == (404, '{"detail":"nope"}', None)


def test_assert_rejected_shows_what_came_back_instead(client: TestClient) -> None:
    expected = "/denied was rejected, but: status 404, expected 401; header 'x-why' is 'test', expected 'other'; "
    with pytest.raises(AssertionError, match=re.escape(expected)) as failed:
        assert_rejected(client, "/denied", status_code=401, headers={"x-why": "other"}, json=[1], content=b"x")
    assert "It sent 404, headers {'x-why': 'test'" in str(failed.value)
    assert "body b'{\"detail\":\"nope\"}', expected b'x'" in str(failed.value)


def test_assert_rejected_fails_on_an_accepted_socket(client: TestClient) -> None:
    with pytest.raises(AssertionError, match=r"Expected /talks to be rejected, but it was accepted, then 2 message"):
        assert_rejected(client, "/talks")


def test_a_close_before_accept_is_reported_as_the_403_real_servers_send(client: TestClient) -> None:
    rejected = assert_rejected(client, "/closed-early", status_code=403, content=b"")
    assert rejected.closed_before_accept == 4401
    with pytest.raises(AssertionError, match="a close with code 4401 before accept, which real servers send as 403"):
        assert_rejected(client, "/closed-early", status_code=401)


def test_without_the_denial_extension_a_rejection_is_the_fallback_403(client: TestClient) -> None:
    rejected = assert_rejected(TestClient(without_denial_extension(build())), "/denied", status_code=403)
    assert rejected.closed_before_accept == 4404


def test_websocket_exception_on_a_plain_app_is_reported_as_403() -> None:
    app = FastAPI()

    @app.websocket("/ws")
    async def endpoint(websocket: WebSocket) -> None:
        raise WebSocketException(code=4401, reason="log in")

    assert assert_rejected(TestClient(app), "/ws").status_code == 403


def test_assert_closed_returns_code_reason_and_messages(client: TestClient) -> None:
    closed = assert_closed(client, "/talks", close_code=4409, close_reason="conflict")
    assert closed.messages == ["one", b"two"]


def test_assert_closed_shows_what_came_back_instead(client: TestClient) -> None:
    with pytest.raises(AssertionError, match="close code 4409, expected 1000; reason 'conflict', expected ''"):
        assert_closed(client, "/talks", close_code=1000, close_reason="")
    with pytest.raises(AssertionError, match=r"to be accepted and then closed, but it was rejected with 404"):
        assert_closed(client, "/denied")


def test_live_server_refuses_an_unknown_server_or_implementation() -> None:
    with pytest.raises(ValueError, match="server must be one of"), live_server("x:app", server="gunicorn"):
        pass  # pragma: no cover
    with pytest.raises(ValueError, match="ws must be one of"), live_server("x:app", ws="auto"):
        pass  # pragma: no cover


def test_live_server_needs_an_import_path_for_granian_and_daphne() -> None:
    with pytest.raises(TypeError, match="granian loads the app by import path"), live_server(build(), "granian"):
        pass  # pragma: no cover


@pytest.mark.e2e
def test_live_server_reports_a_server_that_cannot_start() -> None:
    missing = live_server("tests.no_such_module:app", cwd=ROOT)
    with pytest.raises(RuntimeError, match="exited before it listened") as failed, missing:
        pass  # pragma: no cover
    assert "no_such_module" in str(failed.value)


@pytest.mark.e2e
@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_live_server_serves_an_app_object_in_a_thread(server: str) -> None:
    with live_server(build(), server) as base_url:
        result = asyncio.run(handshake(base_url + "/denied"))
        assert (result.status_code, base_url.log()) == (404, "")
        result = asyncio.run(handshake(base_url + "/talks"))
        assert (result.messages, result.close_code, result.close_reason) == (["one", b"two"], 4409, "conflict")


@pytest.mark.e2e
def test_ws_live_server_fixture_starts_and_stops_servers(ws_live_server: Callable[..., RunningServer]) -> None:
    base_url = ws_live_server(build(), "uvicorn", "wsproto")
    assert asyncio.run(handshake(base_url + "/denied")).headers["x-why"] == "test"
