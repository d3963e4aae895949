"""`on_reject` listeners belong to an app: two apps in one process never hear each other's rejections.

An app's listeners hear the rejections sent while it serves the connection (Starlette sets `scope["app"]`):
its routes, its guards and the `WebSocketGuardMiddleware` it was given with `add_middleware`. A FastAPI
(or Starlette) app mounted in another serves its own routes, so its listeners hear them, and the parent's
do not.
"""

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient

from fastapi_ws_reject import (
    RejectingRouter,
    RejectionEvent,
    WebSocketGuardMiddleware,
    WebSocketRejection,
    on_reject,
    ws_guard,
)
from fastapi_ws_reject._pipeline.sending import FALLBACK_WARNING
from fastapi_ws_reject.guards import OriginGuard
from fastapi_ws_reject.testing import assert_rejected, without_denial_extension

ORIGIN = "https://a.example"


@dataclass
class Session:
    expires_at: float


def expiring_in(seconds: float) -> Callable[[WebSocket], Session]:
    def check(websocket: WebSocket) -> Session:
        return Session(time.time() + seconds)

    return check


async def wait(websocket: WebSocket) -> None:
    """Accept, then wait for the close."""
    await websocket.accept()
    with contextlib.suppress(WebSocketDisconnect):
        await websocket.receive_text()


def build(app: FastAPI) -> FastAPI:
    """Routes that refuse in each way a served app can: its route, a guard, its middleware, an expiry."""
    router = RejectingRouter()

    @router.websocket("/route")
    async def route(websocket: WebSocket) -> None:
        raise WebSocketRejection(404, "no such room")

    @router.websocket("/guarded", dependencies=[Depends(OriginGuard([ORIGIN], allow_missing=True))])
    async def guarded(websocket: WebSocket) -> None:
        await websocket.accept()  # pragma: no cover
        await websocket.close()  # pragma: no cover

    @router.websocket("/expiring", dependencies=[Depends(ws_guard(expiring_in(0.1)))])
    async def expiring(websocket: WebSocket) -> None:
        await wait(websocket)

    @router.websocket("/open")
    async def open_(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()

    app.include_router(router)
    # Before routing: refuses a handshake to /private/... without an Origin, and answers 404 to unknown paths.
    guard = OriginGuard([ORIGIN], allow_missing=False)
    app.add_middleware(WebSocketGuardMiddleware, guards=[guard], include=["/private/*"], not_found=True)
    return app


def listened(app: FastAPI) -> list[RejectionEvent]:
    events: list[RejectionEvent] = []
    on_reject(app, events.append)
    return events


def refusals(events: list[RejectionEvent]) -> list[tuple[str, int, int | None, str | None]]:
    return [(event.path, event.status_code, event.close_code, event.guard) for event in events]


def wait_for_close(client: TestClient, path: str) -> int:
    with client.websocket_connect(path, headers={"origin": ORIGIN}) as websocket:
        message = websocket.receive()
    assert message["type"] == "websocket.close"
    return int(message["code"])


# 1. Two apps in one process: each app's listener hears that app's rejections, and only those.


def test_a_rejection_on_one_app_is_heard_only_by_that_apps_listener() -> None:
    first, second = build(FastAPI()), build(FastAPI())
    first_events, second_events = listened(first), listened(second)

    assert_rejected(TestClient(first), "/route", status_code=404)
    assert_rejected(TestClient(first), "/guarded", status_code=403, request_headers={"origin": "https://evil.test"})
    assert_rejected(TestClient(first), "/private/x", status_code=403)
    assert_rejected(TestClient(first), "/private/nowhere", status_code=404, request_headers={"origin": ORIGIN})
    assert wait_for_close(TestClient(first), "/expiring") == 4401

    assert refusals(first_events) == [
        ("/route", 404, None, None),
        ("/guarded", 403, None, "OriginGuard"),
        ("/private/x", 403, None, "OriginGuard"),
        ("/private/nowhere", 404, None, None),
        ("/expiring", 401, 4401, "ws_guard(check)"),
    ]
    assert second_events == []

    assert_rejected(TestClient(second), "/route", status_code=404)
    assert len(first_events) == 5
    assert refusals(second_events) == [("/route", 404, None, None)]


def test_each_of_two_listeners_on_one_app_hears_its_rejections_once() -> None:
    app = build(FastAPI())
    first, second = listened(app), listened(app)
    assert_rejected(TestClient(app), "/route", status_code=404)
    assert refusals(first) == refusals(second) == [("/route", 404, None, None)]


def test_an_app_without_listeners_still_logs_its_rejection(caplog: pytest.LogCaptureFixture) -> None:
    listened(build(FastAPI()))
    with caplog.at_level(logging.INFO, logger="fastapi_ws_reject"):
        assert_rejected(TestClient(build(FastAPI())), "/route", status_code=404)
    assert caplog.messages == ["Rejected websocket /route with status 404"]


def test_a_plain_starlette_app_has_listeners_too() -> None:
    async def refuse(websocket: WebSocket) -> None:
        await websocket.accept()  # pragma: no cover

    app = Starlette(routes=[WebSocketRoute("/ws", refuse)])
    app.add_middleware(WebSocketGuardMiddleware, guards=[OriginGuard([ORIGIN], allow_missing=False)])
    events: list[RejectionEvent] = []
    on_reject(app, events.append)
    assert_rejected(TestClient(app), "/ws", status_code=403)
    assert refusals(events) == [("/ws", 403, None, "OriginGuard")]


# 2. Mounted apps: a mounted FastAPI app serves its routes, so its own listeners hear them.


def mounted() -> tuple[FastAPI, FastAPI, list[RejectionEvent], list[RejectionEvent]]:
    parent, child = build(FastAPI()), build(FastAPI())
    parent.mount("/child", child)
    return parent, child, listened(parent), listened(child)


def test_a_mounted_apps_rejections_are_heard_by_its_listeners_not_the_parents() -> None:
    parent, _, parent_events, child_events = mounted()
    client = TestClient(parent)
    assert_rejected(client, "/child/route", status_code=404)
    assert_rejected(client, "/child/guarded", status_code=403, request_headers={"origin": "https://evil.test"})
    assert_rejected(client, "/child/private/x", status_code=403)  # the child's own middleware
    assert wait_for_close(client, "/child/expiring") == 4401
    assert refusals(child_events) == [
        ("/child/route", 404, None, None),
        ("/child/guarded", 403, None, "OriginGuard"),
        ("/child/private/x", 403, None, "OriginGuard"),
        ("/child/expiring", 401, 4401, "ws_guard(check)"),
    ]
    assert parent_events == []


def test_the_parents_middleware_refusal_before_the_mount_is_heard_by_the_parent() -> None:
    parent, child = FastAPI(), build(FastAPI())
    parent.mount("/child", child)
    parent.add_middleware(WebSocketGuardMiddleware, guards=[OriginGuard([ORIGIN], allow_missing=False)])
    parent_events, child_events = listened(parent), listened(child)
    assert_rejected(TestClient(parent), "/child/route", status_code=403)
    assert refusals(parent_events) == [("/child/route", 403, None, "OriginGuard")]
    assert child_events == []


def test_the_parents_middleware_expiry_while_the_mounted_app_serves_is_heard_by_the_parent() -> None:
    # Starlette's Mount hands the mounted app the connection's own scope, and the mounted app sets scope["app"]
    # to itself; the close is still the parent's middleware guard's, so the parent hears it (it went to the
    # mounted app's listeners before: tests/security/test_watch_listeners.py).
    child = FastAPI()
    child.websocket("/wait")(wait)
    parent = FastAPI()
    parent.mount("/child", child)
    parent.add_middleware(WebSocketGuardMiddleware, guards=[ws_guard(expiring_in(0.1))])
    parent_events, child_events = listened(parent), listened(child)
    assert wait_for_close(TestClient(parent), "/child/wait") == 4401
    assert refusals(parent_events) == [("/child/wait", 401, 4401, "ws_guard(check)")]
    assert child_events == []


def test_a_mounted_router_is_part_of_the_app_that_mounts_it() -> None:
    inner = RejectingRouter()

    @inner.websocket("/route")
    async def route(websocket: WebSocket) -> None:
        raise WebSocketRejection(404, "no such room")

    app = FastAPI()
    app.mount("/inner", app=inner)
    events = listened(app)
    assert_rejected(TestClient(app), "/inner/route", status_code=404)
    assert refusals(events) == [("/inner/route", 404, None, None)]


# 3. Removing a listener, and the form that no longer exists.


def test_a_removed_listener_hears_nothing_while_the_others_still_do() -> None:
    app = build(FastAPI())
    removed: list[RejectionEvent] = []
    remove = on_reject(app, removed.append)
    kept = listened(app)
    remove()
    assert_rejected(TestClient(app), "/route", status_code=404)
    assert removed == []
    assert refusals(kept) == [("/route", 404, None, None)]


def test_a_listener_may_remove_itself_while_it_is_called() -> None:
    app = build(FastAPI())
    heard: list[RejectionEvent] = []

    def once(event: RejectionEvent) -> None:
        heard.append(event)
        remove()

    remove = on_reject(app, once)
    kept = listened(app)
    for _ in range(2):
        assert_rejected(TestClient(app), "/route", status_code=404)
    assert len(heard) == 1
    assert len(kept) == 2


def test_the_one_argument_form_fails_and_names_the_fix() -> None:
    events: list[RejectionEvent] = []
    with pytest.raises(TypeError, match=r"on_reject\(app, listener\)"):
        on_reject(events.append)  # type: ignore[call-arg, arg-type]


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param(lambda app, listener: (listener, app), id="swapped"),
        pytest.param(lambda app, listener: (app,), id="no listener"),
        pytest.param(lambda app, listener: (app, None), id="None listener"),
        pytest.param(lambda app, listener: (app.router, listener), id="a router"),
        pytest.param(lambda app, listener: (WebSocketGuardMiddleware(app, not_found=True), listener), id="wrapped"),
    ],
)
def test_a_call_without_an_app_and_a_listener_fails_and_names_the_fix(
    arguments: Callable[[FastAPI, Callable[[RejectionEvent], None]], tuple[Any, ...]],
) -> None:
    events: list[RejectionEvent] = []
    with pytest.raises(TypeError, match=r"on_reject\(app, listener\)"):
        on_reject(*arguments(FastAPI(), events.append))


def test_listeners_are_not_kept_in_the_apps_state() -> None:
    app = FastAPI()
    listened(app)
    assert vars(app.state).get("_state", {}) == {}


# 4. Rejections sent outside any app: logged, heard by no listener.


def test_a_middleware_wrapped_around_the_app_by_hand_is_heard_by_no_app(caplog: pytest.LogCaptureFixture) -> None:
    app = build(FastAPI())
    events = listened(app)
    outside = WebSocketGuardMiddleware(app, guards=[OriginGuard([ORIGIN], allow_missing=False)])
    with caplog.at_level(logging.INFO, logger="fastapi_ws_reject"):
        assert_rejected(TestClient(outside), "/open", status_code=403)
    assert events == []
    assert caplog.messages == ["Rejected websocket /open with status 403 by OriginGuard: no Origin header"]


def test_a_middleware_wrapped_by_hand_closes_an_expired_socket_for_the_app_it_wraps() -> None:
    # The app set scope["app"] when it took the socket, in the scope the middleware's watch holds.
    app = FastAPI()
    app.websocket("/wait")(wait)
    events = listened(app)
    outside = WebSocketGuardMiddleware(app, guards=[ws_guard(expiring_in(0.1))])
    assert wait_for_close(TestClient(outside), "/wait") == 4401
    assert refusals(events) == [("/wait", 401, 4401, "ws_guard(check)")]


# 5. The fallback warning: once per app.


def test_without_the_extension_each_app_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    first, second = build(FastAPI()), build(FastAPI())
    with caplog.at_level(logging.WARNING, logger="fastapi_ws_reject"):
        for app in (first, second, first, second):
            client = TestClient(without_denial_extension(app))
            assert assert_rejected(client, "/route", status_code=403).closed_before_accept == 4404
    assert [record.msg for record in caplog.records] == [FALLBACK_WARNING, FALLBACK_WARNING]


def test_without_the_extension_a_middleware_wrapped_by_hand_warns_every_time(caplog: pytest.LogCaptureFixture) -> None:
    outside = WebSocketGuardMiddleware(build(FastAPI()), guards=[OriginGuard([ORIGIN], allow_missing=False)])
    client = TestClient(without_denial_extension(outside))
    with caplog.at_level(logging.WARNING, logger="fastapi_ws_reject"):
        for _ in range(2):
            assert assert_rejected(client, "/open", status_code=403).closed_before_accept == 4403
    assert [record.msg for record in caplog.records] == [FALLBACK_WARNING, FALLBACK_WARNING]
