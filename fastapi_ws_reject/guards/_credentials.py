"""`BearerTokenGuard` and `APIKeyGuard`: a credential from a header, the query, a cookie or `Sec-WebSocket-Protocol`.

Browsers cannot set `Authorization` on `new WebSocket(url)`, so a token travels in the query string,
a cookie, or as a subprotocol: `new WebSocket(url, ["chat", "bearer", token])`, the entry after the
marker ("bearer") being the token. The server must then accept one of the offered subprotocols other
than the token: the guard's `subprotocol` is that choice, to pass to `websocket.accept(subprotocol=...)`.
"""

from __future__ import annotations

import hmac
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

from starlette.requests import HTTPConnection

from .._rejection import WebSocketRejection
from ..policy import Policy
from ._base import Guard
from ._expiry import ExpiryOptions, expires_at_of, has_expired
from ._pass_rule import passes
from ._subprotocols import offered_subprotocols

if TYPE_CHECKING:
    from typing_extensions import Unpack

P = TypeVar("P")
Source = Literal["header", "query", "cookie", "subprotocol"]
SOURCES: tuple[Source, ...] = ("header", "query", "cookie", "subprotocol")


@dataclass(frozen=True)
class Authenticated(Generic[P]):
    """Who connected (`principal`, what the verifier returned), how, and the subprotocol to accept.

    ```python
    async def chat(websocket: WebSocket, auth: Annotated[Authenticated[User], Depends(bearer)]):
        await websocket.accept(subprotocol=auth.subprotocol)  # None unless the token came as a subprotocol
    ```

    `source` is where the credential was found: "header", "query", "cookie" or "subprotocol".
    `expires_at` is the principal's own `expires_at` when it has one (an aware `datetime` or a Unix time):
    the accepted socket is closed then (4401 "credential expired" unless the guard says otherwise).
    """

    principal: P
    source: Source
    subprotocol: str | None = None
    expires_at: datetime | float | None = field(default=None, repr=False)  # repr as before it existed


def constant_time_lookup(secrets: Mapping[str, P]) -> Callable[[str], P | None]:
    """A verifier for static secrets that compares every one in constant time (`hmac.compare_digest`).

    ```python
    api_key = APIKeyGuard(constant_time_lookup({"k-123": "billing-service"}))
    ```

    It returns the principal of the secret given, or None; every secret is compared, whichever matches.
    """
    if not secrets:
        raise ValueError("constant_time_lookup needs at least one secret.")
    pairs = [(secret.encode(), principal) for secret, principal in secrets.items()]

    def lookup(credential: str) -> P | None:
        found = None
        given = credential.encode()
        for secret, principal in pairs:
            if hmac.compare_digest(secret, given):
                found = principal
        return found

    return lookup


class _CredentialGuard(Guard[Authenticated[P]]):
    # Each kind of credential names its scheme and where it is found by default.
    scheme: str
    header: str
    query: str
    cookie: str
    subprotocol_marker: str

    def __init__(
        self,
        verify: Callable[[str], P | None | Awaitable[P | None]],
        *,
        sources: Iterable[Source] = ("header",),
        header: str | None = None,
        query: str | None = None,
        cookie: str | None = None,
        subprotocol_marker: str | None = None,
        accept_subprotocols: Iterable[str] = (),
        realm: str | None = None,
        rejection: WebSocketRejection | None = None,
        policy: Policy | None = None,
        **expiry: Unpack[ExpiryOptions],
    ) -> None:
        self.sources: tuple[Source, ...] = tuple(sources)
        unknown = set(self.sources) - set(SOURCES)
        if not self.sources or unknown:
            raise ValueError(f"sources must be some of {', '.join(SOURCES)}; got {list(self.sources)}.")
        self.verify = verify
        self.header = (header or self.header).lower()
        self.query = query or self.query
        self.cookie = cookie or self.cookie
        self.subprotocol_marker = subprotocol_marker or self.subprotocol_marker
        self.accept_subprotocols: tuple[str, ...] = tuple(accept_subprotocols)
        self.realm = realm
        super().__init__(rejection=rejection, policy=policy, **expiry)
        self._invalid = rejection or self._unauthorized("invalid_token")

    def make_rejection(self) -> WebSocketRejection:
        return self._unauthorized(None)

    @property
    def reads_cookies(self) -> bool:
        return "cookie" in self.sources

    @property
    def rejections(self) -> tuple[WebSocketRejection, ...]:
        # No credential, then a credential the verifier refused (one answer when `rejection=` set both).
        return (self.rejection,) if self._invalid is self.rejection else (self.rejection, self._invalid)

    async def check(self, connection: HTTPConnection) -> Authenticated[P]:
        found = self._credential(connection)
        if found is None:
            self.refuse(connection, f"no {self.scheme} credential")
        credential, source = found
        verified = self.verify(credential)
        principal: P | None = await verified if inspect.isawaitable(verified) else verified
        if not passes(principal, f"{self.name}'s verify"):
            self.refuse(connection, f"invalid {self.scheme} credential from {source}", self._invalid)
        expires_at = expires_at_of(principal)
        if has_expired(expires_at):
            # RFC 6750 section 3.1: an expired token is an invalid_token.
            self.refuse(connection, f"expired {self.scheme} credential from {source}", self._invalid)
        subprotocol = self._subprotocol(connection) if source == "subprotocol" else None
        return Authenticated(principal, source, subprotocol, expires_at)

    def _credential(self, connection: HTTPConnection) -> tuple[str, Source] | None:
        for source in self.sources:
            credential = self._read(connection, source)
            if credential:
                return credential, source
        return None

    def _read(self, connection: HTTPConnection, source: Source) -> str | None:
        if source == "query":
            return connection.query_params.get(self.query)
        if source == "cookie":
            return connection.cookies.get(self.cookie)
        if source == "subprotocol":
            offered = offered_subprotocols(connection)
            if self.subprotocol_marker in offered[:-1]:
                return offered[offered.index(self.subprotocol_marker) + 1]
            return None
        return self._from_header(connection.headers.get(self.header))

    def _from_header(self, value: str | None) -> str | None:
        return value

    def _subprotocol(self, connection: HTTPConnection) -> str:
        offered = offered_subprotocols(connection)
        return next((name for name in self.accept_subprotocols if name in offered), self.subprotocol_marker)

    def _unauthorized(self, error: str | None) -> WebSocketRejection:
        # RFC 6750 section 3: a challenge on every 401; error="invalid_token" once a credential was given.
        params = [f'realm="{self.realm}"'] if self.realm else []
        if error:
            params.append(f'error="{error}"')
        challenge = self.scheme + (" " + ", ".join(params) if params else "")
        return WebSocketRejection(401, {"detail": "Not authenticated"}, headers={"WWW-Authenticate": challenge})


class BearerTokenGuard(_CredentialGuard[P]):
    """A bearer token (RFC 6750), checked by `verify(token)`, which returns the principal or None.

    ```python
    bearer = BearerTokenGuard(verify_jwt, sources=("header", "subprotocol"))

    @router.websocket("/ws")
    async def ws(websocket: WebSocket, auth: Annotated[Authenticated[User], Depends(bearer)]):
        await websocket.accept(subprotocol=auth.subprotocol)
    ```

    `verify` may be async, or sync if it is quick (it runs on the event loop); `constant_time_lookup({...})`
    makes one for static tokens. Sources are tried in order: `Authorization: Bearer <token>`, the
    `access_token` query parameter (RFC 6750 section 2.3), the `access_token` cookie, the subprotocol after
    "bearer" (`query=`, `cookie=`, `subprotocol_marker=` rename them). Missing or invalid: 401 with
    `WWW-Authenticate: Bearer` (plus `error="invalid_token"` when one was given).
    """

    scheme = "Bearer"
    header = "authorization"
    query = "access_token"
    cookie = "access_token"
    subprotocol_marker = "bearer"

    def _from_header(self, value: str | None) -> str | None:
        scheme, _, token = (value or "").partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None


class APIKeyGuard(_CredentialGuard[P]):
    """An API key, checked by `verify(key)`, which returns the principal or None.

    ```python
    api_key = APIKeyGuard(constant_time_lookup({"k-123": "billing-service"}), sources=("header", "query"))
    ```

    Sources are tried in order: the `X-API-Key` header, the `api_key` query parameter, the `api_key`
    cookie, the subprotocol after "apikey" (`header=`, `query=`, `cookie=`, `subprotocol_marker=` rename
    them). Missing or invalid: 401 with `WWW-Authenticate: APIKey`.
    """

    scheme = "APIKey"
    header = "x-api-key"
    query = "api_key"
    cookie = "api_key"
    subprotocol_marker = "apikey"
