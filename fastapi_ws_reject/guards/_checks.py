"""`ws_guard`, `@reject_unless` and the guard they build, `CheckGuard`: a FastAPI dependency decides, a
rejection answers, with an optional timeout."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import inspect
import itertools
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, WebSocket
from fastapi.concurrency import contextmanager_in_threadpool
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.types import Scope

from .._arguments import check_seconds
from .._compat import dependency_exit_stack, is_async_callable
from .._pipeline.answering import answer_rejections
from .._rejection import WebSocketRejection
from ..policy import Policy
from ._base import AnyGuard, Guard, HoldingGuard, is_guard
from ._expiry import ExpiryOptions, watch_after_handshake
from ._pass_rule import passes

if TYPE_CHECKING:
    from typing_extensions import Unpack

DEFAULT_TIMEOUT_REJECTION = WebSocketRejection(503, "the check did not answer in time")
_ANSWERS = Annotated[None, Depends(answer_rejections)]
_CONNECTION_TYPES = (WebSocket, HTTPConnection)  # what FastAPI injects on a websocket route and the middleware has


class CheckGuard(Guard[Any]):
    """Rejects the handshake unless `check` returns something truthy; its value is the check's.

    A check that takes only the connection (or nothing) is `connection_only`: the guard calls it itself, as any
    `Guard` does, so it costs FastAPI no dependency of its own, a route served as built checks it before
    FastAPI's solving, and it works in `all_of` / `any_of` and the middleware. Through `Depends`, an
    override of the check in the serving app's `dependency_overrides` replaces it, as FastAPI would.
    A check with other parameters is a FastAPI dependency like any other: FastAPI solves its parameters.
    With `timeout`, the guard calls the check itself (FastAPI solving only its parameters) so it can stop
    waiting.
    """

    def __init__(
        self,
        check: Callable[..., Any],
        *,
        rejection: WebSocketRejection,
        policy: Policy | None,
        timeout: float | None,
        timeout_rejection: WebSocketRejection | None,
        **expiry: Unpack[ExpiryOptions],
    ) -> None:
        if not callable(check):
            raise TypeError(f"ws_guard takes a function or a guard, got {check!r}.")
        _check_can_refuse(check, "ws_guard")
        self.call = check
        self.timeout = None if timeout is None else check_seconds("timeout", timeout)
        self.timeout_rejection = timeout_rejection or DEFAULT_TIMEOUT_REJECTION
        parameters = _parameters(check)
        self._check_parameters = list(parameters)
        self._connection_names = [name for name, p in parameters.items() if _is_connection(p.annotation)]
        self.connection_only = not _yields(check) and len(self._connection_names) == len(parameters)
        if expiry.get("revalidate") is not None and not self.connection_only:
            raise TypeError(
                f"revalidate= re-runs {self.name} with the handshake's connection only, but it takes FastAPI "
                "parameters; make the check take just the connection (`websocket: WebSocket`) and read headers, "
                "query and cookies from it."
            )
        super().__init__(rejection=rejection, policy=policy, **expiry)
        self.__signature__ = self._signature_for_fastapi(parameters)

    @property
    def name(self) -> str:
        return f"ws_guard({getattr(self.call, '__name__', type(self.call).__name__)})"

    @property
    def rejections(self) -> tuple[WebSocketRejection, ...]:
        return (self.rejection,) if self.timeout is None else (self.rejection, self.timeout_rejection)

    async def __call__(self, websocket: WebSocket, answers: None = None, **values: Any) -> Any:
        if self.connection_only:
            return await super().__call__(websocket)
        if self.timeout is None:
            value = self._verdict(websocket, values["value"])
        else:
            values["websocket"] = websocket
            arguments = {name: values[name] for name in self._check_parameters}
            value = self._verdict(websocket, await self._timed(websocket, arguments))
        watch_after_handshake(self, websocket, value)
        return value

    async def check(self, connection: HTTPConnection) -> Any:
        if not self.connection_only:
            raise TypeError(f"{self.name} takes FastAPI parameters; only Depends(...) on a route can run it.")
        return self._verdict(
            connection, await self._timed(connection, dict.fromkeys(self._connection_names, connection))
        )

    def check_override(self, scope: Scope) -> Callable[..., Any] | None:
        """What the serving app's `dependency_overrides` puts in place of the check, if anything."""
        overrides: dict[Any, Any] | None = getattr(scope.get("app"), "dependency_overrides", None)
        return overrides.get(self.call) if overrides else None

    async def _recheck_on_route(self, connection: HTTPConnection) -> Any:
        # An override with `yield` is exited when this re-validation ends, not held until the socket does.
        async with contextlib.AsyncExitStack() as stack:
            return await self._check_on_route(connection, stack)

    async def _check_on_route(self, connection: HTTPConnection, stack: contextlib.AsyncExitStack | None = None) -> Any:
        override = self.check_override(connection.scope)
        if override is None:
            return await self.check(connection)
        _check_can_refuse(override, f"The override of {self.name}'s check")
        parameters = _parameters(override)
        names = [name for name, p in parameters.items() if _is_connection(p.annotation)]
        if len(names) != len(parameters):
            raise TypeError(
                f"The override of {self.name}'s check takes parameters besides the connection, which the guard "
                "cannot solve; override the guard itself (app.dependency_overrides[guard] = ...) instead."
            )
        arguments = dict.fromkeys(names, connection)
        if _yields(override):  # run as FastAPI runs a dependency with `yield`: its exit when the handshake ends
            entered = _entered(stack or dependency_exit_stack(connection.scope), override, arguments)
            return self._verdict(connection, await entered, "The override")
        return self._verdict(connection, await self._timed(connection, arguments, override), "The override")

    def _verdict(self, connection: HTTPConnection, value: Any, source: str = "The check") -> Any:
        if passes(value, f"{source} of {self.name}"):
            return value
        self.refuse(connection, "check refused")

    async def _timed(
        self, connection: HTTPConnection, arguments: dict[str, Any], check: Callable[..., Any] | None = None
    ) -> Any:
        check = check or self.call
        call: Callable[..., Awaitable[Any]] = (
            check if is_async_callable(check) else functools.partial(run_in_threadpool, check)
        )
        if self.timeout is None:
            return await call(**arguments)
        try:
            return await asyncio.wait_for(call(**arguments), self.timeout)
        except asyncio.TimeoutError:
            self.refuse(connection, f"check did not answer in {self.timeout:g}s", self.timeout_rejection)

    def _signature_for_fastapi(self, parameters: dict[str, inspect.Parameter]) -> inspect.Signature:
        websocket = inspect.Parameter("websocket", inspect.Parameter.KEYWORD_ONLY, annotation=WebSocket)
        if self.connection_only:
            return inspect.Signature([websocket])
        answers = inspect.Parameter("answers", inspect.Parameter.KEYWORD_ONLY, annotation=_ANSWERS)
        if self.timeout is None:
            value = inspect.Parameter(
                "value", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[Any, Depends(self.call)]
            )
            return inspect.Signature([answers, websocket, value])
        if _yields(self.call):
            raise TypeError(
                "timeout= needs a check that returns its answer; a dependency with `yield` cannot be timed."
            )
        if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters.values()):
            raise TypeError("timeout= needs a check without *args or **kwargs: FastAPI injects named parameters only.")
        if "websocket" in parameters and not _is_connection(parameters["websocket"].annotation):
            raise TypeError("timeout= needs the check's `websocket` parameter to be the WebSocket; rename it.")
        if "answers" in parameters:
            raise TypeError("timeout= needs a check without a parameter named `answers`; rename it.")
        own = [p.replace(kind=p.KEYWORD_ONLY) for p in parameters.values()]
        return inspect.Signature([answers, *own] if "websocket" in parameters else [answers, websocket, *own])


async def _entered(stack: contextlib.AsyncExitStack, function: Callable[..., Any], arguments: dict[str, Any]) -> Any:
    call_method = getattr(type(function), "__call__", None)  # noqa: B004 - the class's, as FastAPI reads it
    if inspect.isasyncgenfunction(function) or inspect.isasyncgenfunction(call_method):
        return await stack.enter_async_context(contextlib.asynccontextmanager(function)(**arguments))
    entered = contextmanager_in_threadpool(contextlib.contextmanager(function)(**arguments))
    return await stack.enter_async_context(entered)


def _check_can_refuse(check: Callable[..., Any], source: str) -> None:
    # A class's instance is true unless the class says otherwise: such a check would let everyone in.
    if inspect.isclass(check) and not any(hasattr(check, name) for name in ("__bool__", "__len__")):
        raise TypeError(
            f"{source} is the class {check.__name__}, whose instances are always true, so it could never refuse; "
            "give it a __bool__ (False refuses), or make the check a function that returns a value or None."
        )


def _parameters(check: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(check, eval_str=True).parameters)


def _is_connection(annotation: Any) -> bool:
    return annotation in _CONNECTION_TYPES


def _yields(check: Callable[..., Any]) -> bool:
    call_method = getattr(type(check), "__call__", None)  # noqa: B004 - the class's, as FastAPI reads it
    return any(inspect.isgeneratorfunction(f) or inspect.isasyncgenfunction(f) for f in (check, call_method))


class CheckOptions(ExpiryOptions, total=False):
    """The keyword arguments of `ws_guard` and `@reject_unless`, besides `ExpiryOptions`."""

    rejection: WebSocketRejection | None
    """The answer when the check fails; or give its fields below (status 403 by default)."""
    status_code: int | None
    body: Any
    headers: Mapping[str, str] | None
    media_type: str | None
    close_code: int | None
    reason: str | None
    policy: Policy | None
    """How the answer is sent before accept ("http", "close", "auto"); None leaves it to the route or app."""
    timeout: float | None
    """Seconds the check may take; then the handshake gets `timeout_rejection` (default 503)."""
    timeout_rejection: WebSocketRejection | None


_REJECTION_FIELDS = ("rejection", "status_code", "body", "headers", "media_type", "close_code", "reason", "policy")


Endpoint = TypeVar("Endpoint", bound=Callable[..., Awaitable[Any]])

_guard_numbers = itertools.count()


def ws_guard(
    check: Callable[..., Any] | AnyGuard,
    **options: Unpack[CheckOptions],
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
    for name in options:
        if name not in CheckOptions.__optional_keys__:
            raise TypeError(f"ws_guard() got an unexpected keyword argument {name!r}")
    given: Mapping[str, Any] = options
    fields = {name: given.get(name) for name in _REJECTION_FIELDS}
    expiry = ExpiryOptions(
        revalidate=options.get("revalidate"),
        on_error=options.get("on_error", "keep"),
        expiry_rejection=options.get("expiry_rejection"),
    )
    timeout, timeout_rejection = options.get("timeout"), options.get("timeout_rejection")
    if is_guard(check):
        assert isinstance(check, (Guard, HoldingGuard))
        return _guard_as_given(check, fields, timeout, timeout_rejection, expiry)
    refusal = _configured_rejection(**{name: value for name, value in fields.items() if name != "policy"})
    return CheckGuard(
        check,
        rejection=refusal,
        policy=options.get("policy"),
        timeout=timeout,
        timeout_rejection=timeout_rejection,
        **expiry,
    )


def reject_unless(
    check: Callable[..., Any] | AnyGuard,
    **options: Unpack[CheckOptions],
) -> Callable[[Endpoint], Endpoint]:
    """`ws_guard` as a decorator: the endpoint runs only when `check` passes. It takes `ws_guard`'s keyword
    arguments (`CheckOptions`).

    Put it below the route decorator, so the route registers the guarded endpoint:

    ```python
    @router.websocket("/admin")
    @reject_unless(is_admin, status_code=403, body="admins only")
    async def admin(websocket: WebSocket):
        ...
    ```

    The endpoint keeps its own parameters; the guard runs before its other dependencies.
    """
    guard = ws_guard(check, **options)

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
    expiry: ExpiryOptions,
) -> AnyGuard:
    given = sorted(name for name, value in fields.items() if value is not None)
    if given:
        raise TypeError(
            f"ws_guard({guard.name}) got {', '.join(given)}, but a guard brings its own answer; configure the "
            f"guard instead: {guard.name}(..., rejection=WebSocketRejection(...), policy=...)."
        )
    if timeout is None:
        if expiry == ExpiryOptions(revalidate=None, on_error="keep", expiry_rejection=None):
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
        revalidate=guard.revalidate if expiry.get("revalidate") is None else expiry.get("revalidate"),
        on_error=expiry.get("on_error", "keep"),
        expiry_rejection=expiry.get("expiry_rejection") or guard.expiry_rejection,
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
