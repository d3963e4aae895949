"""`IPFilter`: allow or deny client addresses by CIDR range, reading proxy headers only from trusted proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.requests import HTTPConnection

from ..policy import Policy, check_policy
from ..rejection import WebSocketRejection
from .base import Guard

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(name: str, ranges: Iterable[str]) -> tuple[IPNetwork, ...]:
    if isinstance(ranges, str):
        raise TypeError(f"{name} must be a list of addresses or CIDR ranges, not a string; write [{ranges!r}].")
    try:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in ranges)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}; write addresses or CIDR ranges such as '10.0.0.0/8' or '::1'.") from None


class IPFilter(Guard[IPAddress]):
    """Refuse clients in `deny`, and, when `allow` is given, clients outside it (deny wins). Returns the address.

    ```python
    office_only = IPFilter(allow=["10.0.0.0/8", "192.168.1.0/24"], trusted_proxies=["127.0.0.1"])
    ```

    The address is the peer's, unless the peer is in `trusted_proxies`: then it is the nearest address in
    `Forwarded: for=` or `X-Forwarded-For` that is not itself a trusted proxy. Headers from other peers are
    ignored, since anyone can send them. Refuses with 403.
    """

    def __init__(
        self,
        *,
        allow: Iterable[str] = (),
        deny: Iterable[str] = (),
        trusted_proxies: Iterable[str] = (),
        rejection: WebSocketRejection | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.allow = _networks("allow", allow)
        self.deny = _networks("deny", deny)
        self.trusted_proxies = _networks("trusted_proxies", trusted_proxies)
        if not self.allow and not self.deny:
            raise ValueError("IPFilter with neither allow nor deny lets everyone in; give at least one range.")
        self.rejection = rejection or WebSocketRejection(403, "address not allowed")
        self.policy = check_policy(policy)

    async def check(self, connection: HTTPConnection) -> IPAddress:
        address = self.client_address(connection)
        if address is None:
            self.refuse(connection, "no client address")
        if any(address in network for network in self.deny) or (
            self.allow and not any(address in network for network in self.allow)
        ):
            self.refuse(connection, f"address {address} not allowed")
        return address

    def client_address(self, connection: HTTPConnection) -> IPAddress | None:
        peer = _parse(connection.client.host if connection.client else None)
        if peer is None or not self._trusted(peer):
            return peer
        hops = _forwarded_for(connection.headers.get("forwarded")) or [
            hop.strip() for hop in connection.headers.get("x-forwarded-for", "").split(",") if hop.strip()
        ]
        for hop in reversed(hops):
            address = _parse(hop)
            if address is None:
                return None
            if not self._trusted(address):
                return address
        return peer

    def _trusted(self, address: IPAddress) -> bool:
        return any(address in network for network in self.trusted_proxies)


def _parse(value: str | None) -> IPAddress | None:
    if not value:
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _forwarded_for(header: str | None) -> list[str]:
    # RFC 7239: Forwarded: for=192.0.2.43, for="[2001:db8::1]:4711";proto=https
    hops = []
    for element in (header or "").split(","):
        for pair in element.split(";"):
            name, _, value = pair.strip().partition("=")
            if name.lower() == "for":
                value = value.strip('"')
                if value.startswith("["):
                    value = value[1 : value.find("]")]
                elif value.count(":") == 1:
                    value = value.split(":")[0]
                hops.append(value)
    return hops
