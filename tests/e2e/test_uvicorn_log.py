"""uvicorn's websockets-sansio logs an error for every denial before 0.55; the opt-in filter drops it for ours only.

The first test pins an upstream quirk for the uvicorn versions it names (`UVICORN_FIXED_IN`): when uvicorn
changes again, it fails with one message that says which version did what, not a red CI that hides the cause.
"""

import asyncio
from importlib.metadata import version

import pytest

from fastapi_ws_reject.testing import handshake, live_server
from fastapi_ws_reject.uvicorn_log_filter import UVICORN_DENIAL_ERROR, UVICORN_FIXED_IN
from tests.support.apps import ROOT

pytestmark = pytest.mark.e2e

UVICORN = version("uvicorn")
LOGS_DENIALS = tuple(int(part) for part in UVICORN.split(".")[:2]) < UVICORN_FIXED_IN


async def two_denials_and_a_silent_app(url: str) -> None:
    assert (await handshake(url + "/rejection")).status_code == 429
    assert (await handshake(url + "/rooms/attic")).status_code == 404
    assert (await handshake(url + "/no-answer")).status_code == 500


def test_uvicorn_logs_an_error_for_denials_before_the_fixed_version() -> None:
    with live_server("tests.e2e.app:app", ws="websockets-sansio", cwd=ROOT) as server:
        asyncio.run(two_denials_and_a_silent_app(server.url))
    logged = server.log().count(UVICORN_DENIAL_ERROR)
    expected = 3 if LOGS_DENIALS else 1  # the silent app's line is uvicorn's right answer, in every version
    fixed_in = ".".join(map(str, UVICORN_FIXED_IN))
    assert logged == expected, (
        f"uvicorn {UVICORN} logged {UVICORN_DENIAL_ERROR!r} {logged} times for two denials and a silent app; "
        f"the library expects {expected}: 3 before uvicorn {fixed_in}, 1 from it on. Update UVICORN_FIXED_IN in "
        "fastapi_ws_reject/uvicorn_log_filter.py and the notes that name the version."
    )


def test_filter_drops_the_error_for_denials_only() -> None:
    with live_server("tests.e2e.quiet_app:app", ws="websockets-sansio", cwd=ROOT) as server:
        asyncio.run(two_denials_and_a_silent_app(server.url))
    assert server.log().count(UVICORN_DENIAL_ERROR) == 1
