from typing import Any

import pytest
from fastapi import Depends, FastAPI, HTTPException, WebSocket
from starlette.testclient import TestClient

from fastapi_ws_reject import (
    RejectingRouter,
    WebSocketGuardMiddleware,
    WebSocketRejection,
    add_rejection_handlers,
    ws_guard,
)
from fastapi_ws_reject.guards import OriginGuard
from fastapi_ws_reject.testing import assert_closed, assert_rejected

BROWSER = {"Origin": "https://app.example.com", "Sec-Fetch-Mode": "websocket", "Sec-Fetch-Dest": "websocket"}
CHROME = {"Origin": "https://app.example.com", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/156"}


def routes(router: Any) -> None:
    @router.websocket("/gone")
    async def gone(websocket: WebSocket) -> None:
        raise HTTPException(404, "room gone")

    @router.websocket("/own-http")
    async def own_http(websocket: WebSocket) -> None:
        raise WebSocketRejection(409, "conflict", policy="http")

    @router.websocket("/own-close")
    async def own_close(websocket: WebSocket) -> None:
        raise WebSocketRejection(409, "conflict", policy="close")


def included(policy: Any) -> TestClient:
    router = RejectingRouter(policy=policy)
    routes(router)
    app = FastAPI()
    app.include_router(router)
    return TestClient(app)


def test_close_policy_accepts_then_closes_with_4000_plus_status_and_no_message() -> None:
    client = included("close")
    for _ in range(2):  # the first handshake of an included copy takes another path than the next ones
        closed = assert_closed(client, "/gone", close_code=4404, close_reason="room gone")
        assert closed.messages == []


def test_auto_policy_closes_for_browsers_and_answers_http_to_others() -> None:
    client = included("auto")
    for _ in range(2):
        assert_closed(client, "/gone", close_code=4404, close_reason="room gone", request_headers=dict(BROWSER))
        assert_closed(client, "/gone", close_code=4404, close_reason="room gone", request_headers=dict(CHROME))
        assert_rejected(client, "/gone", status_code=404, json={"detail": "room gone"})
        assert_rejected(client, "/gone", status_code=404, request_headers={"Origin": "https://app.example.com"})
        assert_rejected(client, "/gone", status_code=404, request_headers={"User-Agent": "Mozilla/5.0"})


def test_a_rejections_own_policy_comes_first() -> None:
    assert_rejected(included("close"), "/own-http", status_code=409)
    assert_closed(included("http"), "/own-close", close_code=4409, close_reason="conflict")


def test_add_rejection_handlers_takes_an_app_wide_policy() -> None:
    app = FastAPI()
    add_rejection_handlers(app, policy="close")
    routes(app.router)
    assert_closed(TestClient(app), "/gone", close_code=4404)


def test_a_guard_policy_applies_to_that_guards_refusals_only() -> None:
    origins = OriginGuard(["https://app.example.com"], allow_missing=False, policy="close")
    router = RejectingRouter()

    @router.websocket("/ws", dependencies=[Depends(origins)])
    async def endpoint(websocket: WebSocket) -> None:
        raise HTTPException(403, "later")

    app = FastAPI()
    app.include_router(router)
    client = TestClient(app)
    assert_closed(
        client, "/ws", close_code=4403, close_reason="origin not allowed", request_headers={"Origin": "https://x.test"}
    )
    assert_rejected(client, "/ws", status_code=403, request_headers={"Origin": "https://app.example.com"})


def test_ws_guard_and_middleware_take_a_policy() -> None:
    router = RejectingRouter()

    @router.websocket("/ws", dependencies=[Depends(ws_guard(lambda: False, status_code=401, policy="close"))])
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()  # pragma: no cover

    app = FastAPI()
    app.include_router(router)
    assert_closed(TestClient(app), "/ws", close_code=4401)
    guarded = WebSocketGuardMiddleware(
        app, guards=[OriginGuard(["https://a.test"], allow_missing=False)], policy="auto"
    )
    assert_closed(TestClient(guarded), "/ws", close_code=4403, request_headers=dict(BROWSER))
    assert_rejected(TestClient(guarded), "/ws", status_code=403)


def test_close_policy_accepts_one_offered_subprotocol_so_the_browser_reads_the_close() -> None:
    client = included("close")
    with client.websocket_connect("/gone", subprotocols=["chat.v1", "chat.v2"]) as websocket:
        assert websocket.accepted_subprotocol == "chat.v1"
        assert websocket.receive() == {"type": "websocket.close", "code": 4404, "reason": "room gone"}


@pytest.mark.parametrize(
    "build",
    [
        lambda: WebSocketRejection(400, policy="sometimes"),
        lambda: RejectingRouter(policy="never"),
        lambda: add_rejection_handlers(FastAPI(), policy="HTTP"),
        lambda: OriginGuard(["https://a.test"], allow_missing=True, policy="close-ish"),
        lambda: WebSocketGuardMiddleware(FastAPI(), not_found=True, policy=""),
    ],
)
def test_an_unknown_policy_fails_when_built(build: Any) -> None:
    with pytest.raises(ValueError, match="policy must be one of http, close, auto"):
        build()
