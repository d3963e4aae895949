"""The one place that writes `websocket.http.response.*` and `websocket.close` messages."""

from __future__ import annotations

import logging

from starlette.types import Scope, Send
from starlette.websockets import WebSocketDisconnect, WebSocketState

from .events import report
from .rejection import WebSocketRejection
from .uvicorn_log_filter import denial_sent

logger = logging.getLogger("fastapi_ws_reject")

DENIAL_EXTENSION = "websocket.http.response"
FALLBACK_WARNING = (
    "This ASGI server does not support the WebSocket Denial Response extension (%s); "
    "rejections before accept() are sent as a close, which the server answers with 403 and no body. "
    "Run uvicorn, hypercorn or granian to send the declared status, headers and body."
)
CLIENT_GONE = "Client went away while %s %s was sent; nothing more to send."

_warned_about_fallback = False


async def send_rejection(scope: Scope, send: Send, rejection: WebSocketRejection, state: WebSocketState) -> None:
    """Send `rejection` as the answer that fits where the handshake stands.

    Before accept: the HTTP response (or a close where the server lacks the extension).
    After accept: a close frame. After a response or a close: nothing, since nothing may follow it.
    """
    try:
        if state is WebSocketState.CONNECTING:
            await _deny(scope, send, rejection)
        elif state is WebSocketState.CONNECTED:
            await send({"type": "websocket.close", "code": rejection.close_code, "reason": rejection.reason})
        else:
            return
    except (OSError, WebSocketDisconnect):
        # ASGI: send() on a closed connection raises OSError (Starlette wraps it as WebSocketDisconnect).
        logger.debug(CLIENT_GONE, type(rejection).__name__, rejection.status_code)
        return
    report(scope, rejection.status_code, rejection.close_code if state is WebSocketState.CONNECTED else None)


async def _deny(scope: Scope, send: Send, rejection: WebSocketRejection) -> None:
    if DENIAL_EXTENSION in (scope.get("extensions") or {}):
        await send(
            {
                "type": "websocket.http.response.start",
                "status": rejection.status_code,
                "headers": rejection.raw_headers,
            }
        )
        await send({"type": "websocket.http.response.body", "body": rejection.body, "more_body": False})
        denial_sent.set(True)
        return
    _warn_about_fallback()
    await send({"type": "websocket.close", "code": rejection.close_code, "reason": rejection.reason})


def _warn_about_fallback() -> None:
    global _warned_about_fallback
    if not _warned_about_fallback:
        _warned_about_fallback = True
        logger.warning(FALLBACK_WARNING, DENIAL_EXTENSION)
