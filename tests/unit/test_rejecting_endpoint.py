"""The endpoint wrapper that makes a `RejectingRouter` route answer rejections, and holding compositions."""

from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, HTTPException, WebSocket
from starlette.testclient import TestClient

from fastapi_ws_reject import RejectingRouter, WebSocketGuardMiddleware
from fastapi_ws_reject._placements.routing import RejectingWebSocketRoute
from fastapi_ws_reject.guards import ConnectionLimitGuard, InMemoryBackend, OriginGuard, any_of
from fastapi_ws_reject.testing import assert_rejected


def test_an_endpoint_without_a_websocket_parameter_is_answered_too() -> None:
    router = RejectingRouter()

    async def no_websocket() -> None:
        raise HTTPException(404, "nothing here")

    router.add_api_websocket_route("/ws", no_websocket)
    app = FastAPI()
    app.include_router(router)
    assert_rejected(TestClient(app), "/ws", status_code=404, json={"detail": "nothing here"})


def test_a_sync_endpoint_is_refused_when_the_route_is_built() -> None:
    def sync(websocket: WebSocket) -> None:
        pass  # pragma: no cover

    with pytest.raises(TypeError, match="must be `async def`"):
        RejectingRouter().add_api_websocket_route("/ws", sync)


def test_a_rejecting_endpoint_keeps_its_first_policy() -> None:
    async def endpoint(websocket: WebSocket) -> None:
        pass  # pragma: no cover

    closing = RejectingWebSocketRoute("/ws", endpoint, policy="close")
    again = RejectingWebSocketRoute("/ws", closing.endpoint, policy="http")
    assert again.endpoint is closing.endpoint and again.policy == "close"
    assert again.endpoint.__wrapped__ is endpoint and again.name == "endpoint"


def test_a_router_included_in_a_rejecting_router_keeps_its_policy() -> None:
    child = RejectingRouter(policy="close")

    @child.websocket("/gone")
    async def gone(websocket: WebSocket) -> None:
        raise HTTPException(404, "gone")

    parent = RejectingRouter()
    parent.include_router(child)
    app = FastAPI()
    app.include_router(parent)
    with TestClient(app).websocket_connect("/gone") as websocket:
        assert websocket.receive()["code"] == 4404


@pytest.mark.parametrize("place", ["depends", "middleware"])
def test_any_of_with_a_holding_guard_holds_the_slot_of_the_guard_that_passed(place: str) -> None:
    backend = InMemoryBackend()
    guard = any_of(OriginGuard(["https://a.example"], allow_missing=False), ConnectionLimitGuard(1, backend=backend))
    router = RejectingRouter()
    held: list[int] = []

    @router.websocket("/ws", dependencies=[Depends(guard)] if place == "depends" else [])
    async def ws(websocket: WebSocket) -> None:
        held.append(backend.open_slots("connections:testclient"))
        await websocket.accept()
        await websocket.close()

    app = FastAPI()
    app.include_router(router)
    if place == "middleware":
        app.add_middleware(WebSocketGuardMiddleware, guards=[guard])
    with TestClient(app).websocket_connect("/ws"):
        pass
    assert held == [1] and backend.open_slots("connections:testclient") == 0
    assert guard.name == "any_of(OriginGuard, ConnectionLimitGuard)" and not guard.reads_cookies  # type: ignore[union-attr]


def test_an_endpoint_error_inside_a_held_any_of_gives_the_slot_back() -> None:
    backend = InMemoryBackend()
    guard = any_of(ConnectionLimitGuard(1, backend=backend))
    router = RejectingRouter()

    @router.websocket("/ws")
    async def ws(websocket: WebSocket, key: Annotated[Any, Depends(guard)]) -> None:
        raise HTTPException(409, "busy")

    app = FastAPI()
    app.include_router(router)
    assert_rejected(TestClient(app), "/ws", status_code=409)
    assert backend.open_slots("connections:testclient") == 0
