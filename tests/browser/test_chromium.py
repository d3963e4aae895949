"""A real headless Chromium opens the example's sockets: with `http` the page sees 1006, with `close` and
`auto` it reads the 4xxx code and the reason. Driven over the DevTools protocol with the `websockets` client,
so no tool downloads a browser of its own."""

import asyncio
from collections.abc import Iterator

import pytest

from fastapi_ws_reject.testing import handshake, live_server
from tests.support.apps import ROOT
from tests.support.chromium import chromium, results_in_the_page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def devtools() -> Iterator[str]:
    with chromium() as address:
        yield address


def test_the_browser_reads_the_close_code_only_with_close_or_auto(devtools: str) -> None:
    with live_server("examples.browser.app:app", cwd=ROOT) as server:
        page_url = f"http://127.0.0.1:{server.port}/"
        results = asyncio.run(results_in_the_page(devtools, page_url, 3))
        from_a_script = asyncio.run(handshake(server + "/ws/auto"))
    assert results["/ws/http"] == {"code": 1006, "reason": ""}
    assert results["/ws/close"] == {"code": 4401, "reason": "log in again"}
    assert results["/ws/auto"] == {"code": 4401, "reason": "log in again"}
    assert (from_a_script.status_code, from_a_script.content) == (401, b"log in again")  # auto: not a browser
