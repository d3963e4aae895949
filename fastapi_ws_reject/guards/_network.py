"""`IPGuard`: allow or deny client addresses by CIDR range, reading a proxy header only from trusted proxies."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from starlette.requests import HTTPConnection
from starlette.types import Scope

from .._rejection import WebSocketRejection
from ..policy import Policy
from ._addresses import (
    IPV6_CLIENT_PREFIX,
    IPAddress,
    IPNetwork,
    address,
    client_key,
    ipv6_prefix_length,
    networks,
    within,
)
from ._base import Guard

#: the headers a trusted proxy may write the client's address in, as `proxy_header` names them
PROXY_HEADERS = ("x-forwarded-for", "forwarded")
# RFC 7239 section 6: a port is digits, or "_" and letters for an obfuscated one.
_PORT = re.compile(r":(?:[0-9]{1,5}|_[A-Za-z0-9._-]+)")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


class IPGuard(Guard[IPAddress]):
    """Refuse clients in `deny`, and, when `allow` is given, clients outside it (deny wins). Returns the address.

    ```python
    office_only = IPGuard(allow=["10.0.0.0/8", "192.168.1.0/24"], trusted_proxies=["127.0.0.1"])
    ```

    The client is the peer, unless the peer is in `trusted_proxies`. Then it is read from `proxy_header`, the
    header those proxies write: `"x-forwarded-for"` (the default: what nginx writes and uvicorn reads) or
    `"forwarded"` (RFC 7239 `for=`); the other header is ignored, since a client can send it. Every line of
    the header counts, in order, and the client is the rightmost hop that is not a trusted proxy (the first hop
    when all are). Hops may carry a port (`203.0.113.9:4711`, `[2001:db8::1]:4711`). A hop that is no
    address (`unknown`, `_hidden`, anything unreadable) leaves the client unknown, and an unknown client is
    refused: a hop further left was written by someone no proxy vouches for.

    IPv4-mapped IPv6 addresses (`::ffff:203.0.113.9`, as a dual-stack socket shows IPv4 peers) are IPv4,
    in peers, hops and the configured ranges alike. Refuses with 403.
    """

    def __init__(
        self,
        *,
        allow: Iterable[str] = (),
        deny: Iterable[str] = (),
        trusted_proxies: Iterable[str] = (),
        proxy_header: str = "x-forwarded-for",
        rejection: WebSocketRejection | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.allow: tuple[IPNetwork, ...] = networks("allow", allow)
        self.deny: tuple[IPNetwork, ...] = networks("deny", deny)
        self.trusted_proxies: tuple[IPNetwork, ...] = networks("trusted_proxies", trusted_proxies)
        self.proxy_header: str = _proxy_header(proxy_header)
        if not self.allow and not self.deny:
            raise ValueError("IPGuard with neither allow nor deny lets everyone in; give at least one range.")
        super().__init__(rejection=rejection, policy=policy)

    def make_rejection(self) -> WebSocketRejection:
        return WebSocketRejection(403, "address not allowed")

    async def check(self, connection: HTTPConnection) -> IPAddress:
        client = self.client_address(connection)
        if client is None:
            self.refuse(connection, "no client address")
        if within(client, self.deny) or (self.allow and not within(client, self.allow)):
            self.refuse(connection, f"address {client} not allowed")
        return client

    def client_address(self, connection: HTTPConnection) -> IPAddress | None:
        """The client's address by the rule above, or None when it cannot be told."""
        return _client_address(connection, self.trusted_proxies, self.proxy_header)


def client_host_behind_proxies(
    *, trusted_proxies: Iterable[str], proxy_header: str = "x-forwarded-for", ipv6_prefix: int = IPV6_CLIENT_PREFIX
) -> Callable[[HTTPConnection], str]:
    """A limit key: the client found by `IPGuard`'s rule, for clients behind `trusted_proxies`.

    ```python
    per_client = RateLimitGuard(10, per=60, key=client_host_behind_proxies(trusted_proxies=["10.0.0.0/8"]))
    ```

    Keyed like `client_host`: an IPv4 client by its address, an IPv6 one by its first `ipv6_prefix` bits (its
    /64 by default, `2001:db8:1:2::/64`). Clients whose address cannot be told share the key "unknown": a
    made-up header buys no fresh count.
    """
    proxies = networks("trusted_proxies", trusted_proxies)
    header = _proxy_header(proxy_header)
    prefix = ipv6_prefix_length(ipv6_prefix)

    def client_host(connection: HTTPConnection) -> str:
        client = _client_address(connection, proxies, header)
        return "unknown" if client is None else client_key(client, prefix)

    return client_host


def forwarded_hops(scope: Scope) -> frozenset[IPAddress] | None:
    """The addresses the handshake's `X-Forwarded-For` and `Forwarded` lines name, or None when it has neither
    (read straight from the scope, so that a handshake without them costs one look at its header names)."""
    lines = [(name, value) for name, value in scope["headers"] if name in (b"x-forwarded-for", b"forwarded")]
    if not lines:
        return None
    hops: set[IPAddress] = set()
    for name, value in lines:
        read = _x_forwarded_for if name == b"x-forwarded-for" else _forwarded
        hops.update(hop for hop in read(value.decode("latin-1")) if hop is not None)
    return frozenset(hops)


def _proxy_header(name: str) -> str:
    if not isinstance(name, str) or name.lower() not in PROXY_HEADERS:
        raise ValueError(
            f"proxy_header must be 'x-forwarded-for' or 'forwarded', the one header your trusted proxies write; "
            f"got {name!r}."
        )
    return name.lower()


def _client_address(
    connection: HTTPConnection, trusted_proxies: tuple[IPNetwork, ...], proxy_header: str
) -> IPAddress | None:
    client = address(connection.client.host) if connection.client else None
    if client is None or not within(client, trusted_proxies):
        return client
    read = _x_forwarded_for if proxy_header == "x-forwarded-for" else _forwarded
    # RFC 9110 section 5.3: repeated lines are one list in order; a proxy may append its own line.
    hops = [hop for line in connection.headers.getlist(proxy_header) for hop in read(line)]
    for hop in reversed(hops):
        if hop is None:
            return None
        client = hop
        if not within(hop, trusted_proxies):
            break
    return client


def _x_forwarded_for(line: str) -> list[IPAddress | None]:
    return [_hop(hop) for hop in line.split(",") if hop.strip()]


def _forwarded(line: str) -> list[IPAddress | None]:
    elements = _split_outside_quotes(line, ",")
    if elements is None:  # an open quote would swallow whatever a proxy appended to the line
        return [None]
    return [_forwarded_for(element) for element in elements if element.strip()]


def _forwarded_for(element: str) -> IPAddress | None:
    pairs = [pair.strip().partition("=") for pair in _split_outside_quotes(element, ";") or ()]
    values = [value for name, _, value in pairs if name.lower() == "for"]
    if len(values) != 1:  # RFC 7239 section 4: no for= names no client; two are not allowed
        return None
    quoted = _QUOTED.fullmatch(values[0])
    if quoted:
        return _hop(re.sub(r"\\(.)", r"\1", quoted[1]))
    return None if '"' in values[0] else _hop(values[0])


def _split_outside_quotes(text: str, separator: str) -> list[str] | None:
    parts: list[str] = []
    start, quoted, escaped = 0, False, False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append(text[start:index])
            start = index + 1
    return None if quoted else [*parts, text[start:]]


def _hop(text: str) -> IPAddress | None:
    host = text.strip()
    if host.startswith("["):
        host, bracket, port = host[1:].partition("]")
        if not bracket or (port and not _PORT.fullmatch(port)):
            return None
    elif host.count(":") == 1:  # IPv4 and a port; a bare IPv6 address has two colons or more
        host, port = host.split(":")
        if not _PORT.fullmatch(f":{port}"):
            return None
    return address(host)
