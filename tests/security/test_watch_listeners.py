"""Attacks on who hears the library's close of an open socket (issue 21): the app whose guard closed it.

Starlette's `Mount` hands a mounted app the connection's own scope, and the mounted app sets `scope["app"]` to
itself. A `WebSocketGuardMiddleware` of the parent app that watches the socket (an expiry, `revalidate=`, a
connection slot that can be lost) closed it later, and `report` found the listeners through `scope["app"]`:
the mounted app's listeners heard the parent's guard, and the parent's (its metrics, its audit) heard nothing.
Now each close is reported for the app that ran the guard which scheduled it; a guard of the mounted app that
watches the same socket is still the mounted app's.
"""

import asyncio
import contextlib
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect
from starlette.testclient import TestClient

from fastapi_ws_reject import RejectingRouter, RejectionEvent, WebSocketGuardMiddleware, on_reject, ws_guard
from fastapi_ws_reject.guards import ConnectionLimitGuard, InMemoryBackend

Refusal = tuple[str, int, int | None, str | None]


@dataclass
class Session:
    expires_at: float


def expiring_in(seconds: float) -> Callable[[WebSocket], Session]:
    def session(websocket: WebSocket) -> Session:
        return Session(time.time() + seconds)

    return session


class Banned:
    """Refuses from its second call on: a ban after the handshake."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, websocket: WebSocket) -> bool:
        self.calls += 1
        return self.calls == 1


class Failing:
    """Raises from its second call on: a verifier whose backend went down."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, websocket: WebSocket) -> bool:
        self.calls += 1
        if self.calls > 1:
            raise ConnectionError("verifier down")
        return True


class LosingBackend(InMemoryBackend):
    """Loses every lease a moment after it was taken (a Redis failover)."""

    async def watch(self, key: str, lease: Hashable) -> None:
        await asyncio.sleep(0.1)


async def wait(websocket: WebSocket) -> None:
    await websocket.accept()
    with contextlib.suppress(WebSocketDisconnect):
        await websocket.receive_text()


def listened(app: FastAPI) -> list[RejectionEvent]:
    events: list[RejectionEvent] = []
    on_reject(app, events.append)
    return events


def refusals(events: list[RejectionEvent]) -> list[Refusal]:
    return [(event.path, event.status_code, event.close_code, event.guard) for event in events]


def closed(app: FastAPI, path: str) -> int:
    with TestClient(app).websocket_connect(path) as websocket:
        message = websocket.receive()
    assert message["type"] == "websocket.close"
    return int(message["code"])


PARENTS_GUARDS = {
    "expiry": (lambda: ws_guard(expiring_in(0.1)), ("/child/wait", 401, 4401, "ws_guard(session)")),
    "revalidation": (lambda: ws_guard(Banned(), revalidate=0.05), ("/child/wait", 403, 4403, "ws_guard(Banned)")),
    "revalidation error": (
        lambda: ws_guard(Failing(), revalidate=0.05, on_error="close"),
        ("/child/wait", 500, 1011, "ws_guard(Failing)"),
    ),
    "lost slot": (
        lambda: ConnectionLimitGuard(5, backend=LosingBackend()),
        ("/child/wait", 429, 4429, "ConnectionLimitGuard"),
    ),
}


@pytest.mark.parametrize("guard, heard", PARENTS_GUARDS.values(), ids=PARENTS_GUARDS.keys())
def test_the_parents_middleware_close_while_a_mounted_app_serves_is_heard_by_the_parent_only(
    guard: Callable[[], Any], heard: Refusal
) -> None:
    child = FastAPI()
    child.websocket("/wait")(wait)
    parent = FastAPI()
    parent.mount("/child", child)
    parent.add_middleware(WebSocketGuardMiddleware, guards=[guard()])
    parent_events, child_events = listened(parent), listened(child)
    assert closed(parent, "/child/wait") == heard[2]
    assert refusals(parent_events) == [heard]
    assert child_events == []


def test_the_mounted_apps_route_guard_on_a_socket_the_parent_watches_is_heard_by_the_mounted_app() -> None:
    # The parent's watch is armed (its guard's expiry is an hour away), so the mounted route's guard schedules its
    # own, earlier expiry on that same watch: the close is the mounted app's guard's, and the mounted app's to hear.
    router = RejectingRouter()

    @router.websocket("/wait", dependencies=[Depends(ws_guard(expiring_in(0.1)))])
    async def waiting(websocket: WebSocket) -> None:
        await wait(websocket)

    child = FastAPI()
    child.include_router(router)
    parent = FastAPI()
    parent.mount("/child", child)
    parent.add_middleware(WebSocketGuardMiddleware, guards=[ws_guard(expiring_in(3600))])
    parent_events, child_events = listened(parent), listened(child)
    assert closed(parent, "/child/wait") == 4401
    assert refusals(child_events) == [("/child/wait", 401, 4401, "ws_guard(session)")]
    assert parent_events == []


def test_the_mounted_apps_own_middleware_close_is_heard_by_the_mounted_app() -> None:
    child = FastAPI()
    child.websocket("/wait")(wait)
    child.add_middleware(WebSocketGuardMiddleware, guards=[ws_guard(Banned(), revalidate=0.05)])
    parent = FastAPI()
    parent.mount("/child", child)
    parent_events, child_events = listened(parent), listened(child)
    assert closed(parent, "/child/wait") == 4403
    assert refusals(child_events) == [("/child/wait", 403, 4403, "ws_guard(Banned)")]
    assert parent_events == []
