"""`WebSocketGuardMiddleware`: the paths it guards, its 404 for a path without a route, fallback, configuration."""

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from fastapi_ws_reject import WebSocketGuardMiddleware
from fastapi_ws_reject.guards import IPGuard, OriginGuard, SubprotocolGuard
from fastapi_ws_reject.testing import assert_closed, assert_rejected, without_denial_extension
from tests.support.places import middleware_app


def test_middleware_applies_to_included_paths_only() -> None:
    guard = OriginGuard(["https://a.test"], allow_missing=False)
    client = TestClient(middleware_app(guards=[guard], include=["/ws/*"]))
    assert_rejected(client, "/ws/chat", status_code=403)
    assert_closed(client, "/ws/chat", close_code=4000, request_headers={"Origin": "https://a.test"})
    assert_closed(client, "/public", close_code=4001)
    assert client.get("/http").json() == "untouched"
    client = TestClient(middleware_app(guards=[guard], exclude=["/public"]))
    assert_closed(client, "/public", close_code=4001)
    assert_rejected(client, "/ws/chat", status_code=403)


def test_middleware_answers_404_for_a_path_without_route() -> None:
    client = TestClient(middleware_app(not_found=True))
    assert_rejected(client, "/ws/nothing-here", status_code=404, json={"detail": "Not Found"})
    assert_closed(client, "/ws/chat", close_code=4000)
    plain = TestClient(middleware_app(guards=[SubprotocolGuard(["x"])], include=["/never"]))
    assert assert_rejected(plain, "/ws/nothing-here").closed_before_accept == 1000  # Starlette's 403


def test_middleware_uses_the_fallback_without_the_extension() -> None:
    guard = OriginGuard(["https://a.test"], allow_missing=False)
    client = TestClient(without_denial_extension(middleware_app(guards=[guard])))
    assert assert_rejected(client, "/ws/chat", status_code=403).closed_before_accept == 4403


def test_middleware_configuration_errors() -> None:
    with pytest.raises(ValueError, match="does nothing"):
        WebSocketGuardMiddleware(FastAPI())
    with pytest.raises(TypeError, match="not a string"):
        WebSocketGuardMiddleware(FastAPI(), guards=[IPGuard(allow=["::1"])], include="/ws/*")  # type: ignore[arg-type]


def test_middleware_on_an_app_without_routes_lets_the_handshake_through() -> None:
    async def raw(scope: object, receive: object, send: object) -> None:
        await send({"type": "websocket.close", "code": 4002})  # type: ignore[operator]

    client = TestClient(WebSocketGuardMiddleware(raw, not_found=True))  # type: ignore[arg-type]
    assert assert_rejected(client, "/anything").closed_before_accept == 4002
