from collections.abc import Callable
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Header, WebSocket
from starlette.testclient import TestClient

from fastapi_ws_reject import RejectingRouter, WebSocketRejection, reject_unless, ws_guard

Deny = Callable[..., Any]


def serve(router: RejectingRouter) -> TestClient:
    app = FastAPI()
    app.include_router(router)
    return TestClient(app)


def test_sync_check_with_header_returns_its_value_to_the_endpoint(deny: Deny) -> None:
    def api_key(x_api_key: Annotated[str | None, Header()] = None) -> str | None:
        return {"k1": "service-a"}.get(x_api_key or "")

    router = RejectingRouter()

    @router.websocket("/ws")
    async def endpoint(
        websocket: WebSocket, caller: Annotated[str, Depends(ws_guard(api_key, status_code=401))]
    ) -> None:
        await websocket.accept()
        await websocket.send_text(caller)
        await websocket.close()

    client = serve(router)
    assert deny(client, "/ws", request_headers={"X-API-Key": "wrong"}).status_code == 401
    with client.websocket_connect("/ws", headers={"X-API-Key": "k1"}) as websocket:
        assert websocket.receive_text() == "service-a"


def test_check_with_sub_dependencies_and_path_params(deny: Deny) -> None:
    async def settings() -> dict[str, set[str]]:
        return {"open": {"lobby"}}

    async def room_is_open(room: str, config: Annotated[dict[str, set[str]], Depends(settings)]) -> bool:
        return room in config["open"]

    router = RejectingRouter()

    @router.websocket("/rooms/{room}", dependencies=[Depends(ws_guard(room_is_open, status_code=404, body="closed"))])
    async def endpoint(websocket: WebSocket, room: str) -> None:
        await websocket.accept()
        await websocket.close()

    client = serve(router)
    denial = deny(client, "/rooms/attic")
    assert (denial.status_code, denial.content) == (404, b"closed")
    with client.websocket_connect("/rooms/lobby"):
        pass


def test_check_may_raise_its_own_rejection(deny: Deny) -> None:
    async def quota(user: str = "") -> str:
        if user == "greedy":
            raise WebSocketRejection(429, "too many sockets", headers={"Retry-After": "60"})
        return user

    router = RejectingRouter()

    @router.websocket("/ws")
    async def endpoint(websocket: WebSocket, user: Annotated[str, Depends(ws_guard(quota))]) -> None:
        await websocket.accept()  # pragma: no cover

    denial = deny(serve(router), "/ws?user=greedy")
    assert (denial.status_code, denial.headers["retry-after"]) == (429, "60")
    assert deny(serve(router), "/ws").status_code == 403


def test_other_exceptions_from_the_check_propagate() -> None:
    async def broken() -> bool:
        raise LookupError("database down")

    router = RejectingRouter()

    @router.websocket("/ws", dependencies=[Depends(ws_guard(broken))])
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()  # pragma: no cover

    with pytest.raises(LookupError, match="database down"), serve(router).websocket_connect("/ws"):
        pass


def test_configured_rejection_object_is_used(deny: Deny) -> None:
    refusal = WebSocketRejection(451, {"detail": "unavailable here"})
    router = RejectingRouter()

    @router.websocket("/ws", dependencies=[Depends(ws_guard(lambda: False, rejection=refusal))])
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()  # pragma: no cover

    client = serve(router)
    for _ in range(2):
        assert deny(client, "/ws").json() == {"detail": "unavailable here"}


def test_ws_guard_alone_works_on_a_plain_fastapi_app(deny: Deny) -> None:
    app = FastAPI()

    @app.websocket("/ws", dependencies=[Depends(ws_guard(lambda: None, status_code=401, body="log in"))])
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()  # pragma: no cover

    denial = deny(TestClient(app), "/ws")
    assert (denial.status_code, denial.content) == (401, b"log in")


def test_rejection_and_fields_together_are_refused() -> None:
    with pytest.raises(TypeError, match="Give either rejection= or its fields, not both"):
        ws_guard(lambda: True, rejection=WebSocketRejection(401), status_code=403)
    with pytest.raises(TypeError, match="rejection must be a WebSocketRejection"):
        ws_guard(lambda: True, rejection=401)  # type: ignore[arg-type]


def test_bad_guard_configuration_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="status_code must be 300-599"):
        ws_guard(lambda: True, status_code=200)
    with pytest.raises(ValueError, match="status_code must be 300-599"):
        reject_unless(lambda: True, status_code=101)


def test_guard_is_named_after_its_check() -> None:
    def is_admin() -> bool:
        return True  # pragma: no cover

    assert ws_guard(is_admin).name == "ws_guard(is_admin)"


def test_reject_unless_keeps_the_endpoint_parameters(deny: Deny) -> None:
    def allowed(origin: Annotated[str | None, Header()] = None) -> bool:
        return origin == "https://ok.example"

    router = RejectingRouter()

    @router.websocket("/feed/{topic}")
    @reject_unless(allowed, status_code=403, body="origin not allowed")
    async def feed(websocket: WebSocket, topic: str, limit: int = 10) -> None:
        await websocket.accept()
        await websocket.send_json({"topic": topic, "limit": limit})
        await websocket.close()

    client = serve(router)
    denial = deny(client, "/feed/news", request_headers={"Origin": "https://evil.example"})
    assert (denial.status_code, denial.content) == (403, b"origin not allowed")
    with client.websocket_connect("/feed/news?limit=3", headers={"Origin": "https://ok.example"}) as websocket:
        assert websocket.receive_json() == {"topic": "news", "limit": 3}
    assert deny(client, "/feed/news?limit=x", request_headers={"Origin": "https://ok.example"}).status_code == 422


def test_stacked_decorators_run_top_down(deny: Deny) -> None:
    calls: list[str] = []

    def first() -> bool:
        calls.append("first")
        return True

    def second() -> bool:
        calls.append("second")
        return False

    router = RejectingRouter()

    @router.websocket("/ws")
    @reject_unless(first)
    @reject_unless(second, status_code=409)
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()  # pragma: no cover

    assert deny(serve(router), "/ws").status_code == 409
    assert calls == ["first", "second"]


def test_reject_unless_on_app_websocket_with_add_rejection_handlers(deny: Deny) -> None:
    from fastapi_ws_reject import add_rejection_handlers

    app = FastAPI()
    add_rejection_handlers(app)

    @app.websocket("/ws/{n}")
    @reject_unless(lambda: False, status_code=401)
    async def endpoint(websocket: WebSocket, n: int, *args: Any, **kwargs: Any) -> None:
        await websocket.accept()  # pragma: no cover

    assert deny(TestClient(app), "/ws/1").status_code == 401


def test_reject_unless_refuses_a_sync_endpoint() -> None:
    def endpoint(websocket: WebSocket) -> None:
        pass  # pragma: no cover

    with pytest.raises(TypeError, match="make .* an `async def`"):
        reject_unless(lambda: True)(endpoint)  # type: ignore[type-var]
