"""The one policy order (the rejection's, the guard's, the route's or middleware's, the app's, "http"): what the
AsyncAPI document says a refusal's policy is, and how the client gets it, for each place a policy can come from."""

from typing import Any

import pytest
from fastapi import Depends, FastAPI, WebSocket
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from fastapi_ws_reject import RejectingRouter, WebSocketGuardMiddleware, WebSocketRejection, add_rejection_handlers
from fastapi_ws_reject.asyncapi import asyncapi_schema
from fastapi_ws_reject.guards import OriginGuard
from fastapi_ws_reject.policy import Policy

BANNED = WebSocketRejection(403, "banned", policy="close")


def origin_guard(policy: Policy | None) -> OriginGuard:
    return OriginGuard(["https://app.example.com"], allow_missing=False, policy=policy)


async def open_socket(websocket: WebSocket) -> None:
    await websocket.accept()  # pragma: no cover


def on_a_rejecting_router(guard_policy: Policy | None, route_policy: Policy) -> FastAPI:
    router = RejectingRouter(policy=route_policy)
    router.add_api_websocket_route("/ws", open_socket, dependencies=[Depends(origin_guard(guard_policy))])
    app = FastAPI()
    app.include_router(router)
    return app


def on_a_plain_route(guard_policy: Policy | None, app_policy: Policy) -> FastAPI:
    app = FastAPI()
    app.add_api_websocket_route("/ws", open_socket, dependencies=[Depends(origin_guard(guard_policy))])
    add_rejection_handlers(app, policy=app_policy)
    return app


def in_the_middleware(guard_policy: Policy | None, middleware_policy: Policy) -> FastAPI:
    app = FastAPI()
    app.add_api_websocket_route("/ws", open_socket)
    app.add_middleware(WebSocketGuardMiddleware, guards=[origin_guard(guard_policy)], policy=middleware_policy)
    return app


def answered_by(app: FastAPI) -> str:
    """How the client got the refusal: "close" (accepted, then closed) or "http" (a response before accept)."""
    try:
        with TestClient(app).websocket_connect("/ws") as websocket:
            websocket.receive_text()
    except Exception as exc:  # Starlette's denial response is a WebSocketDisconnect too, with a status code
        if getattr(exc, "status_code", None) == 403:
            return "http"
        assert isinstance(exc, WebSocketDisconnect) and exc.code == 4403, exc
        return "close"
    raise AssertionError("not refused")  # pragma: no cover


def documented(app: FastAPI) -> str:
    document = asyncapi_schema(app)
    (channel,) = document["channels"].values()
    (entry,) = [entry for entry in channel["x-handshake-rejections"] if entry["guard"] == "OriginGuard"]
    policy: Any = entry["policy"]
    return str(policy)


@pytest.mark.parametrize("build", [on_a_rejecting_router, on_a_plain_route, in_the_middleware])
@pytest.mark.parametrize(
    ("guard_policy", "placement_policy", "expected"),
    [(None, "close", "close"), (None, "http", "http"), ("http", "close", "http"), ("close", "http", "close")],
)
def test_the_document_and_the_wire_agree_on_the_policy(
    build: Any, guard_policy: Policy | None, placement_policy: Policy, expected: str
) -> None:
    app = build(guard_policy, placement_policy)
    assert (documented(app), answered_by(app)) == (expected, expected)


def test_a_rejections_own_policy_comes_first() -> None:
    router = RejectingRouter(policy="http")

    @router.websocket("/ws", rejections=[BANNED])
    async def ws(websocket: WebSocket) -> None:
        raise BANNED

    app = FastAPI()
    app.include_router(router)
    (channel,) = asyncapi_schema(app)["channels"].values()
    (entry,) = channel["x-handshake-rejections"]
    assert (entry["policy"], answered_by(app)) == ("close", "close")
