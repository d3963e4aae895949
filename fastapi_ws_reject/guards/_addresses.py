"""IP addresses and ranges as the guards compare them: an IPv4-mapped IPv6 address (how a dual-stack socket
shows an IPv4 peer, RFC 4291 section 2.5.5.2) is the IPv4 address it maps."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: the IPv6 prefix the limit keys count as one client: the smallest block an ISP hands a subscriber (RFC 6177)
IPV6_CLIENT_PREFIX = 64


def networks(name: str, ranges: Iterable[str]) -> tuple[IPNetwork, ...]:
    """The ranges a guard was configured with (`name` is its parameter, for the error message)."""
    if isinstance(ranges, str):
        raise TypeError(f"{name} must be a list of addresses or CIDR ranges, not a string; write [{ranges!r}].")
    try:
        return tuple(_ipv4_if_mapped_network(ipaddress.ip_network(entry, strict=False)) for entry in ranges)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}; write addresses or CIDR ranges such as '10.0.0.0/8' or '::1'.") from None


def address(text: str) -> IPAddress | None:
    """`text` as an IP address, an IPv4-mapped one as IPv4; None when it is no address."""
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


def ipv6_prefix_length(value: object) -> int:
    """`value`, checked as the `ipv6_prefix=` of a limit key: a whole number of bits from 1 to 128."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 128:
        raise ValueError(
            f"ipv6_prefix must be a whole number from 1 to 128, the bits of an IPv6 address that name one client; "
            f"got {value!r}. Write 64 (the default: a subscriber's smallest block), 56 or 48 to count a whole site "
            f"as one client, 128 to count each address."
        )
    return value


def client_key(client: IPAddress, ipv6_prefix: int) -> str:
    """The limit key of `client`: an IPv4 address as itself (`203.0.113.9`), an IPv6 one as its network of
    `ipv6_prefix` bits, written canonically and without a zone (`2001:db8:1:2::/64`)."""
    if isinstance(client, ipaddress.IPv4Address):
        return str(client)
    kept = ((1 << ipv6_prefix) - 1) << (128 - ipv6_prefix)
    return f"{ipaddress.IPv6Address(int(client) & kept)}/{ipv6_prefix}"


def _ipv4_if_mapped_network(network: IPNetwork) -> IPNetwork:
    mapped = network.network_address.ipv4_mapped if isinstance(network, ipaddress.IPv6Network) else None
    if mapped is None or network.prefixlen < 96:
        return network
    return ipaddress.IPv4Network((mapped, network.prefixlen - 96))


def within(candidate: IPAddress, ranges: Iterable[IPNetwork]) -> bool:
    return any(candidate in network for network in ranges)
