"""`WebSocketGuardMiddleware` on every real server: a foreign origin refused before routing, its 404 for an
unknown path, HTTP left alone."""

import asyncio
import json
import urllib.request

import pytest

from fastapi_ws_reject.testing import RunningServer, handshake, live_server
from tests.support.apps import ROOT
from tests.support.servers import BEHAVIOURS, SERVERS

pytestmark = pytest.mark.e2e

ORIGIN = {"Origin": "https://app.example.com"}


@pytest.fixture(scope="module", params=SERVERS, ids=lambda server: "-".join(filter(None, server)))
def server(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    name, ws = request.param
    with live_server("tests.security.guarded_app:app", server=name, ws=ws or "none", cwd=ROOT) as running:
        yield running


def test_middleware_refuses_a_foreign_origin_before_routing(server: RunningServer) -> None:
    denial = BEHAVIOURS[server.name].denial_extension
    refused = asyncio.run(handshake(server + "/guarded/echo", headers={"Origin": "https://evil.test"}))
    assert (refused.status_code, refused.content) == ((403, b"origin not allowed") if denial else (403, b""))
    assert asyncio.run(handshake(server + "/guarded/echo", headers=ORIGIN)).messages == ["hello"]


def test_middleware_answers_404_for_an_unknown_path(server: RunningServer) -> None:
    result = asyncio.run(handshake(server + "/guarded/nothing", headers=ORIGIN))
    if BEHAVIOURS[server.name].denial_extension:
        assert (result.status_code, json.loads(result.content)) == (404, {"detail": "Not Found"})
    else:
        assert result.status_code == 403


def test_middleware_leaves_http_alone(server: RunningServer) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=5) as response:
        assert json.loads(response.read()) == "ok"
