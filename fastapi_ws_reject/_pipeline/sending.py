"""The one place that writes `websocket.http.response.*` and `websocket.close` messages."""

from __future__ import annotations

import logging
from contextvars import ContextVar

from starlette.types import Scope, Send
from starlette.websockets import WebSocketDisconnect, WebSocketState

from .._events import events_of, report
from .._rejection import WebSocketRejection
from .._telemetry import ACCEPT_THEN_CLOSE, CLOSE_AFTER_ACCEPT, CLOSE_BEFORE_ACCEPT, RESPONSE
from ..policy import Policy, is_browser_handshake

logger = logging.getLogger("fastapi_ws_reject")

DENIAL_EXTENSION = "websocket.http.response"
FALLBACK_WARNING = (
    "This ASGI server does not support the WebSocket Denial Response extension (%s); "
    "rejections before accept() are sent as a close, which the server answers with 403 and no body. "
    "Run uvicorn, hypercorn or granian to send the declared status, headers and body."
)
CLIENT_GONE = "Client went away while %s %s was sent; nothing more to send."

# Set in the task that sent a denial, for `uvicorn_log_filter` (uvicorn logs from that task after the app returns).
denial_sent: ContextVar[bool] = ContextVar("fastapi_ws_reject_denial_sent", default=False)


async def send_rejection(
    scope: Scope, send: Send, rejection: WebSocketRejection, state: WebSocketState, policy: Policy
) -> None:
    """Send `rejection` as the answer that fits where the handshake stands.

    Before accept: the HTTP response (or a close where the server lacks the extension), or, when the
    policy says so, an accept and an immediate close. After accept: a close frame. After a response or a
    close: nothing, since nothing may follow it. `policy` is the one `_answering.policy_for` resolved.
    """
    try:
        if state is WebSocketState.CONNECTING:
            if closes(policy, scope):
                await _accept_then_close(scope, send, rejection)
                answer = ACCEPT_THEN_CLOSE
            else:
                answer = await _deny(scope, send, rejection)
        elif state is WebSocketState.CONNECTED:
            await _close(send, rejection)
            answer = CLOSE_AFTER_ACCEPT
        else:
            return
    except (OSError, WebSocketDisconnect):
        # ASGI: send() on a closed connection raises OSError (Starlette wraps it as WebSocketDisconnect).
        logger.debug(CLIENT_GONE, type(rejection).__name__, rejection.status_code)
        return
    report(scope, rejection, answer, policy if state is WebSocketState.CONNECTING else None)


async def close_accepted(scope: Scope, send: Send, rejection: WebSocketRejection) -> None:
    """Close an accepted socket from outside its endpoint (an expiry, a lost slot) with the rejection's close
    code and reason; a client already gone is no error."""
    try:
        await _close(send, rejection)
    except (OSError, WebSocketDisconnect):
        logger.debug(CLIENT_GONE, type(rejection).__name__, rejection.status_code)
        return
    report(scope, rejection, CLOSE_AFTER_ACCEPT)


async def _close(send: Send, rejection: WebSocketRejection) -> None:
    await send({"type": "websocket.close", "code": rejection.close_code, "reason": rejection.reason})


async def _accept_then_close(scope: Scope, send: Send, rejection: WebSocketRejection) -> None:
    # A browser fails a handshake that offered subprotocols and got none back (1006 again), so take one;
    # the socket closes before anything is said in it.
    await send({"type": "websocket.accept", "subprotocol": echoable_subprotocol(scope), "headers": []})
    await _close(send, rejection)


def echoable_subprotocol(scope: Scope) -> str | None:
    """The first offered subprotocol: safe to send back, since a client puts a token only after its marker
    ("bearer", "apikey" or a credential guard's own), never first."""
    offered = scope.get("subprotocols") or ()
    return str(offered[0]) if offered else None


async def _deny(scope: Scope, send: Send, rejection: WebSocketRejection) -> str:
    """Send the HTTP response, or a close where the server lacks the extension; say which was sent."""
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
        return RESPONSE
    _warn_about_fallback(scope)
    await _close(send, rejection)
    return CLOSE_BEFORE_ACCEPT


def _warn_about_fallback(scope: Scope) -> None:
    """Warn once per app (kept with its listeners); outside any app, as in a middleware wrapped around the app
    by hand, there is nowhere to remember it, so every fallback warns."""
    events = events_of(scope)
    if events is None or not events.warned_about_fallback:
        if events is not None:
            events.warned_about_fallback = True
        logger.warning(FALLBACK_WARNING, DENIAL_EXTENSION)


def closes(policy: Policy, scope: Scope) -> bool:
    return policy == "close" or (policy == "auto" and is_browser_handshake(scope))
