"""`SecuritySchemeGuard`: FastAPI's own security schemes (`HTTPBearer`, `APIKeyHeader`, `OAuth2PasswordBearer`...)
on websocket routes.

Before FastAPI 0.144 a scheme's `__call__` takes a `Request`, which FastAPI does not inject on a websocket route,
so the scheme fails there with a `TypeError`; the guard calls it with the handshake's connection. From FastAPI
0.144 it takes an `HTTPConnection`, which FastAPI injects on websocket routes too; the guard then adds this
library's answer to its refusal (401 with the scheme's challenge, under the route's policy, one log line) and
refuses the `None` of `auto_error=False`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi.openapi.models import APIKey, APIKeyIn
from fastapi.security.api_key import APIKeyBase
from fastapi.security.http import HTTPBasic, HTTPDigest
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from .._rejection import WebSocketRejection
from ..policy import Policy
from ._base import Guard

T = TypeVar("T")


class SecuritySchemeGuard(Guard[T]):
    """Run a FastAPI security scheme on a websocket handshake; its value goes to the endpoint.

    ```python
    bearer = SecuritySchemeGuard(HTTPBearer())

    @router.websocket("/ws")
    async def ws(websocket: WebSocket, credentials: Annotated[HTTPAuthorizationCredentials, Depends(bearer)]):
        ...
    ```

    When the scheme refuses (or, with `auto_error=False`, finds nothing) the handshake gets 401 with the
    scheme's `WWW-Authenticate` challenge.
    """

    def __init__(
        self,
        scheme: Callable[[Any], Awaitable[T | None]],
        *,
        rejection: WebSocketRejection | None = None,
        policy: Policy | None = None,
    ) -> None:
        if not callable(scheme):
            raise TypeError(f"SecuritySchemeGuard takes a FastAPI security scheme (HTTPBearer()...), got {scheme!r}.")
        self.scheme = scheme
        super().__init__(rejection=rejection, policy=policy)

    def make_rejection(self) -> WebSocketRejection:
        return WebSocketRejection(
            401, {"detail": "Not authenticated"}, headers={"WWW-Authenticate": _challenge(self.scheme)}
        )

    @property
    def name(self) -> str:
        return f"SecuritySchemeGuard({type(self.scheme).__name__})"

    @property
    def reads_cookies(self) -> bool:
        """Whether the scheme reads a cookie (`APIKeyCookie`), which browsers send from any site's page.

        ```python
        assert SecuritySchemeGuard(APIKeyCookie(name="session")).reads_cookies
        ```
        """
        # Every FastAPI version declares where an API key is read in the scheme's OpenAPI model.
        model = getattr(self.scheme, "model", None)
        return isinstance(model, APIKey) and model.in_ == APIKeyIn.cookie

    async def check(self, connection: HTTPConnection) -> T:
        try:
            value = await self.scheme(connection)
        except HTTPException as exc:
            self.refuse(connection, f"{type(self.scheme).__name__}: {exc.detail}")
        if value is None:
            self.refuse(connection, f"{type(self.scheme).__name__} found no credentials")
        return value


def _challenge(scheme: object) -> str:
    if isinstance(scheme, HTTPBasic):
        return f'Basic realm="{scheme.realm}"' if scheme.realm else "Basic"
    if isinstance(scheme, HTTPDigest):
        return "Digest"
    if isinstance(scheme, APIKeyBase):
        return "APIKey"
    return "Bearer"  # HTTPBearer, OAuth2 and OpenID Connect schemes carry bearer tokens
