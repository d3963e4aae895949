import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, WebSocket, WebSocketException
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from fastapi_ws_reject import (
    RejectingRouter,
    RejectingWebSocketRoute,
    WebSocketRejection,
    add_rejection_handlers,
    ws_guard,
)
from fastapi_ws_reject._pipeline.sending import FALLBACK_WARNING
from fastapi_ws_reject.testing import without_denial_extension
from tests.support.apps import LAYOUTS, build_routes

Deny = Callable[..., Any]


@pytest.fixture(params=sorted(LAYOUTS))
def served(request: pytest.FixtureRequest) -> tuple[TestClient, str]:
    build, prefix = LAYOUTS[request.param]
    return TestClient(build()), prefix


def test_http_exception_before_accept_is_the_http_response(served: tuple[TestClient, str], deny: Deny) -> None:
    client, prefix = served
    for _ in range(2):  # the first handshake of an included copy takes another path than the next ones
        denial = deny(client, prefix + "/rooms/attic")
        assert denial.status_code == 404
        assert denial.headers["x-room"] == "attic"
        assert denial.headers["content-type"] == "application/json"
        assert denial.json() == {"detail": "no room attic"}


def test_accepted_socket_works_as_before(served: tuple[TestClient, str]) -> None:
    client, prefix = served
    for _ in range(2):
        with client.websocket_connect(prefix + "/rooms/lobby") as websocket:
            assert websocket.receive_text() == "welcome"


def test_rejection_sends_declared_status_headers_and_body(served: tuple[TestClient, str], deny: Deny) -> None:
    client, prefix = served
    denial = deny(client, prefix + "/rejection")
    assert denial.status_code == 429
    assert denial.headers["retry-after"] == "30"
    assert denial.headers["content-length"] == str(len(denial.content))
    assert denial.json() == {"detail": "slow down"}


def test_rejection_after_accept_closes_with_4000_plus_status(served: tuple[TestClient, str]) -> None:
    client, prefix = served
    with client.websocket_connect(prefix + "/late") as websocket:
        assert websocket.receive_text() == "hello"
        with pytest.raises(WebSocketDisconnect) as closed:
            websocket.receive_text()
    assert (closed.value.code, closed.value.reason) == (4404, "room closed")


def test_http_exception_after_accept_closes_with_its_detail_cut_to_123_bytes(served: tuple[TestClient, str]) -> None:
    client, prefix = served
    with client.websocket_connect(prefix + "/late-http") as websocket, pytest.raises(WebSocketDisconnect) as closed:
        websocket.receive_text()
    assert (closed.value.code, closed.value.reason) == (4403, "é" * 61)


def test_validation_error_is_a_422_listing_the_errors(served: tuple[TestClient, str], deny: Deny) -> None:
    client, prefix = served
    denial = deny(client, prefix + "/validated/seven")
    assert denial.status_code == 422
    errors = denial.json()["detail"]
    assert {tuple(error["loc"]) for error in errors} == {("path", "number"), ("header", "x-version")}


@pytest.mark.parametrize(
    ("path", "status_code", "body"),
    [("/ws-exception", 404, b"no such thing"), ("/ws-exception-policy", 403, b"policy")],
    ids=["4xxx-code-becomes-that-status", "other-code-becomes-403"],
)
def test_websocket_exception_becomes_a_status_with_the_reason_as_body(
    served: tuple[TestClient, str], deny: Deny, path: str, status_code: int, body: bytes
) -> None:
    client, prefix = served
    denial = deny(client, prefix + path)
    assert (denial.status_code, denial.content) == (status_code, body)


def test_guard_rejects_then_admits(served: tuple[TestClient, str], deny: Deny) -> None:
    client, prefix = served
    assert deny(client, prefix + "/guarded").status_code == 401
    with client.websocket_connect(prefix + "/guarded?token=good") as websocket:
        assert websocket.receive_text() == "alice"


def test_unexpected_exception_propagates(served: tuple[TestClient, str]) -> None:
    client, prefix = served
    with pytest.raises(RuntimeError, match="internal detail"), client.websocket_connect(prefix + "/boom"):
        pass


def test_nothing_is_sent_after_the_app_closed(served: tuple[TestClient, str]) -> None:
    client, prefix = served
    with client.websocket_connect(prefix + "/closed-then-rejected") as websocket:
        with pytest.raises(WebSocketDisconnect) as closed:
            websocket.receive_text()
        assert closed.value.code == 1000


def test_without_the_extension_a_rejection_is_a_close_and_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    build, _ = LAYOUTS["include"]
    client = TestClient(without_denial_extension(build()))
    with caplog.at_level(logging.WARNING, logger="fastapi_ws_reject"):
        for _ in range(3):
            with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/rejection"):
                pass
            assert closed.value.code == 4429
    assert [record.msg for record in caplog.records] == [FALLBACK_WARNING]


def test_include_level_guard_rejects_on_a_plain_app(deny: Deny) -> None:
    router = RejectingRouter()
    build_routes(router)
    app = FastAPI()
    app.include_router(
        router, prefix="/v1", dependencies=[Depends(ws_guard(lambda token=None: token, status_code=401))]
    )
    client = TestClient(app)
    for _ in range(2):
        assert deny(client, "/v1/rooms/lobby").status_code == 401
    with client.websocket_connect("/v1/rooms/lobby?token=x") as websocket:
        assert websocket.receive_text() == "welcome"
    assert deny(client, "/v1/rooms/attic?token=x").status_code == 404


async def no_entry() -> None:
    raise WebSocketRejection(503, "maintenance")


def test_router_level_guards_run_and_reject(deny: Deny) -> None:
    router = RejectingRouter(dependencies=[Depends(ws_guard(no_entry))])
    build_routes(router)
    app = FastAPI()
    app.include_router(router)
    assert deny(TestClient(app), "/rooms/lobby").content == b"maintenance"


def test_router_level_plain_dependencies_are_answered_by_the_apps_handlers(deny: Deny) -> None:
    # They run before anything the route adds, on every handshake alike; the app's handlers answer them.
    router = RejectingRouter(dependencies=[Depends(no_entry)])
    build_routes(router)
    app = FastAPI()
    app.include_router(router)
    add_rejection_handlers(app)
    assert deny(TestClient(app), "/rooms/lobby").content == b"maintenance"


def test_dependency_overrides_apply_to_rejecting_routes(deny: Deny) -> None:
    from tests.support.apps import token_user

    router = RejectingRouter()
    build_routes(router)
    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[token_user] = lambda: "mallory"
    client = TestClient(app)
    for _ in range(2):
        with client.websocket_connect("/guarded") as websocket:
            assert websocket.receive_text() == "mallory"


def test_plain_routes_beside_keep_fastapi_behaviour(deny: Deny) -> None:
    plain = APIRouter()

    @plain.websocket("/plain")
    async def plain_route(websocket: WebSocket) -> None:
        raise WebSocketException(code=4404, reason="plain")

    router = RejectingRouter()
    build_routes(router)
    app = FastAPI()
    app.include_router(router)
    app.include_router(plain)

    @app.get("/http")
    async def http_route() -> None:
        raise HTTPException(418, "teapot")

    client = TestClient(app)
    assert deny(client, "/ws-exception").status_code == 404
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/plain"):
        pass  # pragma: no cover
    assert type(closed.value) is WebSocketDisconnect
    assert closed.value.code == 4404
    response = client.get("/http")
    assert (response.status_code, response.json()) == (418, {"detail": "teapot"})


def test_route_class_is_an_api_websocket_route() -> None:
    router = RejectingRouter()
    build_routes(router)
    assert all(isinstance(route, RejectingWebSocketRoute) for route in router.routes)
