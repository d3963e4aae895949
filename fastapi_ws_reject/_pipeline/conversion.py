"""Turn the exceptions FastAPI users already raise into a `WebSocketRejection`."""

from __future__ import annotations

import logging

from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import WebSocketRequestValidationError
from starlette.exceptions import HTTPException, WebSocketException

from .._rejection import WebSocketRejection

logger = logging.getLogger("fastapi_ws_reject")

UNREFUSABLE_STATUS = (
    "HTTPException(%s) cannot refuse a websocket handshake (a refusal needs a status from 300 to 599); "
    "answered 500 instead."
)
_SERVER_ERROR = WebSocketRejection(500, {"detail": "Internal Server Error"}, close_code=1011)

CONVERTED_EXCEPTIONS = (WebSocketRejection, HTTPException, WebSocketRequestValidationError, WebSocketException)


def as_rejection(exc: Exception) -> WebSocketRejection:
    """The rejection for one of `CONVERTED_EXCEPTIONS`, shaped as FastAPI answers HTTP."""
    if isinstance(exc, WebSocketRejection):
        return exc
    if isinstance(exc, HTTPException):
        return _from_http_exception(exc)
    if isinstance(exc, WebSocketRequestValidationError):
        return _from_validation_error(exc)
    assert isinstance(exc, WebSocketException), f"{type(exc).__name__} is not one of {CONVERTED_EXCEPTIONS}"
    return _from_websocket_exception(exc)


def _from_http_exception(exc: HTTPException) -> WebSocketRejection:
    if not 300 <= exc.status_code <= 599:
        # 1xx and 2xx would not refuse the handshake; answer as an unexpected error does, and say why once.
        logger.error(UNREFUSABLE_STATUS, exc.status_code)
        return _SERVER_ERROR
    body = None if exc.status_code == 304 else {"detail": exc.detail}
    reason = exc.detail if isinstance(exc.detail, str) else ""
    return WebSocketRejection(exc.status_code, body, headers=exc.headers, reason=reason)


def _from_validation_error(exc: WebSocketRequestValidationError) -> WebSocketRejection:
    errors = jsonable_encoder(exc.errors())
    reason = "; ".join(f"{'.'.join(map(str, error.get('loc', ())))}: {error.get('msg', '')}" for error in errors)
    return WebSocketRejection(422, {"detail": errors}, reason=reason)


def _from_websocket_exception(exc: WebSocketException) -> WebSocketRejection:
    # Our own after-accept convention read backwards: close code 4404 before accept means 404.
    status_code = exc.code - 4000 if 4300 <= exc.code <= 4599 else 403
    return WebSocketRejection(status_code, exc.reason or None, close_code=exc.code, reason=exc.reason)
