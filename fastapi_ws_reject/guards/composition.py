"""`all_of` and `any_of`: one guard made of several, answering with the first failing guard's rejection."""

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import WebSocket
from starlette.requests import HTTPConnection

from ..rejection import WebSocketRejection
from .base import Guard


def _check_safe(guards: tuple[Guard[Any], ...]) -> None:
    from .origin import OriginGuard

    any_origin = any(isinstance(guard, OriginGuard) and guard.any_origin for guard in guards)
    cookies = any(getattr(guard, "reads_cookies", False) for guard in guards)
    if any_origin and cookies:
        raise ValueError(
            "An OriginGuard that allows '*' beside a guard that reads cookies lets any site use your users' "
            "cookies (Cross-Site WebSocket Hijacking); list your origins instead of '*'."
        )


class _Composite(Guard[Any]):
    def __init__(self, guards: tuple[Guard[Any], ...]) -> None:
        if not guards or not all(isinstance(guard, Guard) for guard in guards):
            raise TypeError("Compose guards of this library (OriginGuard, BearerToken, RateLimit...), at least one.")
        _check_safe(guards)
        self.guards = guards
        self.rejection = guards[0].rejection

    @property
    def name(self) -> str:
        return f"{type(self).__name__}({', '.join(guard.name for guard in self.guards)})"

    @property
    def reads_cookies(self) -> bool:
        return any(getattr(guard, "reads_cookies", False) for guard in self.guards)

    async def __call__(self, websocket: WebSocket) -> AsyncIterator[Any]:  # type: ignore[override]
        async with self.hold(websocket) as value:
            yield value

    async def check(self, connection: HTTPConnection) -> Any:
        async with self.hold(connection) as value:
            return value


class all_of(_Composite):  # noqa: N801 - reads as a function, like FastAPI's `Depends`
    """Every guard must pass, in order; the value is the tuple of their values.

    ```python
    Depends(all_of(OriginGuard([...], allow_missing=False), BearerToken(verify), RateLimit(10, per=60)))
    ```
    """

    def __init__(self, *guards: Guard[Any]) -> None:
        super().__init__(guards)

    @contextlib.asynccontextmanager
    async def hold(self, connection: HTTPConnection) -> AsyncIterator[tuple[Any, ...]]:
        async with contextlib.AsyncExitStack() as held:
            yield tuple([await held.enter_async_context(guard.hold(connection)) for guard in self.guards])


class any_of(_Composite):  # noqa: N801
    """The first guard that passes gives the value; when none does, the first guard's rejection answers.

    ```python
    Depends(any_of(BearerToken(verify_user), APIKey(verify_service)))
    ```
    """

    def __init__(self, *guards: Guard[Any]) -> None:
        super().__init__(guards)

    @contextlib.asynccontextmanager
    async def hold(self, connection: HTTPConnection) -> AsyncIterator[Any]:
        first: WebSocketRejection | None = None
        for guard in self.guards:
            try:
                held = guard.hold(connection)
                value = await held.__aenter__()
            except WebSocketRejection as rejection:
                rejection.__traceback__ = None
                first = first or rejection
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
