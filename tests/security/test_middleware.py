"""Attacks on `WebSocketGuardMiddleware`: paths under a root path or a mount, and probing for routes."""

import asyncio

import pytest
from fastapi import FastAPI, WebSocket
from starlette.testclient import TestClient

from fastapi_ws_reject import WebSocketGuardMiddleware
from fastapi_ws_reject.guards import InMemoryBackend, OriginGuard, RateLimitGuard
from fastapi_ws_reject.testing import assert_rejected, handshake, live_server
from tests.support.apps import ROOT

FOREIGN = {"Origin": "https://evil.example"}


def guarded(**options: object) -> FastAPI:
    app = FastAPI()

    @app.websocket("/ws/{room}")
    async def room(websocket: WebSocket, room: str) -> None:
        await websocket.accept()
        await websocket.send_text(room)
        await websocket.close()

    options.setdefault("guards", [OriginGuard(["https://app.example.com"], allow_missing=False)])
    options.setdefault("include", ["/ws/*"])
    app.add_middleware(WebSocketGuardMiddleware, **options)
    return app


def test_include_pattern_applies_under_a_root_path() -> None:
    client = TestClient(guarded(), root_path="/api")
    assert_rejected(client, "/api/ws/lobby", status_code=403, request_headers=FOREIGN)


def test_include_pattern_applies_in_a_mounted_sub_app() -> None:
    parent = FastAPI()
    parent.mount("/v1", guarded())
    assert_rejected(TestClient(parent), "/v1/ws/lobby", status_code=403, request_headers=FOREIGN)


def test_exclude_pattern_is_relative_to_the_mount_too() -> None:
    parent = FastAPI()
    parent.mount("/v1", guarded(exclude=["/ws/public"]))
    with TestClient(parent).websocket_connect("/v1/ws/public", headers=dict(FOREIGN)) as websocket:
        assert websocket.receive_text() == "public"
    assert_rejected(TestClient(parent), "/v1/ws/private", status_code=403, request_headers=FOREIGN)


def test_a_refused_client_cannot_tell_unknown_paths_from_known_ones() -> None:
    client = TestClient(guarded(include=["*"], not_found=True))
    known = assert_rejected(client, "/ws/lobby", request_headers=FOREIGN)
    unknown = assert_rejected(client, "/admin/secret", request_headers=FOREIGN)
    assert (known.status_code, known.content) == (unknown.status_code, unknown.content) == (403, b"origin not allowed")


def test_an_allowed_client_still_gets_404_for_an_unknown_path() -> None:
    client = TestClient(guarded(include=["*"], not_found=True))
    assert_rejected(client, "/nope", status_code=404, request_headers={"Origin": "https://app.example.com"})


def test_404_probes_count_toward_the_rate_limit() -> None:
    client = TestClient(
        guarded(include=["*"], not_found=True, guards=[RateLimitGuard(2, per=60, backend=InMemoryBackend())])
    )
    assert_rejected(client, "/probe-1", status_code=404)
    assert_rejected(client, "/probe-2", status_code=404)
    assert_rejected(client, "/probe-3", status_code=429)


@pytest.mark.e2e
@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_include_pattern_applies_under_a_server_root_path(server: str) -> None:
    # Behind a proxy that strips /api, the client asks for /ws/lobby; uvicorn makes the path /api/ws/lobby.
    app = "tests.security.root_path_app:app"
    with live_server(app, server=server, cwd=ROOT, server_args=["--root-path", "/api"]) as running:
        refused = asyncio.run(handshake(running.url + "/ws/lobby", headers=FOREIGN))
        allowed = asyncio.run(handshake(running.url + "/ws/lobby", headers={"Origin": "https://app.example.com"}))
    assert refused.status_code == 403 and refused.content == b"origin not allowed"
    assert allowed.status_code == 101
