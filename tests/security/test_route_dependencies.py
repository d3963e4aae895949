"""Issue 21, rows 3, 10 and 11: what a `RejectingRouter` route's `dependencies=[...]`, and its app's, raise.

Row 10: `dependencies=[Depends(verify_token)]` raising `HTTPException(401)` was answered by nothing on FastAPI
0.115 (a 500 on uvicorn, a hang in Starlette 0.38's TestClient): FastAPI solves a route's `dependencies` before
the endpoint's parameters, where the library answered. Row 11: a validation error in such a dependency got
FastAPI's close 1008 when the endpoint took only its `WebSocket`, and a 422 as soon as it declared any other
parameter. Row 3: the app's own `dependencies=[...]` (an app-wide guard) never ran on a route served as built or
through a mounted router. Each layout and signature is tried: included, served as built, mounted, included in a
`RejectingRouter` that is then included; the dependency at route and router level.
"""

import logging
from collections.abc import Callable
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Header, HTTPException, WebSocket
from fastapi.routing import APIRouter
from starlette.testclient import TestClient

from fastapi_ws_reject import RejectingRouter, add_rejection_handlers
from fastapi_ws_reject._placements.endpoint import PREPENDED_WARNING
from fastapi_ws_reject._placements.routing import APP_DEPENDENCIES_SKIPPED_LOG
from fastapi_ws_reject.guards import OriginGuard
from fastapi_ws_reject.testing import assert_closed, assert_rejected

UNAUTHORIZED = {"status_code": 401, "json": {"detail": "bad token"}, "headers": {"www-authenticate": "Bearer"}}


async def verify_token(x_token: Annotated[str, Header()] = "") -> None:
    if x_token != "good":
        raise HTTPException(401, "bad token", headers={"WWW-Authenticate": "Bearer"})


def verify_token_sync(x_token: Annotated[str, Header()] = "") -> None:
    if x_token != "good":
        raise HTTPException(401, "bad token", headers={"WWW-Authenticate": "Bearer"})


async def token_of(x_token: Annotated[str, Header()] = "") -> str:
    if x_token != "good":
        raise HTTPException(401, "bad token", headers={"WWW-Authenticate": "Bearer"})
    return x_token


async def verify_by_sub_dependency(token: Annotated[str, Depends(token_of)]) -> None:
    pass


async def needs_a_number(x_number: Annotated[int, Header()]) -> int:
    return x_number


def router_with(dependency: Callable[..., Any], level: str, signature: str) -> RejectingRouter:
    router = RejectingRouter(dependencies=[Depends(dependency)] if level == "router" else [])
    on_route = [Depends(dependency)] if level == "route" else []
    if signature == "websocket only":

        @router.websocket("/ws", dependencies=on_route)
        async def ws(websocket: WebSocket) -> None:
            await websocket.accept()
            await websocket.send_text("in")
            await websocket.close()

    else:

        @router.websocket("/ws", dependencies=on_route)
        async def ws_with_query(websocket: WebSocket, q: str = "") -> None:
            await websocket.accept()
            await websocket.send_text("in")
            await websocket.close()

    return router


def served(router: RejectingRouter, layout: str) -> FastAPI:
    app = FastAPI()
    if layout == "included":
        app.include_router(router)
    elif layout == "as built":
        app.router.routes.extend(router.routes)
    elif layout == "mounted":
        app.mount("/m", router)
    else:  # included in a RejectingRouter, itself included
        parent = RejectingRouter()
        parent.include_router(router)
        app.include_router(parent)
    return app


LAYOUTS = ["included", "as built", "mounted", "in a rejecting parent"]
SIGNATURES = ["websocket only", "websocket and a query"]
LEVELS = ["route", "router"]


def path(layout: str) -> str:
    return "/m/ws" if layout == "mounted" else "/ws"


@pytest.mark.parametrize("signature", SIGNATURES)
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dependency", [verify_token, verify_token_sync, verify_by_sub_dependency])
def test_a_dependency_that_raises_http_exception_is_answered_as_declared(
    dependency: Callable[..., Any], layout: str, level: str, signature: str
) -> None:
    client = TestClient(served(router_with(dependency, level, signature), layout))
    assert_rejected(client, path(layout), **UNAUTHORIZED)  # type: ignore[arg-type]
    with client.websocket_connect(path(layout), headers={"x-token": "good"}) as websocket:
        assert websocket.receive_text() == "in"


@pytest.mark.parametrize("signature", SIGNATURES)
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_validation_error_in_a_dependency_is_a_422_whatever_the_endpoint_takes(
    layout: str, level: str, signature: str
) -> None:
    client = TestClient(served(router_with(needs_a_number, level, signature), layout))
    rejected = assert_rejected(client, path(layout), status_code=422)
    assert rejected.json()["detail"][0]["loc"] == ["header", "x-number"]
    with client.websocket_connect(path(layout), headers={"x-number": "7"}) as websocket:
        assert websocket.receive_text() == "in"


def test_the_policy_of_the_router_answers_its_dependencies() -> None:
    router = RejectingRouter(policy="close", dependencies=[Depends(verify_token)])

    @router.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()  # pragma: no cover

    app = FastAPI()
    app.include_router(router)
    assert_closed(TestClient(app), "/ws", close_code=4401, close_reason="bad token")


def test_an_override_of_a_route_dependency_is_what_runs() -> None:
    app = served(router_with(verify_token, "route", "websocket only"), "included")
    app.dependency_overrides[verify_token] = lambda: None
    with TestClient(app).websocket_connect("/ws") as websocket:
        assert websocket.receive_text() == "in"


def test_the_route_reports_the_dependencies_it_was_given() -> None:
    (route,) = router_with(verify_token, "route", "websocket only").routes
    assert [depends.dependency.__name__ for depends in route.dependencies] == ["verify_token"]  # type: ignore[attr-defined]


def test_a_dependency_added_by_a_plain_include_is_named_once_with_the_fix(caplog: pytest.LogCaptureFixture) -> None:
    """An include into a router or app the library never sees puts its `dependencies` before everything of the
    route's: only the app's handlers can answer them, so the first handshake that reaches the route says so."""
    app = FastAPI()
    app.include_router(router_with(lambda: None, "route", "websocket only"), dependencies=[Depends(verify_token)])
    client = TestClient(app)
    with caplog.at_level(logging.WARNING, logger="fastapi_ws_reject"):
        for _ in range(2):
            with client.websocket_connect("/ws", headers={"x-token": "good"}) as websocket:
                assert websocket.receive_text() == "in"
    assert [record.msg for record in caplog.records] == [PREPENDED_WARNING]
    assert "verify_token" in caplog.records[0].getMessage()
    assert "add_rejection_handlers(app)" in caplog.records[0].getMessage()


def test_a_plain_include_with_rejection_handlers_is_answered_and_not_warned(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    app.include_router(router_with(lambda: None, "route", "websocket only"), dependencies=[Depends(verify_token)])
    add_rejection_handlers(app)
    client = TestClient(app)
    with caplog.at_level(logging.WARNING, logger="fastapi_ws_reject"):
        assert_rejected(client, "/ws", **UNAUTHORIZED)  # type: ignore[arg-type]
        with client.websocket_connect("/ws", headers={"x-token": "good"}) as websocket:
            assert websocket.receive_text() == "in"
    assert caplog.records == []


# Row 3: the app's own dependencies.

same_site = OriginGuard(["https://app.example.com"], allow_missing=False)


def open_router() -> RejectingRouter:
    router = RejectingRouter()

    @router.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("in")
        await websocket.close()

    return router


@pytest.mark.parametrize("layout", ["as built", "mounted"])
@pytest.mark.parametrize("app_dependency", [same_site, verify_token])
def test_an_app_dependency_a_route_would_skip_fails_closed_and_names_the_fix(
    layout: str, app_dependency: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    app = FastAPI(dependencies=[Depends(app_dependency)])
    if layout == "as built":
        app.router.routes.extend(open_router().routes)
    else:
        app.mount("/m", open_router())
    with caplog.at_level(logging.ERROR, logger="fastapi_ws_reject"):
        assert_rejected(
            TestClient(app),
            path(layout),
            status_code=500,
            request_headers={"origin": "https://app.example.com", "x-token": "good"},
        )
    (record,) = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert record.msg == APP_DEPENDENCIES_SKIPPED_LOG
    assert "app.include_router(router)" in record.getMessage()


def test_an_app_guard_runs_on_an_included_route() -> None:
    app = FastAPI(dependencies=[Depends(same_site)])
    app.include_router(open_router())
    client = TestClient(app)
    assert_rejected(client, "/ws", status_code=403)
    with client.websocket_connect("/ws", headers={"origin": "https://app.example.com"}) as websocket:
        assert websocket.receive_text() == "in"


def test_a_route_served_as_built_with_the_apps_dependencies_runs_them() -> None:
    app = FastAPI(dependencies=[Depends(same_site)])
    router = RejectingRouter(dependencies=app.router.dependencies)

    @router.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("in")
        await websocket.close()

    app.router.routes.extend(router.routes)
    client = TestClient(app)
    assert_rejected(client, "/ws", status_code=403)
    with client.websocket_connect("/ws", headers={"origin": "https://app.example.com"}) as websocket:
        assert websocket.receive_text() == "in"


def test_a_plain_router_is_left_to_fastapi() -> None:
    """Where the library adds nothing, nothing changes: a plain route served as built skips the app's
    dependencies, FastAPI's own rule."""
    router = APIRouter()

    @router.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("in")
        await websocket.close()

    app = FastAPI(dependencies=[Depends(same_site)])
    app.router.routes.extend(router.routes)
    with TestClient(app).websocket_connect("/ws") as websocket:
        assert websocket.receive_text() == "in"
