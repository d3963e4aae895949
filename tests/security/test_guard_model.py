"""One guard model: every guard refuses with a fresh copy of its rejection, and leaves nothing in the scope."""

import asyncio
import traceback
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Query, WebSocket
from starlette.requests import HTTPConnection
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

import fastapi_ws_reject
from fastapi_ws_reject import Guard, RejectingRouter, WebSocketGuardMiddleware, WebSocketRejection, ws_guard
from fastapi_ws_reject.guards import BearerTokenGuard, OriginGuard, RateLimitGuard, all_of, any_of
from fastapi_ws_reject.testing import assert_rejected
from tests.support.places import PLACES, client_for, value_of

PACKAGE = Path(fastapi_ws_reject.__file__).parent


def connection(headers: dict[str, str] | None = None) -> HTTPConnection:
    raw = [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    return HTTPConnection({"type": "websocket", "path": "/ws", "headers": raw, "client": ("203.0.113.9", 1)})


def refusal(guard: Guard[Any], headers: dict[str, str] | None = None) -> WebSocketRejection:
    with pytest.raises(WebSocketRejection) as refused:
        asyncio.run(guard.check(connection(headers)))
    return refused.value


def test_each_refusal_is_its_own_exception_with_its_own_traceback() -> None:
    guard = OriginGuard(["https://a.example"], allow_missing=False)
    first, second = refusal(guard), refusal(guard)
    assert first is not second and first is not guard.rejection
    assert len(traceback.extract_tb(first.__traceback__)) == len(traceback.extract_tb(second.__traceback__))
    assert guard.rejection.__traceback__ is None


def test_a_refusal_carries_its_guard_detail_and_policy_and_shares_the_rendered_bytes() -> None:
    guard = OriginGuard(["https://a.example"], allow_missing=False, policy="close")
    refused = refusal(guard, {"Origin": "https://b.example"})
    assert (refused.guard, refused.detail, refused.policy) == (
        "OriginGuard",
        "origin 'https://b.example' not allowed",
        "close",
    )
    assert refused.body is guard.rejection.body and guard.rejection.policy is None
    assert (refused.status_code, refused.reason) == (403, "origin not allowed")


def test_no_traceback_clearing_workaround_is_left_in_the_package() -> None:
    sources = {path.name: path.read_text() for path in PACKAGE.rglob("*.py")}
    assert [name for name, text in sources.items() if "__traceback__ = None" in text] == []


def keeping_scope(app: ASGIApp, scopes: list[Scope]) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        scopes.append(scope)
        await app(scope, receive, send)

    return wrapped


@pytest.mark.parametrize("place", PLACES)
def test_a_refusal_leaves_nothing_of_its_own_in_the_scope(place: str) -> None:
    scopes: list[Scope] = []
    guard = any_of(
        OriginGuard(["https://a.example"], allow_missing=False), BearerTokenGuard(lambda token: "u", policy="close")
    )
    client = client_for(guard, place)
    client.app = keeping_scope(client.app, scopes)
    assert_rejected(client, "/ws", status_code=403)
    leftovers = {key for scope in scopes for key in scope if "refusal" in key or key.endswith(".policy")}
    assert leftovers == set()


def test_ws_guard_of_a_guard_with_rejection_fields_is_a_type_error_naming_the_fix() -> None:
    with pytest.raises(
        TypeError, match=r"configure the guard instead: OriginGuard\(\.\.\., rejection=WebSocketRejection"
    ):
        ws_guard(OriginGuard(["https://a.example"], allow_missing=True), status_code=451, body="custom")


def test_ws_guard_of_a_guard_is_the_guard() -> None:
    guard = OriginGuard(["https://a.example"], allow_missing=True)
    assert ws_guard(guard) is guard


def only_beta(websocket: WebSocket) -> str | None:
    return websocket.headers.get("x-user") if websocket.headers.get("x-user") in ("ann", "bob") else None


@pytest.mark.parametrize("place", PLACES)
def test_a_ws_guard_composes_and_runs_in_the_middleware(place: str) -> None:
    guard = all_of(ws_guard(only_beta, status_code=402), RateLimitGuard(100, per=60))
    client = client_for(guard, place)
    assert_rejected(client, "/ws", status_code=402)
    assert value_of(client, headers={"x-user": "ann"})


def test_a_ws_guard_alone_runs_in_the_middleware() -> None:
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()

    app.add_middleware(WebSocketGuardMiddleware, guards=[ws_guard(only_beta, status_code=402, timeout=1)])
    assert_rejected(TestClient(app), "/ws", status_code=402)


def test_a_ws_guard_that_needs_a_route_cannot_be_composed() -> None:
    def by_query(user: Annotated[str, Query()]) -> str:
        return user  # pragma: no cover

    with pytest.raises(TypeError, match="takes FastAPI parameters that only a route can solve"):
        all_of(ws_guard(by_query))
    with pytest.raises(TypeError, match="takes FastAPI parameters that only a route can solve"):
        WebSocketGuardMiddleware(FastAPI(), guards=[ws_guard(by_query)])


def test_every_guard_takes_rejection_and_policy_the_same_way() -> None:
    custom = WebSocketRejection(418, "no")
    built = [
        OriginGuard(["https://a.example"], allow_missing=False, rejection=custom, policy="close"),
        BearerTokenGuard(lambda token: "u", rejection=custom, policy="close"),
        RateLimitGuard(1, per=1, rejection=custom, policy="close"),
        ws_guard(only_beta, rejection=custom, policy="close"),
    ]
    assert {(guard.rejection.status_code, guard.policy) for guard in built} == {(418, "close")}


def test_a_guard_written_by_a_user_needs_one_method() -> None:
    class BetaTesters(Guard[str]):
        async def check(self, connection: HTTPConnection) -> str:
            user = connection.headers.get("x-user", "")
            if user != "ann":
                self.refuse(connection, "not a beta tester")
            return user

    router = RejectingRouter()

    @router.websocket("/ws")
    async def ws(websocket: WebSocket, user: Annotated[str, Depends(BetaTesters())]) -> None:
        await websocket.accept()
        await websocket.send_text(user)
        await websocket.close()

    app = FastAPI()
    app.include_router(router)
    assert_rejected(TestClient(app), "/ws", status_code=403)
    with TestClient(app).websocket_connect("/ws", headers={"x-user": "ann"}) as websocket:
        assert websocket.receive_text() == "ann"
