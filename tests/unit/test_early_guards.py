"""A `RejectingWebSocketRoute` served as built checks its leading guards before FastAPI solves anything:
the same answers, the same values and order, one check per handshake, and FastAPI's path where it must."""

from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, WebSocket
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient

from fastapi_ws_reject import (
    Guard,
    RejectingRouter,
    RejectingWebSocketRoute,
    WebSocketRejection,
    reject_unless,
    ws_guard,
)
from fastapi_ws_reject._compat import DEPENDENCY_STACK_KEYS
from fastapi_ws_reject.guards._base import CHECKED_KEY
from fastapi_ws_reject.testing import assert_closed, assert_rejected
from tests.support.apps import LAYOUTS, Member, build_routes

ALICE = {"x-member": "alice"}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_leading_guard_answers_and_gives_its_value_alike_in_every_layout(layout: str) -> None:
    build, prefix = LAYOUTS[layout]
    client = TestClient(build())
    for _ in range(2):
        refused = assert_rejected(client, prefix + "/members", status_code=401, content=b"members only")
        assert refused.headers["www-authenticate"] == 'Member realm="rooms"'
        with client.websocket_connect(prefix + "/members", headers=ALICE) as websocket:
            assert websocket.receive_text() == "alice"


def as_built(router: APIRouter) -> FastAPI:
    app = FastAPI()
    app.router.routes.extend(router.routes)
    return app


def included(router: APIRouter) -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    return app


@pytest.mark.parametrize("serve", [as_built, included])
def test_a_guard_is_checked_once_per_handshake(serve: Any) -> None:
    member = Member()
    router = RejectingRouter()
    build_routes(router, member)
    client = TestClient(serve(router))
    with client.websocket_connect("/members", headers=ALICE) as websocket:
        assert websocket.receive_text() == "alice"
    assert member.checks == 1
    assert_rejected(client, "/members", status_code=401)
    assert member.checks == 2


def test_the_route_as_built_knows_its_leading_guards_when_it_is_built() -> None:
    member = Member()
    router = RejectingRouter()
    build_routes(router, member)
    route = next(r for r in router.routes if getattr(r, "path", "") == "/members")
    assert isinstance(route, RejectingWebSocketRoute)
    assert route.early_guards == (member,)


def test_a_refusal_by_a_leading_guard_is_answered_before_fastapi_solves_anything() -> None:
    seen: list[bool] = []
    app = as_built(routes_with(Member()))

    async def rejected(websocket: WebSocket, exc: WebSocketRejection) -> None:
        seen.append(any(key in websocket.scope for key in DEPENDENCY_STACK_KEYS))

    app.add_exception_handler(WebSocketRejection, rejected)  # type: ignore[arg-type]
    assert_rejected(TestClient(app), "/members", status_code=401, content=b"members only")
    assert seen == [False]


def routes_with(*guards: Any, policy: Any = "http") -> RejectingRouter:
    router = RejectingRouter(policy=policy)

    @router.websocket("/members", dependencies=[Depends(guard) for guard in guards])
    async def members(websocket: WebSocket) -> None:
        assert CHECKED_KEY not in websocket.scope, "a checked value outlived FastAPI's call of its guard"
        await websocket.accept()
        await websocket.send_text("in")
        await websocket.close()

    return router


def test_values_left_for_fastapi_are_gone_before_the_endpoint_runs() -> None:
    client = TestClient(as_built(routes_with(Member(), Member())))
    with client.websocket_connect("/members", headers=ALICE) as websocket:
        assert websocket.receive_text() == "in"


def test_an_overridden_guard_is_solved_by_fastapi_and_never_checked() -> None:
    # FastAPI applies overrides through the provider a route was built with: the router's.
    member = Member()
    app = FastAPI()
    router = RejectingRouter(dependency_overrides_provider=app)
    build_routes(router, member)
    app.router.routes.extend(router.routes)
    app.dependency_overrides[member] = lambda: "mallory"
    with TestClient(app).websocket_connect("/members") as websocket:
        assert websocket.receive_text() == "mallory"
    assert member.checks == 0


def test_a_plain_dependency_first_keeps_fastapis_order() -> None:
    calls: list[str] = []

    async def first() -> None:
        calls.append("first")

    member = Member()
    router = RejectingRouter()

    @router.websocket("/ordered", dependencies=[Depends(first), Depends(member)])
    async def ordered(websocket: WebSocket) -> None:
        raise AssertionError("refused handshakes never reach the endpoint")

    route = router.routes[-1]
    assert isinstance(route, RejectingWebSocketRoute) and route.early_guards == ()
    assert_rejected(TestClient(as_built(router)), "/ordered", status_code=401)
    assert calls == ["first"]


class HeaderMember(Guard[str]):
    """A guard with its own `__call__` and FastAPI parameters: FastAPI must solve it."""

    async def __call__(self, websocket: WebSocket, x_member: Annotated[str, Header()] = "") -> str:  # type: ignore[override]
        return await super().__call__(websocket)

    async def check(self, connection: HTTPConnection) -> str:
        member = connection.headers.get("x-member", "")
        if member != "alice":
            self.refuse(connection, "not a member")
        return member


def test_a_guard_with_its_own_parameters_is_left_to_fastapi() -> None:
    router = routes_with(HeaderMember())
    route = router.routes[-1]
    assert isinstance(route, RejectingWebSocketRoute) and route.early_guards == ()
    client = TestClient(as_built(router))
    assert_rejected(client, "/members", status_code=403)
    with client.websocket_connect("/members", headers=ALICE) as websocket:
        assert websocket.receive_text() == "in"


class Closed(Guard[None]):
    """A guard that raises FastAPI's own exception."""

    async def check(self, connection: HTTPConnection) -> None:
        raise HTTPException(404, "no such room", headers={"X-Room": "attic"})


@pytest.mark.parametrize("serve", [as_built, included])
def test_fastapis_exceptions_from_a_leading_guard_are_converted_alike(serve: Any) -> None:
    denial = assert_rejected(TestClient(serve(routes_with(Closed()))), "/members", status_code=404)
    assert (denial.json(), denial.headers["x-room"]) == ({"detail": "no such room"}, "attic")


@pytest.mark.parametrize("serve", [as_built, included])
def test_the_routers_policy_sends_a_leading_guards_refusal(serve: Any) -> None:
    client = TestClient(serve(routes_with(Member(), policy="close")))
    assert_closed(client, "/members", close_code=4401, close_reason="members only")


def test_a_users_handler_answers_a_leading_guards_refusal() -> None:
    app = as_built(routes_with(Member()))

    async def teapot(websocket: WebSocket, exc: WebSocketRejection) -> None:
        await websocket.send_denial_response(PlainTextResponse("tea", status_code=418))

    app.add_exception_handler(WebSocketRejection, teapot)  # type: ignore[arg-type]
    assert_rejected(TestClient(app), "/members", status_code=418, content=b"tea")


class Counted:
    """A connection-only check for `ws_guard`, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, websocket: WebSocket) -> str:
        self.calls += 1
        return websocket.headers.get("x-member", "")


def check_route(guard: Any, router: APIRouter | None = None) -> APIRouter:
    router = router or RejectingRouter()

    @router.websocket("/checked")
    async def checked(websocket: WebSocket, name: Annotated[str, Depends(guard)]) -> None:
        await websocket.accept()
        await websocket.send_text(name)
        await websocket.close()

    return router


@pytest.mark.parametrize("serve", [as_built, included])
def test_a_ws_guard_around_a_connection_only_check_calls_it_once_per_handshake(serve: Any) -> None:
    check = Counted()
    router = check_route(ws_guard(check, status_code=401))
    client = TestClient(serve(router))
    with client.websocket_connect("/checked", headers=ALICE) as websocket:
        assert websocket.receive_text() == "alice"
    assert_rejected(client, "/checked", status_code=401)
    assert check.calls == 2


def test_a_ws_guard_around_a_connection_only_check_is_checked_before_fastapis_solving() -> None:
    guard = ws_guard(Counted(), status_code=401)
    route = check_route(guard).routes[-1]
    assert isinstance(route, RejectingWebSocketRoute) and route.early_guards == (guard,)
    decorated = RejectingRouter()

    @decorated.websocket("/decorated")
    @reject_unless(Counted(), status_code=401)
    async def endpoint(websocket: WebSocket, room: str = "lobby") -> None:
        raise AssertionError("refused")

    route = decorated.routes[-1]
    assert isinstance(route, RejectingWebSocketRoute) and len(route.early_guards) == 1


@pytest.mark.parametrize("serve", [as_built, included])
def test_an_override_of_a_connection_only_check_replaces_it(serve: Any) -> None:
    check = Counted()
    app = FastAPI()
    router = check_route(ws_guard(check, status_code=401), RejectingRouter(dependency_overrides_provider=app))
    served = serve(router)
    app.router.routes.extend(served.router.routes)
    app.dependency_overrides[check] = lambda: "mallory"
    with TestClient(app).websocket_connect("/checked") as websocket:
        assert websocket.receive_text() == "mallory"
    assert check.calls == 0


def test_an_override_the_guard_cannot_call_names_the_fix() -> None:
    check = Counted()
    app = as_built(check_route(ws_guard(check, status_code=401)))

    async def needs_a_query(token: str) -> str:
        return token  # pragma: no cover

    app.dependency_overrides[check] = needs_a_query
    fix = r"override the guard itself \(app.dependency_overrides\[guard\]"
    with pytest.raises(TypeError, match=fix), TestClient(app).websocket_connect("/checked"):
        pass  # pragma: no cover


def test_a_connection_only_checks_own_rejection_is_answered_on_a_plain_route() -> None:
    async def closed(websocket: WebSocket) -> bool:
        raise WebSocketRejection(503, "closed for maintenance")

    app = FastAPI()
    check_route(ws_guard(closed), app.router)
    assert_rejected(TestClient(app), "/checked", status_code=503, content=b"closed for maintenance")


@pytest.mark.parametrize("serve", [as_built, included])
def test_an_endpoint_taking_only_guards_needs_no_answering_dependency(serve: Any) -> None:
    from fastapi_ws_reject._compat import dependants
    from fastapi_ws_reject._pipeline.answering import answer_rejections

    router = RejectingRouter()

    @router.websocket("/rooms/{room}")
    @reject_unless(Counted(), status_code=401)
    async def rooms(websocket: WebSocket, member: Annotated[str, Depends(Member())]) -> None:
        raise HTTPException(404, f"no room for {member}")

    route = router.routes[-1]
    assert isinstance(route, RejectingWebSocketRoute)
    assert answer_rejections not in [dependant.call for dependant in dependants(route.dependant)]
    client = TestClient(serve(router))
    assert_rejected(client, "/rooms/attic", status_code=401)
    denial = assert_rejected(client, "/rooms/attic", status_code=404, request_headers=ALICE)
    assert denial.json() == {"detail": "no room for alice"}
