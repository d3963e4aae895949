import asyncio
import time
from collections.abc import Callable
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Header, WebSocket
from starlette.testclient import TestClient

from fastapi_ws_reject import RejectingRouter, WebSocketRejection, reject_unless, ws_guard

Deny = Callable[..., Any]


def serve(guard: Callable[..., Any], *, rejecting: bool = True) -> TestClient:
    router = RejectingRouter() if rejecting else FastAPI().router

    @router.websocket("/ws")
    async def endpoint(websocket: WebSocket, value: Annotated[Any, Depends(guard)]) -> None:
        await websocket.accept()
        await websocket.send_json(value)
        await websocket.close()

    app = FastAPI()
    app.include_router(router)
    return TestClient(app)


async def hangs() -> bool:
    await asyncio.sleep(30)
    return True  # pragma: no cover


def hangs_in_a_thread() -> bool:
    time.sleep(0.5)
    return True


@pytest.mark.parametrize("check", [hangs, hangs_in_a_thread])
def test_a_check_that_hangs_is_answered_503(check: Callable[..., Any], deny: Deny) -> None:
    denial = deny(serve(ws_guard(check, timeout=0.05)), "/ws")
    assert (denial.status_code, denial.content) == (503, b"the check did not answer in time")


def test_the_timeout_rejection_can_be_configured(deny: Deny) -> None:
    busy = WebSocketRejection(503, {"detail": "busy"}, headers={"Retry-After": "5"})
    denial = deny(serve(ws_guard(hangs, timeout=0.05, timeout_rejection=busy)), "/ws")
    assert (denial.json(), denial.headers["retry-after"]) == ({"detail": "busy"}, "5")


def test_a_timed_check_still_gets_its_parameters_and_sub_dependencies(deny: Deny) -> None:
    async def tenant() -> str:
        return "acme"

    async def check(
        websocket: WebSocket, name: Annotated[str, Depends(tenant)], x_user: Annotated[str | None, Header()] = None
    ) -> dict[str, str] | None:
        return {"tenant": name, "user": x_user, "path": websocket.url.path} if x_user else None

    client = serve(ws_guard(check, timeout=1, status_code=401))
    with client.websocket_connect("/ws", headers={"X-User": "ann"}) as websocket:
        assert websocket.receive_json() == {"tenant": "acme", "user": "ann", "path": "/ws"}
    assert deny(client, "/ws").status_code == 401


def test_a_timed_sync_check_runs_in_a_thread_and_answers() -> None:
    def check(token: str = "") -> str:
        return token

    with serve(ws_guard(check, timeout=1)).websocket_connect("/ws?token=t") as websocket:
        assert websocket.receive_json() == "t"


def test_a_timed_check_may_raise_its_own_rejection_on_a_plain_app(deny: Deny) -> None:
    async def check() -> bool:
        raise WebSocketRejection(429, "slow down")

    assert deny(serve(ws_guard(check, timeout=1), rejecting=False), "/ws").status_code == 429
    assert deny(serve(ws_guard(hangs, timeout=0.05), rejecting=False), "/ws").status_code == 503


def test_reject_unless_takes_a_timeout(deny: Deny) -> None:
    router = RejectingRouter()

    @router.websocket("/ws")
    @reject_unless(hangs, timeout=0.05)
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()  # pragma: no cover

    assert deny(TestClient(router), "/ws").status_code == 503


@pytest.mark.parametrize("timeout", [0, -1, True, "1", float("nan"), float("inf")])
def test_a_timeout_that_is_not_a_positive_number_fails(timeout: Any) -> None:
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
        ws_guard(hangs, timeout=timeout)


def test_a_check_that_cannot_be_timed_fails_at_construction() -> None:
    def with_yield() -> Any:
        yield True  # pragma: no cover

    def variadic(*args: Any) -> bool:
        return True  # pragma: no cover

    with pytest.raises(TypeError, match="cannot be timed"):
        ws_guard(with_yield, timeout=1)
    with pytest.raises(TypeError, match="without \\*args or \\*\\*kwargs"):
        ws_guard(variadic, timeout=1)
