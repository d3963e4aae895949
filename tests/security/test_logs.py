"""Attacks on the rejection log line: what a client sends must not forge lines or reach the log unescaped."""

import asyncio
import logging

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from fastapi_ws_reject import WebSocketGuardMiddleware
from fastapi_ws_reject.guards import OriginGuard
from fastapi_ws_reject.testing import assert_rejected, handshake, live_server
from tests.apps import ROOT


def app() -> FastAPI:
    # The middleware logs before routing, so any path a client sends can reach the log line.
    app = FastAPI()
    app.add_middleware(WebSocketGuardMiddleware, guards=[OriginGuard(["https://a.example"], allow_missing=False)])
    return app


@pytest.mark.parametrize("encoded", ["%0A", "%0D", "%0D%0A", "%1B%5B2J", "%E2%80%A8", "%00"])
def test_a_control_character_in_the_path_cannot_forge_a_log_line(
    encoded: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="fastapi_ws_reject"):
        assert_rejected(TestClient(app()), f"/rooms/x{encoded}INFO forged line", status_code=403)
    (message,) = caplog.messages
    assert message.isprintable() and message.startswith("Rejected websocket /rooms/x\\")
    assert "INFO forged line with status 403 by OriginGuard: no Origin header" in message


def test_a_control_character_in_a_refused_origin_is_escaped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="fastapi_ws_reject"):
        assert_rejected(
            TestClient(app()), "/ws", status_code=403, request_headers={"Origin": "https://b.example\x1b[2J"}
        )
    (message,) = caplog.messages
    assert message.isprintable() and "\\x1b[2J" in message


def test_a_plain_path_is_logged_as_it_is(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="fastapi_ws_reject"):
        assert_rejected(TestClient(app()), "/rooms/caf%C3%A9", status_code=403)
    assert caplog.messages == ["Rejected websocket /rooms/café with status 403 by OriginGuard: no Origin header"]


@pytest.mark.e2e
@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_a_forged_log_line_does_not_reach_a_real_servers_log(server: str) -> None:
    with live_server("tests.security.logging_app:app", server=server, cwd=ROOT) as running:
        result = asyncio.run(handshake(running.url + "/rooms/x%0AFORGED%20line"))
    log = running.log()  # once the server has stopped: it logs the rejection after sending it
    assert result.status_code == 403
    assert "Rejected websocket /rooms/x\\nFORGED line with status 403" in log
    assert not any(line.startswith("FORGED") for line in log.splitlines())
