"""Where the library adds nothing, FastAPI's behaviour: the user's handlers run, introspection is unchanged,
and nothing in a running app changes."""

import logging
from pathlib import Path
from typing import Annotated, Any

import fastapi
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, WebSocket, WebSocketException
from fastapi.exceptions import WebSocketRequestValidationError
from fastapi.responses import JSONResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.testclient import TestClient

import fastapi_ws_reject
from fastapi_ws_reject import RejectingRouter, WebSocketRejection, add_rejection_handlers, ws_guard
from fastapi_ws_reject.testing import assert_closed, assert_rejected

PLACES = ("rejecting-router", "add-rejection-handlers")


def routes(router: APIRouter) -> None:
    @router.websocket("/items/{item_id}")
    async def item(websocket: WebSocket, item_id: int) -> None:
        await websocket.accept()  # pragma: no cover

    @router.websocket("/gone")
    async def gone(websocket: WebSocket) -> None:
        raise HTTPException(404, "gone")

    @router.websocket("/policy")
    async def policy(websocket: WebSocket) -> None:
        raise WebSocketException(4403, "policy")


def app_for(place: str, **handlers: Any) -> tuple[FastAPI, list[tuple[str, Any]]]:
    """An app serving `routes` the way `place` says, with the user's handlers recording what they saw."""
    seen: list[tuple[str, Any]] = []
    app = FastAPI()

    @app.exception_handler(WebSocketRequestValidationError)
    async def on_validation(websocket: WebSocket, exc: WebSocketRequestValidationError) -> None:
        seen.append(("validation", exc))
        if handlers.get("close_on_validation"):
            await websocket.close(code=1008, reason="custom validation answer")

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> JSONResponse:
        seen.append(("http", type(request).__name__))
        return JSONResponse({"custom": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(WebSocketException)
    async def on_websocket(websocket: WebSocket, exc: WebSocketException) -> None:
        seen.append(("websocket", exc.code))
        await websocket.close(code=exc.code, reason="handled by the user")

    if place == "rejecting-router":
        router = RejectingRouter()
        routes(router)
        app.include_router(router)
    else:
        routes(app.router)
        add_rejection_handlers(app)
    return app, seen


@pytest.mark.parametrize("place", PLACES)
def test_the_users_validation_handler_runs_and_its_answer_stands(place: str) -> None:
    app, seen = app_for(place, close_on_validation=True)
    closed = assert_rejected(TestClient(app), "/items/abc")
    assert closed.closed_before_accept == 1008
    ((kind, exc),) = seen
    assert kind == "validation" and exc.errors()[0]["loc"] == ("path", "item_id")


@pytest.mark.parametrize("place", PLACES)
def test_a_handler_that_sends_nothing_leaves_the_answer_to_the_library(place: str) -> None:
    app, seen = app_for(place)
    rejected = assert_rejected(TestClient(app), "/items/abc", status_code=422)
    assert rejected.json()["detail"][0]["loc"] == ["path", "item_id"]
    assert [kind for kind, _ in seen] == ["validation"]


@pytest.mark.parametrize("place", PLACES)
def test_an_http_exception_handler_runs_with_the_endpoints_websocket(place: str) -> None:
    app, seen = app_for(place)
    assert_rejected(TestClient(app), "/gone", status_code=404, json={"detail": "gone"})
    assert seen == [("http", "WebSocket")]


@pytest.mark.parametrize("place", PLACES)
def test_a_websocket_exception_handler_answers_itself(place: str) -> None:
    app, seen = app_for(place)
    assert assert_rejected(TestClient(app), "/policy").closed_before_accept == 4403
    assert seen == [("websocket", 4403)]


def test_a_handler_registered_after_add_rejection_handlers_replaces_the_librarys() -> None:
    app = FastAPI()
    routes(app.router)
    add_rejection_handlers(app)

    @app.exception_handler(HTTPException)
    async def on_http(websocket: WebSocket, exc: HTTPException) -> None:
        await websocket.close(code=4001)

    assert assert_rejected(TestClient(app), "/gone").closed_before_accept == 4001


async def dependency_a() -> None:
    pass


async def dependency_b() -> None:
    pass


def included_app(router_class: type[APIRouter] = RejectingRouter) -> tuple[FastAPI, APIRouter]:
    router = router_class(prefix="/stream", dependencies=[Depends(dependency_b)])

    @router.websocket("/{job_id}")
    async def stream(websocket: WebSocket, job_id: str) -> None:
        pass  # pragma: no cover

    app = FastAPI()
    app.include_router(router, prefix="/v1", dependencies=[Depends(dependency_a)])
    return app, router


def reported(app: FastAPI) -> list[tuple[str, list[str]]]:
    """What FastAPI reports about the app's routes: its route contexts (0.137 on), else the routes."""
    routes: Any = (
        fastapi.routing.iter_route_contexts(app.routes)
        if hasattr(fastapi.routing, "iter_route_contexts")
        else app.routes
    )
    return [
        (
            str(getattr(route, "path", "")),
            [depends.dependency.__name__ for depends in getattr(route, "dependencies", [])],
        )
        for route in routes
    ]


def test_included_routes_report_what_plain_fastapi_reports() -> None:
    rejecting, router = included_app(RejectingRouter)
    plain, _ = included_app(APIRouter)
    assert reported(rejecting) == reported(plain)
    (original,) = router.routes
    assert [depends.dependency.__name__ for depends in original.dependencies] == ["dependency_b"]  # type: ignore[attr-defined]


def test_an_included_route_keeps_the_users_endpoint_name_and_function() -> None:
    app, router = included_app()
    (route,) = router.routes
    assert route.name == "stream"  # type: ignore[attr-defined]
    assert route.endpoint.__wrapped__.__name__ == "stream"  # type: ignore[attr-defined]


def test_add_rejection_handlers_refuses_a_plain_starlette_app() -> None:
    with pytest.raises(TypeError, match="takes a FastAPI app, got Starlette"):
        add_rejection_handlers(Starlette())  # type: ignore[arg-type]


@pytest.mark.parametrize("status_code", [199, 204, 600])
@pytest.mark.parametrize("place", PLACES)
def test_an_http_exception_that_cannot_refuse_is_answered_500_with_one_log_line(
    status_code: int, place: str, caplog: pytest.LogCaptureFixture
) -> None:
    router = RejectingRouter() if place == "rejecting-router" else APIRouter()

    @router.websocket("/odd")
    async def odd(websocket: WebSocket) -> None:
        raise HTTPException(status_code, "odd")  # with a detail: Starlette 0.38 cannot name 199 or 600

    app = FastAPI()
    app.include_router(router)
    if place == "add-rejection-handlers":
        add_rejection_handlers(app)
    with caplog.at_level(logging.INFO, logger="fastapi_ws_reject"):
        assert_rejected(TestClient(app), "/odd", status_code=500, json={"detail": "Internal Server Error"})
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert [record.getMessage() for record in errors] == [
        f"HTTPException({status_code}) cannot refuse a websocket handshake (a refusal needs a status from 300 to 599); "
        "answered 500 instead."
    ]
    assert not any(record.exc_info for record in caplog.records)


def test_an_http_exception_that_cannot_refuse_after_accept_closes_1011() -> None:
    router = RejectingRouter()

    @router.websocket("/odd")
    async def odd(websocket: WebSocket) -> None:
        await websocket.accept()
        raise HTTPException(204)

    app = FastAPI()
    app.include_router(router)
    assert_closed(TestClient(app), "/odd", close_code=1011)


def exception_middleware_handlers(app: FastAPI) -> list[dict[Any, Any]]:
    found, layer = [], app.middleware_stack
    while layer is not None:
        if hasattr(layer, "_exception_handlers"):
            found.append(dict(layer._exception_handlers))
        layer = getattr(layer, "app", None)
    return found


def test_nothing_in_a_running_app_changes_while_it_serves() -> None:
    async def include_level() -> None:
        raise WebSocketRejection(401, "no")

    router = RejectingRouter()
    routes(router)
    app = FastAPI()
    app.include_router(router, prefix="/v1", dependencies=[Depends(ws_guard(include_level))])
    client = TestClient(app)
    first = assert_rejected(client, "/v1/gone", status_code=401)
    before = ([(type(route), vars(route).copy()) for route in app.routes], exception_middleware_handlers(app))
    second = assert_rejected(client, "/v1/gone", status_code=401)
    after = ([(type(route), vars(route).copy()) for route in app.routes], exception_middleware_handlers(app))
    assert before == after
    assert (first.status_code, first.content) == (second.status_code, second.content)


def test_no_route_surgery_is_left_in_the_package() -> None:
    sources = "\n".join(path.read_text() for path in Path(fastapi_ws_reject.__file__).parent.rglob("*.py"))
    assert ".__class__ =" not in sources
    assert ".__init__(route" not in sources
    assert "starlette.exception_handlers" not in sources


def test_fastapi_and_starlette_internals_are_imported_from_compat_only() -> None:
    package = Path(fastapi_ws_reject.__file__).parent
    for path in package.rglob("*.py"):
        text = path.read_text()
        if path.name != "_compat.py":
            assert "fastapi_astack" not in text and "fastapi_inner_astack" not in text, path
            assert "from starlette._" not in text and "from fastapi._" not in text, path


def test_the_first_handshake_of_an_included_route_is_answered_like_every_later_one() -> None:
    router = RejectingRouter()
    routes(router)
    app = FastAPI()
    app.include_router(router)
    answers = [assert_rejected(TestClient(app), "/items/abc", status_code=422).content for _ in range(3)]
    assert len(set(answers)) == 1


def test_dependency_overrides_reach_guards_in_included_routes() -> None:
    async def real_user() -> str:
        return ""

    router = RejectingRouter()

    @router.websocket("/me")
    async def me(websocket: WebSocket, user: Annotated[str, Depends(ws_guard(real_user, status_code=401))]) -> None:
        await websocket.accept()
        await websocket.send_text(user)
        await websocket.close()

    app = FastAPI()
    app.include_router(router)
    assert_rejected(TestClient(app), "/me", status_code=401)
    app.dependency_overrides[real_user] = lambda: "mallory"
    with TestClient(app).websocket_connect("/me") as websocket:
        assert websocket.receive_text() == "mallory"
