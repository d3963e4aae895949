"""uvicorn's websockets-sansio logs an error for every denial; the opt-in filter drops it for ours only."""

import asyncio

import pytest

from fastapi_ws_reject.testing import handshake, live_server
from fastapi_ws_reject.uvicorn_log_filter import UVICORN_DENIAL_ERROR
from tests.apps import ROOT

pytestmark = pytest.mark.e2e


async def two_denials_and_a_silent_app(url: str) -> None:
    assert (await handshake(url + "/rejection")).status_code == 429
    assert (await handshake(url + "/rooms/attic")).status_code == 404
    assert (await handshake(url + "/no-answer")).status_code == 500


def test_uvicorn_still_logs_an_error_for_every_denial() -> None:
    # Pinned so we notice when uvicorn fixes it: then the filter and this README note can go.
    with live_server("tests.e2e.app:app", ws="websockets-sansio", cwd=ROOT) as server:
        asyncio.run(two_denials_and_a_silent_app(server.url))
    assert server.log().count(UVICORN_DENIAL_ERROR) == 3


def test_filter_drops_the_error_for_denials_only() -> None:
    with live_server("tests.e2e.quiet_app:app", ws="websockets-sansio", cwd=ROOT) as server:
        asyncio.run(two_denials_and_a_silent_app(server.url))
    assert server.log().count(UVICORN_DENIAL_ERROR) == 1
