"""`ws_guard` and `@reject_unless`: a FastAPI dependency decides, a rejection answers."""

import copy
import functools
import inspect
import itertools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from fastapi import Depends

from ..policy import Policy
from ..rejection import WebSocketRejection
from ._check import CheckGuard
from .base import AnyGuard, Guard, HoldingGuard, is_guard
from .expiry import OnError

Endpoint = TypeVar("Endpoint", bound=Callable[..., Awaitable[Any]])

_guard_numbers = itertools.count()


def ws_guard(
    check: Callable[..., Any] | AnyGuard,
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
    revalidate: float | None = None,
    on_error: OnError = "keep",
    expiry_rejection: WebSocketRejection | None = None,
) -> AnyGuard:
    """A guard that rejects the handshake unless `check` returns something truthy, and returns its value.

    `check` is itself a FastAPI dependency (sync or async; it may take `WebSocket`, `Query`, `Header`,
    `Cookie`, path parameters and other `Depends`) and may raise its own `WebSocketRejection`. A check that
    takes only the connection (or nothing) is called by the guard itself, which costs FastAPI no dependency
    of its own and lets a route served as built check it before FastAPI's solving; an override of it in the
    serving app's `dependency_overrides` still replaces it (an override that needs other parameters is a
    `TypeError`: override the guard instead).

    ```python
    @router.websocket("/ws")
    async def chat(websocket: WebSocket, user: User = Depends(ws_guard(get_user, status_code=401))):
        ...
    ```

    The rejection is `rejection`, or one built from the other keyword arguments (status 403 by default);
    `policy` is how it is sent before accept. With `timeout` (seconds), a check that has not answered in time
    is abandoned and the handshake gets `timeout_rejection` (default 503). The timeout covers the check's own
    body, not its sub-dependencies, and cannot stop a sync check's thread, only stop waiting for it.

    The result is a `Guard`: a check that takes only the connection (`WebSocket` or `HTTPConnection`) also
    works in `all_of` / `any_of` and `WebSocketGuardMiddleware`. Given a guard, `ws_guard` returns it (with
    `timeout`, a guard that times its check); the guard's own `rejection=` and `policy=` configure it.

    After accept: a value with `expires_at` (an aware `datetime` or a Unix time, such as
    `Authenticated.expires_at`) closes the socket then with `expiry_rejection` (default 4401 "credential
    expired"); one already past refuses the handshake. `revalidate` (seconds) re-runs the check while the
    socket is open, with the handshake's headers, query and cookies, and closes it with the refusal's
    `close_code` and `reason`; a check that raises anything else is logged and, by `on_error`, the socket
    kept ("keep") or closed with 1011 ("close"). Only a check that takes just the connection can be re-run.
    """
    fields: dict[str, Any] = {
        "rejection": rejection,
        "status_code": status_code,
        "body": body,
        "headers": headers,
        "media_type": media_type,
        "close_code": close_code,
        "reason": reason,
        "policy": policy,
    }
    if is_guard(check):
        assert isinstance(check, (Guard, HoldingGuard))
        expiry = {"revalidate": revalidate, "on_error": on_error, "expiry_rejection": expiry_rejection}
        return _guard_as_given(check, fields, timeout, timeout_rejection, expiry)
    refusal = _configured_rejection(**{name: value for name, value in fields.items() if name != "policy"})
    return CheckGuard(
        check,
        rejection=refusal,
        policy=policy,
        timeout=timeout,
        timeout_rejection=timeout_rejection,
        revalidate=revalidate,
        on_error=on_error,
        expiry_rejection=expiry_rejection,
    )


def reject_unless(
    check: Callable[..., Any] | AnyGuard,
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
    revalidate: float | None = None,
    on_error: OnError = "keep",
    expiry_rejection: WebSocketRejection | None = None,
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
        revalidate=revalidate,
        on_error=on_error,
        expiry_rejection=expiry_rejection,
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


def _guard_as_given(
    guard: AnyGuard,
    fields: dict[str, Any],
    timeout: float | None,
    timeout_rejection: WebSocketRejection | None,
    expiry: dict[str, Any],
) -> AnyGuard:
    given = sorted(name for name, value in fields.items() if value is not None)
    if given:
        raise TypeError(
            f"ws_guard({guard.name}) got {', '.join(given)}, but a guard brings its own answer; configure the "
            f"guard instead: {guard.name}(..., rejection=WebSocketRejection(...), policy=...)."
        )
    if timeout is None:
        if expiry == {"revalidate": None, "on_error": "keep", "expiry_rejection": None}:
            return guard
        configured = copy.copy(guard)  # the guard may serve other routes as it was configured
        configured.configure_expiry(**expiry)
        return configured
    if isinstance(guard, HoldingGuard):
        raise TypeError(
            f"timeout= times a check; {guard.name} holds a slot while the socket lives and cannot be timed."
        )
    return CheckGuard(
        guard.check,
        rejection=guard.rejection,
        policy=guard.policy,
        timeout=timeout,
        timeout_rejection=timeout_rejection,
        revalidate=guard.revalidate if expiry["revalidate"] is None else expiry["revalidate"],
        on_error=expiry["on_error"],
        expiry_rejection=expiry["expiry_rejection"] or guard.expiry_rejection,
    )


def _configured_rejection(rejection: WebSocketRejection | None, **fields: Any) -> WebSocketRejection:
    given = {name: value for name, value in fields.items() if value is not None}
    if rejection is None:
        return WebSocketRejection(given.pop("status_code", 403), given.pop("body", None), **given)
    if given:
        raise TypeError(
            f"Give either rejection= or its fields, not both (also got {', '.join(sorted(given))}); "
            "put them in the WebSocketRejection."
        )
    return rejection  # its type is checked where every guard's is (`Guard.__init__`)


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
