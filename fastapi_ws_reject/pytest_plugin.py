"""pytest plugin (registered through the `pytest11` entry point): the `ws_live_server` fixture.

It imports `fastapi_ws_reject.testing` only when a test asks for the fixture, so installing the library
without its test extra never breaks a test run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .testing import RunningServer

__all__ = ["ws_live_server"]


@pytest.fixture
def ws_live_server() -> Iterator[Callable[..., RunningServer]]:
    """Start real servers for this test: `ws_live_server(app, server="uvicorn", ws=...)` returns the base URL.

    ```python
    def test_denial_on_hypercorn(ws_live_server):
        result = asyncio.run(handshake(ws_live_server(app, "hypercorn") + "/ws"))
        assert result.status_code == 404
    ```

    It takes the arguments of `fastapi_ws_reject.testing.live_server`. Every server it started is stopped
    when the test ends.
    """
    from .testing import live_server

    with contextlib.ExitStack() as servers:

        def start(app: Any, server: str = "uvicorn", ws: str = "websockets-sansio", **kwargs: Any) -> RunningServer:
            return servers.enter_context(live_server(app, server, ws, **kwargs))

        yield start
