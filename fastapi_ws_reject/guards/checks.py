"""`ws_guard` and `@reject_unless`: a FastAPI dependency decides, a rejection answers."""

import functools
import inspect
import itertools
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, TypeVar

from fastapi import Depends, WebSocket

from ..handlers import track
from ..policy import Policy
from ..rejection import WebSocketRejection
from ._timeout import DEFAULT_TIMEOUT_REJECTION, timed_guard
from .base import checks_by_raising

Endpoint = TypeVar("Endpoint", bound=Callable[..., Awaitable[Any]])

_guard_numbers = itertools.count()


def ws_guard(
    check: Callable[..., Any],
    *,
    rejection: WebSocketRejection | None = None,
    status_code: int | None = None,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    media_type: str | None = None,
    close_code: int | None = None,
    reason: str | None = None,
    policy: Policy | None = None,
    timeout: float | None = None,
    timeout_rejection: WebSocketRejection | None = None,
) -> Callable[..., Awaitable[Any]]:
    """A dependency that rejects the handshake unless `check` returns something truthy, and returns it.

    `check` is itself a FastAPI dependency (sync or async; it may take `WebSocket`, `Query`, `Header`,
    `Cookie`, path parameters and other `Depends`) and may raise its own `WebSocketRejection`.

    ```python
    @router.websocket("/ws")
    async def chat(websocket: WebSocket, user: User = Depends(ws_guard(get_user, status_code=401))):
        ...
    ```

    The rejection is `rejection`, or one built from the other keyword arguments (status 403 by default).
    With `timeout` (seconds), a check that has not answered in time is abandoned and the handshake gets
    `timeout_rejection` (default 503). The timeout covers the check's own body, not its sub-dependencies,
    and cannot stop a sync check's thread, only stop waiting for it.
    """
    refusal = _configured_rejection(
        rejection,
        status_code=status_code,
        body=body,
        headers=headers,
        media_type=media_type,
        close_code=close_code,
        reason=reason,
        policy=policy,
    )

    if timeout is not None:
        guard = timed_guard(check, refusal, timeout, timeout_rejection or DEFAULT_TIMEOUT_REJECTION)
    else:
        raising = checks_by_raising(check)

        async def guard(websocket: WebSocket, value: Annotated[Any, Depends(check)]) -> Any:
            if value or raising:
                return value
            track(websocket)
            raise refusal

    guard.__name__ = guard.__qualname__ = f"ws_guard({getattr(check, '__name__', type(check).__name__)})"
    return guard


def reject_unless(
    check: Callable[..., Any],
    *,
    rejection: WebSocketRejection | None = None,
    status_code: int | None = None,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    media_type: str | None = None,
    close_code: int | None = None,
    reason: str | None = None,
    policy: Policy | None = None,
    timeout: float | None = None,
    timeout_rejection: WebSocketRejection | None = None,
) -> Callable[[Endpoint], Endpoint]:
    """`ws_guard` as a decorator: the endpoint runs only when `check` passes.

    Put it below the route decorator, so the route registers the guarded endpoint:

    ```python
    @router.websocket("/admin")
    @reject_unless(is_admin, status_code=403, body="admins only")
    async def admin(websocket: WebSocket):
        ...
    ```

    The endpoint keeps its own parameters; the guard runs before its other dependencies.
    """
    guard = ws_guard(
        check,
        rejection=rejection,
        status_code=status_code,
        body=body,
        headers=headers,
        media_type=media_type,
        close_code=close_code,
        reason=reason,
        policy=policy,
        timeout=timeout,
        timeout_rejection=timeout_rejection,
    )

    def decorate(endpoint: Endpoint) -> Endpoint:
        if not inspect.iscoroutinefunction(endpoint):
            raise TypeError(f"@reject_unless guards async websocket endpoints; make {endpoint!r} an `async def`.")
        signature = inspect.signature(endpoint, eval_str=True)
        guard_name = f"_fastapi_ws_reject_guard_{next(_guard_numbers)}"

        @functools.wraps(endpoint)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            del kwargs[guard_name]
            return await endpoint(*args, **kwargs)

        guard_parameter = inspect.Parameter(guard_name, inspect.Parameter.KEYWORD_ONLY, default=Depends(guard))
        guarded.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=_guard_first(guard_parameter, signature)
        )
        return guarded  # type: ignore[return-value]

    return decorate


def _configured_rejection(rejection: WebSocketRejection | None, **fields: Any) -> WebSocketRejection:
    given = {name: value for name, value in fields.items() if value is not None}
    if rejection is None:
        return WebSocketRejection(given.pop("status_code", 403), given.pop("body", None), **given)
    if given:
        raise TypeError(
            f"Give either rejection= or its fields, not both (also got {', '.join(sorted(given))}); "
            "put them in the WebSocketRejection."
        )
    if not isinstance(rejection, WebSocketRejection):
        raise TypeError(f"rejection must be a WebSocketRejection, got {type(rejection).__name__}.")
    return rejection


def _guard_first(guard_parameter: inspect.Parameter, signature: inspect.Signature) -> list[inspect.Parameter]:
    # Keyword-only lets the guard come first (FastAPI solves dependencies in order) whatever defaults follow;
    # FastAPI calls endpoints with keyword arguments only.
    kinds = inspect.Parameter
    variadic = [p for p in signature.parameters.values() if p.kind is kinds.VAR_POSITIONAL]
    named = [
        p.replace(kind=kinds.KEYWORD_ONLY)
        for p in signature.parameters.values()
        if p.kind not in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD)
    ]
    keywords = [p for p in signature.parameters.values() if p.kind is kinds.VAR_KEYWORD]
    return [*variadic, guard_parameter, *named, *keywords]
