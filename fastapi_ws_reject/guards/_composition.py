"""`all_of` and `any_of`: one guard made of several."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import Any

from starlette.requests import HTTPConnection

from .._rejection import WebSocketRejection
from ._base import AnyGuard, Guard, HoldingGuard, _admitted, hold, is_guard


def all_of(*guards: AnyGuard) -> AnyGuard:
    """One guard: every guard must pass, in order; the value is the tuple of their values.

    ```python
    Depends(all_of(OriginGuard([...], allow_missing=False), BearerTokenGuard(verify), RateLimitGuard(10, per=60)))
    ```

    The first guard that refuses answers with its own rejection, and the guards after it do not run.
    """
    checked = _composable("all_of", guards)
    return _HoldingAllOf(checked) if _holds(checked) else _AllOf(checked)


def any_of(*guards: AnyGuard) -> AnyGuard:
    """One guard: the first guard that passes gives the value; when none does, the first guard's refusal answers.

    ```python
    Depends(any_of(BearerTokenGuard(verify_user), APIKeyGuard(verify_service)))
    ```

    A guard that refused leaves nothing behind: only the refusal that is sent (or none) reaches the log.
    """
    checked = _composable("any_of", guards)
    for guard in checked:
        if guard.limits_messages:
            raise TypeError(
                f"any_of() cannot run {guard.name}: it lets every handshake in, so any_of would stop at it, and "
                "a member that passes before it would skip its message limit. Put the message limit beside the "
                "any_of: Depends(all_of(any_of(...), MessageLimitGuard(...))) or a Depends of its own."
            )
    return _HoldingAnyOf(checked) if _holds(checked) else _AnyOf(checked)


def _composable(name: str, guards: tuple[Any, ...]) -> tuple[AnyGuard, ...]:
    if not guards:
        raise TypeError(f"{name}() needs at least one guard.")
    for guard in guards:
        if not is_guard(guard):
            raise TypeError(
                f"{name}() composes guards (OriginGuard, BearerTokenGuard, RateLimitGuard, ws_guard(check)...), "
                f"got {guard!r}; wrap a plain function in ws_guard(...) first."
            )
        if not guard.connection_only:
            raise TypeError(
                f"{name}() cannot run {guard.name}: its check takes FastAPI parameters that only a route can "
                "solve; give it to the route with Depends(...) instead, or make the check take only the connection."
            )
    _check_safe(guards)
    return guards


def _holds(guards: tuple[AnyGuard, ...]) -> bool:
    return any(isinstance(guard, HoldingGuard) for guard in guards)


def _check_safe(guards: tuple[AnyGuard, ...]) -> None:
    from ._origin import OriginGuard

    any_origin = any(isinstance(guard, OriginGuard) and guard.any_origin for guard in guards)
    if any_origin and any(guard.reads_cookies for guard in guards):
        raise ValueError(
            "An OriginGuard that allows '*' beside a guard that reads cookies lets any site use your users' "
            "cookies (Cross-Site WebSocket Hijacking); list your origins instead of '*'."
        )


class _Composite:
    guards: tuple[AnyGuard, ...]
    label: str

    @property
    def name(self) -> str:
        return f"{self.label}({', '.join(guard.name for guard in self.guards)})"

    @property
    def reads_cookies(self) -> bool:
        return any(guard.reads_cookies for guard in self.guards)

    @property
    def limits_messages(self) -> bool:
        return any(guard.limits_messages for guard in self.guards)

    @property
    def rejections(self) -> tuple[WebSocketRejection, ...]:
        return tuple(dict.fromkeys(rejection for guard in self.guards for rejection in guard.rejections))


@contextlib.asynccontextmanager
async def _all(
    guards: tuple[AnyGuard, ...], connection: HTTPConnection, on_route: bool = False
) -> AsyncGenerator[tuple[Any, ...], None]:
    async with contextlib.AsyncExitStack() as held:
        yield tuple([await held.enter_async_context(hold(guard, connection, on_route=on_route)) for guard in guards])


@contextlib.asynccontextmanager
async def _any(
    guards: tuple[AnyGuard, ...], connection: HTTPConnection, on_route: bool = False, watched: bool = True
) -> AsyncGenerator[Any, None]:
    first: WebSocketRejection | None = None
    for guard in guards:
        held = hold(guard, connection, on_route=on_route, watched=watched)
        try:
            value = await held.__aenter__()
        except WebSocketRejection as refusal:
            first = first or refusal
            continue
        try:
            yield value
        except BaseException as exc:
            if not await held.__aexit__(type(exc), exc, exc.__traceback__):
                raise
        else:
            await held.__aexit__(None, None, None)
        return
    assert first is not None
    raise first


class _AllOf(_Composite, Guard[tuple[Any, ...]]):
    label = "all_of"

    def __init__(self, guards: tuple[AnyGuard, ...]) -> None:
        self.guards = guards
        super().__init__(rejection=guards[0].rejection)

    async def check(self, connection: HTTPConnection) -> tuple[Any, ...]:
        return await self._values(connection, watched=False)

    async def _admit(self, connection: HTTPConnection, *, on_route: bool = False) -> tuple[Any, ...]:
        # Each member admitted as itself: its expiry and re-validation watched, as with Depends(member).
        return await self._values(connection, on_route=on_route)

    async def _values(
        self, connection: HTTPConnection, *, on_route: bool = False, watched: bool = True
    ) -> tuple[Any, ...]:
        values: list[Any] = []
        for guard in self.guards:
            assert isinstance(guard, Guard)
            values.append(await _admitted(guard, connection, on_route=on_route, watched=watched))
        return tuple(values)


class _AnyOf(_Composite, Guard[Any]):
    label = "any_of"

    def __init__(self, guards: tuple[AnyGuard, ...]) -> None:
        self.guards = guards
        super().__init__(rejection=guards[0].rejection)

    async def check(self, connection: HTTPConnection) -> Any:
        async with _any(self.guards, connection, watched=False) as value:
            return value

    async def _admit(self, connection: HTTPConnection, *, on_route: bool = False) -> Any:
        async with _any(self.guards, connection, on_route) as value:  # the member that passes is watched
            return value


class _HoldingAllOf(_Composite, HoldingGuard[tuple[Any, ...]]):
    label = "all_of"

    def __init__(self, guards: tuple[AnyGuard, ...]) -> None:
        self.guards = guards
        super().__init__(rejection=guards[0].rejection)

    def hold(self, connection: HTTPConnection) -> contextlib.AbstractAsyncContextManager[tuple[Any, ...]]:
        return _all(self.guards, connection)  # each member watched as itself


class _HoldingAnyOf(_Composite, HoldingGuard[Any]):
    label = "any_of"

    def __init__(self, guards: tuple[AnyGuard, ...]) -> None:
        self.guards = guards
        super().__init__(rejection=guards[0].rejection)

    def hold(self, connection: HTTPConnection) -> contextlib.AbstractAsyncContextManager[Any]:
        return _any(self.guards, connection)
