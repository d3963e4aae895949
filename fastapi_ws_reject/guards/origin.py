"""`OriginGuard`: refuse handshakes from pages on other sites (Cross-Site WebSocket Hijacking).

Browsers send cookies with a websocket handshake from any page, and FastAPI's CORSMiddleware does not
apply to websockets, so a cookie-authenticated socket must check `Origin` itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from ..policy import Policy, check_policy
from ..rejection import WebSocketRejection
from .base import Guard

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_SUBDOMAIN = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")


@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, value: str) -> _Origin | None:
        """An `Origin` header as RFC 6454 serialises it (scheme://host[:port]), or None for anything else."""
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            return None
        scheme, host = parts.scheme.lower(), (parts.hostname or "")
        if scheme not in ("http", "https") or not host or parts.username or parts.password:
            return None
        if parts.path or parts.query or parts.fragment or value.endswith("?") or value.endswith("#"):
            return None
        return cls(scheme, host.lower(), port if port is not None else DEFAULT_PORTS[scheme])


@dataclass(frozen=True)
class _Pattern:
    scheme: str
    suffix: str  # ".example.com" for "*.example.com", else the exact host
    wildcard: bool
    port: int

    @classmethod
    def parse(cls, allowed: str) -> _Pattern:
        wildcard = "://*." in allowed
        origin = _Origin.parse(allowed.replace("://*.", "://wildcard.", 1) if wildcard else allowed)
        if origin is None:
            raise ValueError(
                f"{allowed!r} is not an origin; write scheme://host[:port] with no path, such as "
                "'https://example.com', 'http://localhost:3000' or 'https://*.example.com'."
            )
        host = origin.host.removeprefix("wildcard") if wildcard else origin.host
        if wildcard and host.count(".") < 2:
            raise ValueError(
                f"{allowed!r} matches every host under a top-level domain; name the site: 'https://*.example.com'."
            )
        if "*" in host:
            raise ValueError(f"{allowed!r} has a '*' that is not a leading '*.' label; use 'https://*.example.com'.")
        return cls(origin.scheme, host, wildcard, origin.port)

    def matches(self, origin: _Origin) -> bool:
        if (origin.scheme, origin.port) != (self.scheme, self.port):
            return False
        if self.wildcard:
            return origin.host.endswith(self.suffix) and bool(_SUBDOMAIN.fullmatch(origin.host[: -len(self.suffix)]))
        return origin.host == self.suffix


class OriginGuard(Guard["str | None"]):
    """Allow handshakes whose `Origin` is listed (or, with `same_origin`, is the server's own host).

    ```python
    origins = OriginGuard(["https://app.example.com", "https://*.example.com"], allow_missing=False)

    @router.websocket("/ws", dependencies=[Depends(origins)])
    async def ws(websocket: WebSocket): ...
    ```

    Scheme and port must match exactly (a missing port is the scheme's default); `*.` matches one or
    more subdomain labels, never the bare domain and never `example.com.evil.test`. `allow_missing`
    is required: a handshake without `Origin` comes from a non-browser client (`True` lets those in,
    `False` refuses them). `"*"` allows any origin, for endpoints that do not use cookies.
    Refuses with 403 (`rejection` overrides); the log line names the refused origin. Returns the origin.
    """

    def __init__(
        self,
        allowed: Iterable[str] = (),
        *,
        allow_missing: bool,
        same_origin: bool = False,
        rejection: WebSocketRejection | None = None,
        policy: Policy | None = None,
    ) -> None:
        if isinstance(allowed, str):
            raise TypeError(f"allowed must be a list of origins, not a string; write [{allowed!r}].")
        entries = list(allowed)
        self.any_origin = "*" in entries
        self.patterns = [_Pattern.parse(entry) for entry in entries if entry != "*"]
        if not entries and not same_origin:
            raise ValueError("OriginGuard allows no origin; list origins, or set same_origin=True.")
        self.allow_missing = allow_missing
        self.same_origin = same_origin
        self.rejection = rejection or WebSocketRejection(403, "origin not allowed")
        self.policy = check_policy(policy)

    async def check(self, connection: HTTPConnection) -> str | None:
        value = connection.headers.get("origin")
        if value is None:
            if self.allow_missing:
                return None
            self.refuse(connection, "no Origin header")
        if self.any_origin:
            return value
        origin = _Origin.parse(value)
        if origin is not None and (
            any(pattern.matches(origin) for pattern in self.patterns)
            or (self.same_origin and _is_same_origin(origin, connection))
        ):
            return value
        self.refuse(connection, f"origin {value!r} not allowed")


def _is_same_origin(origin: _Origin, connection: HTTPConnection) -> bool:
    host = connection.headers.get("host")
    if host is None:
        return False
    secure = connection.url.scheme in ("wss", "https")
    server = _Origin.parse(f"{'https' if secure else 'http'}://{host}")
    return server is not None and (origin.host, origin.port) == (server.host, server.port)
