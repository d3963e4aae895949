"""Attacks on the rejection log line: what a client sends must not forge lines or reach the log unescaped."""

import asyncio
import logging
import re

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from fastapi_ws_reject import RejectionEvent, WebSocketGuardMiddleware, on_reject
from fastapi_ws_reject._events import LOGGED_FIELD_CUT, LOGGED_FIELD_LIMIT
from fastapi_ws_reject.guards import OriginGuard
from fastapi_ws_reject.testing import assert_rejected, handshake, live_server
from tests.support.apps import ROOT


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


# Escaping writes a control character as 4 log characters (`\x07`), others as up to 10: uncapped, each handshake
# wrote as much as it liked to the log (80 KB for a 60 KB path). Each field is now cut, and the cut marked.
CUT_MARK = re.compile(re.escape(LOGGED_FIELD_CUT).replace(r"\{omitted\}", r"(\d+)"))
ROOM = "/rooms/"
ESCAPED_BELL = "\\x07"  # how escaping writes the control character %07 decodes to


def test_a_huge_path_is_cut_in_the_log_line_between_two_escapes(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="fastapi_ws_reject"):
        assert_rejected(TestClient(app()), ROOM + "%07" * 20_000, status_code=403)
    (message,) = caplog.messages
    bells = (LOGGED_FIELD_LIMIT - len(ROOM)) // len(ESCAPED_BELL)  # whole escapes only: 62, not 62.25
    logged_path = ROOM + ESCAPED_BELL * bells + LOGGED_FIELD_CUT.format(omitted=20_000 - bells)
    assert message == f"Rejected websocket {logged_path} with status 403 by OriginGuard: no Origin header"


def test_a_huge_refused_origin_is_cut_in_the_log_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="fastapi_ws_reject"):
        origin = "https://b.example/" + "\x1b" * 20_000
        assert_rejected(TestClient(app()), "/ws", status_code=403, request_headers={"Origin": origin})
    (message,) = caplog.messages
    prefix = "Rejected websocket /ws with status 403 by OriginGuard: "
    assert message.isprintable() and message.startswith(prefix + "origin 'https://b.example/\\x1b")
    detail = message.removeprefix(prefix)
    cut = CUT_MARK.search(detail)
    assert cut is not None and cut.start() == LOGGED_FIELD_LIMIT and cut.end() == len(detail)


def test_a_field_at_the_limit_is_logged_whole(caplog: pytest.LogCaptureFixture) -> None:
    path = "/" + "a" * (LOGGED_FIELD_LIMIT - 1)
    with caplog.at_level(logging.INFO, logger="fastapi_ws_reject"):
        assert_rejected(TestClient(app()), path, status_code=403)
    assert caplog.messages == [f"Rejected websocket {path} with status 403 by OriginGuard: no Origin header"]


def test_a_listener_still_gets_the_whole_huge_path() -> None:
    events: list[RejectionEvent] = []
    served = app()
    on_reject(served, events.append)
    assert_rejected(TestClient(served), ROOM + "%07" * 20_000, status_code=403)
    assert [event.path for event in events] == [ROOM + "\x07" * 20_000]


@pytest.mark.e2e
@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_a_forged_log_line_does_not_reach_a_real_servers_log(server: str) -> None:
    with live_server("tests.security.logging_app:app", server=server, cwd=ROOT) as running:
        result = asyncio.run(handshake(running.url + "/rooms/x%0AFORGED%20line"))
    log = running.log()  # once the server has stopped: it logs the rejection after sending it
    assert result.status_code == 403
    assert "Rejected websocket /rooms/x\\nFORGED line with status 403" in log
    assert not any(line.startswith("FORGED") for line in log.splitlines())
