"""`handshake`: what a real client sees when it opens a websocket to a live server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol


@dataclass
class Handshake:
    """What a real client saw: `status_code` 101 and the close, or the rejection's status, headers and content.

    ```python
    result = asyncio.run(handshake(base_url + "/ws"))
    assert (result.status_code, result.content) == (429, b"slow down")
    ```
    """

    status_code: int
    headers: dict[str, str]
    content: bytes = b""
    messages: list[str | bytes] = field(default_factory=list[str | bytes])
    close_code: int | None = None
    close_reason: str | None = None


async def handshake(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    subprotocols: Sequence[str] | None = None,
    timeout: float = 10.0,
) -> Handshake:
    """Open a websocket to `url`, read until the server closes it, and report what came back.

    ```python
    with live_server("myapp:app", server="granian") as base_url:
        result = asyncio.run(handshake(base_url + "/ws", headers={"Origin": "https://evil.test"}))
    ```

    A refused handshake gives its status, headers and body; an accepted one (status 101) gives the
    messages received and the close code and reason, or close_code None if the server kept the socket
    open for `timeout` seconds.
    """
    try:
        async with connect(
            url,
            additional_headers=dict(headers or {}),
            subprotocols=[Subprotocol(name) for name in subprotocols] if subprotocols else None,
            open_timeout=timeout,
            close_timeout=timeout,
        ) as websocket:
            assert websocket.response is not None
            result = Handshake(101, {k.lower(): v for k, v in websocket.response.headers.raw_items()})
            # A socket still open after `timeout` keeps close_code None (and is closed by us).
            with contextlib.suppress(ConnectionClosed, asyncio.TimeoutError):
                await asyncio.wait_for(_read_all(websocket, result.messages), timeout)
            result.close_code, result.close_reason = websocket.close_code, websocket.close_reason
            return result
    except InvalidStatus as exc:
        response = exc.response
        return Handshake(
            response.status_code, {k.lower(): v for k, v in response.headers.raw_items()}, bytes(response.body or b"")
        )


async def _read_all(websocket: ClientConnection, messages: list[str | bytes]) -> None:
    async for message in websocket:
        messages.append(message)
