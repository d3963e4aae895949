"""A guard that stops waiting for its check after a timeout (`ws_guard(check, timeout=...)`)."""

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import WebSocket
from starlette.concurrency import run_in_threadpool

from .._callables import is_async_callable
from ..handlers import track
from ..rejection import WebSocketRejection
from .base import checks_by_raising

DEFAULT_TIMEOUT_REJECTION = WebSocketRejection(503, "the check did not answer in time")
_WEBSOCKET = "_fastapi_ws_reject_websocket"


def timed_guard(
    check: Callable[..., Any], refusal: WebSocketRejection, timeout: float, timeout_refusal: WebSocketRejection
) -> Callable[..., Awaitable[Any]]:
    """A guard that takes `check`'s parameters and calls `check` itself, so that it can time it.

    (With `Depends(check)` FastAPI would call the check before the guard runs, out of its reach.)
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}.")
    call_method = type(check).__call__
    if any(inspect.isgeneratorfunction(f) or inspect.isasyncgenfunction(f) for f in (check, call_method)):
        raise TypeError("timeout= needs a check that returns its answer; a dependency with `yield` cannot be timed.")
    parameters = list(inspect.signature(check, eval_str=True).parameters.values())
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters):
        raise TypeError("timeout= needs a check without *args or **kwargs: FastAPI injects named parameters only.")
    websocket_name = next((p.name for p in parameters if p.annotation is WebSocket), None)
    raising = checks_by_raising(check)
    call = check if is_async_callable(check) else functools.partial(run_in_threadpool, check)

    async def guard(**values: Any) -> Any:
        websocket = values[websocket_name] if websocket_name else values.pop(_WEBSOCKET)
        try:
            value = await asyncio.wait_for(call(**values), timeout)
        except asyncio.TimeoutError:
            track(websocket)
            raise timeout_refusal from None
        except WebSocketRejection:
            track(websocket)
            raise
        if value or raising:
            return value
        track(websocket)
        raise refusal

    keyword_only = [p.replace(kind=p.KEYWORD_ONLY) for p in parameters]
    if websocket_name is None:
        keyword_only.append(inspect.Parameter(_WEBSOCKET, inspect.Parameter.KEYWORD_ONLY, annotation=WebSocket))
    guard.__signature__ = inspect.Signature(keyword_only)  # type: ignore[attr-defined]
    return guard
