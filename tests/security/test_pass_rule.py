"""Attacks on the rule for a pass (issue 21, row 4): an override, a check or a verifier whose answer is a
truthy object that was never run (a generator, a coroutine) must never let a handshake in."""

import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect
from starlette.testclient import TestClient

from fastapi_ws_reject import RejectingRouter, ws_guard
from fastapi_ws_reject.guards import BearerTokenGuard
from fastapi_ws_reject.testing import assert_rejected


async def member(websocket: WebSocket) -> bool:
    return websocket.headers.get("x-member") == "alice"


guard = ws_guard(member, status_code=401)


def app_with(dependency: Any) -> FastAPI:
    router = RejectingRouter()

    @router.websocket("/ws")
    async def endpoint(websocket: WebSocket, value: Annotated[Any, Depends(dependency)]) -> None:
        await websocket.accept()
        await websocket.close()

    app = FastAPI()
    app.include_router(router)
    return app


def refusing_generator(websocket: WebSocket) -> Iterator[bool]:
    yield False


async def refusing_async_generator(websocket: WebSocket) -> AsyncIterator[bool]:
    yield False


@pytest.mark.parametrize("override", [refusing_generator, refusing_async_generator])
def test_an_override_with_yield_is_run_as_fastapi_runs_it(override: Any) -> None:
    app = app_with(guard)
    app.dependency_overrides[member] = override
    assert_rejected(TestClient(app), "/ws", status_code=401)


def test_an_override_with_yield_that_passes_lets_the_handshake_in_and_is_unwound() -> None:
    unwound: list[bool] = []

    def passing(websocket: WebSocket) -> Iterator[str]:
        yield "ann"
        unwound.append(True)

    app = app_with(guard)
    app.dependency_overrides[member] = passing
    with TestClient(app).websocket_connect("/ws") as websocket:
        assert websocket.receive()["type"] == "websocket.close"
    assert unwound == [True]


async def _later() -> bool:
    return False


def returns_a_coroutine(websocket: WebSocket) -> Any:
    return _later()


def test_a_sync_check_that_returns_a_coroutine_is_no_pass() -> None:
    with (
        pytest.raises(TypeError, match="returned a coroutine object"),
        TestClient(app_with(ws_guard(returns_a_coroutine))).websocket_connect("/ws"),
    ):
        pass


def test_a_sync_override_that_returns_a_coroutine_is_no_pass() -> None:
    app = app_with(guard)
    app.dependency_overrides[member] = returns_a_coroutine
    with pytest.raises(TypeError, match="returned a coroutine object"), TestClient(app).websocket_connect("/ws"):
        pass


def test_a_verifier_that_returns_a_generator_is_no_pass() -> None:
    def verify(token: str) -> Iterator[str]:
        yield from ()

    bearer = BearerTokenGuard(verify)  # type: ignore[arg-type]
    with (
        pytest.raises(TypeError, match="returned a generator object"),
        TestClient(app_with(bearer)).websocket_connect("/ws", headers={"Authorization": "Bearer x"}),
    ):
        pass


class AlwaysAnInstance:
    def __init__(self, websocket: WebSocket) -> None:
        self.allowed = False


def test_a_class_check_whose_instances_are_always_true_fails_when_built() -> None:
    with pytest.raises(TypeError, match="__bool__"):
        ws_guard(AlwaysAnInstance)


def test_a_class_override_whose_instances_are_always_true_is_no_pass() -> None:
    app = app_with(guard)
    app.dependency_overrides[member] = AlwaysAnInstance
    with pytest.raises(TypeError, match="__bool__"), TestClient(app).websocket_connect("/ws"):
        pass


def test_a_revalidation_behind_an_override_with_yield_exits_it_each_time() -> None:
    held: list[int] = []
    entered: list[int] = []

    async def stand_in(websocket: WebSocket) -> bool:
        return True

    async def session(websocket: WebSocket) -> AsyncIterator[bool]:
        held.append(1)
        entered.append(len(held))
        yield True
        held.pop()

    router = RejectingRouter()

    @router.websocket("/ws")
    async def endpoint(websocket: WebSocket, ok: Annotated[bool, Depends(ws_guard(stand_in, revalidate=0.02))]) -> None:
        await websocket.accept()
        with contextlib.suppress(WebSocketDisconnect):
            await websocket.receive_text()

    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[stand_in] = session
    with TestClient(app).websocket_connect("/ws"):
        time.sleep(0.3)
    assert len(entered) >= 3, "the override ran at the handshake and at each re-validation"
    assert max(entered) == 2, "a re-validation's own run is exited before the next; the handshake's is held"
    assert held == [], "every run is exited once the socket ends"
