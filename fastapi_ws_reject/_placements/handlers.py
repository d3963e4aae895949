"""`add_rejection_handlers`: exception handlers that send rejections on every websocket route of an app."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from .._arguments import check_policy
from .._pipeline.answering import RejectionHandler
from .._pipeline.conversion import CONVERTED_EXCEPTIONS
from ..policy import Policy

Handler = Any  # Starlette's handler type differs between versions; the handlers below fit every one.


def add_rejection_handlers(app: FastAPI, *, policy: Policy = "http") -> None:
    """Make every websocket route of `app` send rejections the way `RejectingRouter` routes do.

    ```python
    app = FastAPI()
    add_rejection_handlers(app)
    ```

    Call it once, while setting the app up, after your own `add_exception_handler` calls. `HTTPException`,
    validation errors, `WebSocketException` and `WebSocketRejection` raised on websocket routes become
    HTTP responses before accept and close frames after it; HTTP routes keep the handlers they had.
    A handler you registered before for one of these runs first on websockets too, with the endpoint's
    `WebSocket`; if it sent nothing (no accept, close or response), the rejection is sent. A handler you
    register after replaces the library's for its exception, as in plain FastAPI.
    `policy` ("http", "close" or "auto") is how a rejection before accept is sent, unless the route says.
    """
    if not isinstance(app, FastAPI):
        raise TypeError(
            f"add_rejection_handlers takes a FastAPI app, got {type(app).__name__}; "
            "for a plain Starlette app, wrap it in FastAPI() or use WebSocketGuardMiddleware."
        )
    policy = check_policy(policy) or "http"
    # A handler the user keyed on a subclass (say fastapi.HTTPException) is found first, so wrap it too.
    registered = [
        key for key in app.exception_handlers if isinstance(key, type) and issubclass(key, CONVERTED_EXCEPTIONS)
    ]
    for exc_class in {*CONVERTED_EXCEPTIONS, *registered}:
        previous = app.exception_handlers.get(exc_class)
        if not isinstance(previous, RejectionHandler):
            app.exception_handlers[exc_class] = RejectionHandler(previous, policy)
