"""Attacks on the limits' client keys: a client that tries to split its bucket, run in process with TestClient.

An IPv6 client holds at least a /64 (2^64 addresses), so a per-address key does not limit it: the keys count an
IPv6 client by its prefix (/64 unless told otherwise) and an IPv4 client by its address. Each test is a way to
spell or pick an address so as to get a fresh count, or the rule that defeats it.
"""

from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, WebSocket
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.testclient import httpx as testclient_httpx  # httpx or httpx2, whichever TestClient runs on
from starlette.types import Receive, Scope, Send

from fastapi_ws_reject import Guard, RejectingRouter
from fastapi_ws_reject.guards import HoldingGuard
from fastapi_ws_reject.guards._limits import ConnectionLimitGuard, Key, RateLimitGuard, client_host, client_prefix
from fastapi_ws_reject.guards._network import client_host_behind_proxies

PROXY = "127.0.0.1"
Headers = list[tuple[str, str]]


class Server:
    """An app whose /ws sends the key `guard` returned and waits for the client's word; `at(peer)` reaches it
    from `peer`, the address a server would put in the scope (None: no client)."""

    def __init__(self, guard: Guard[str] | HoldingGuard[str]) -> None:
        router = RejectingRouter()

        @router.websocket("/ws")
        async def answer(websocket: WebSocket, key: Annotated[str, Depends(guard)]) -> None:
            await websocket.accept()
            await websocket.send_text(key)
            await websocket.receive_text()
            await websocket.close()

        self.app = FastAPI()
        self.app.include_router(router)

    def at(self, peer: str | None) -> TestClient:
        async def from_peer(scope: Scope, receive: Receive, send: Send) -> None:
            await self.app({**scope, "client": None if peer is None else (peer, 50000)}, receive, send)

        return TestClient(from_peer)

    def key(self, peer: str | None, headers: Headers | None = None) -> str:
        """The key of a handshake from `peer`, which must be let in."""
        with self.at(peer).websocket_connect("/ws", headers=testclient_httpx.Headers(headers or [])) as websocket:
            key: str = websocket.receive_text()
            websocket.send_text("bye")
        return key

    def refused(self, peer: str | None, headers: Headers | None = None) -> None:
        """A handshake from `peer` is refused with 429."""
        with (
            pytest.raises(WebSocketDenialResponse) as denial,
            self.at(peer).websocket_connect("/ws", headers=testclient_httpx.Headers(headers or [])),
        ):
            pass  # pragma: no cover
        assert denial.value.status_code == 429


def one_per_minute(key: Key = client_host) -> Server:
    return Server(RateLimitGuard(1, per=60, key=key))


# 1. An IPv6 client is its /64: the addresses it holds share one count.


def test_two_addresses_of_one_64_share_a_bucket() -> None:
    server = one_per_minute()
    assert server.key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    server.refused("2001:db8:1:2:ffff:ffff:ffff:fffe")


def test_two_64s_have_their_own_buckets() -> None:
    server = one_per_minute()
    assert server.key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert server.key("2001:db8:1:3::1") == "2001:db8:1:3::/64"
    server.refused("2001:db8:1:3::abcd")


def test_a_connection_limit_counts_a_64_as_one_client() -> None:
    server = Server(ConnectionLimitGuard(1))
    with server.at("2001:db8:1:2::1").websocket_connect("/ws") as first:
        assert first.receive_text() == "2001:db8:1:2::/64"
        with (
            pytest.raises(WebSocketDenialResponse) as denial,
            server.at("2001:db8:1:2::2").websocket_connect("/ws"),
        ):
            pass  # pragma: no cover
        assert denial.value.status_code == 429
        assert server.key("2001:db8:1:3::1") == "2001:db8:1:3::/64"  # another /64: its own slots
        first.send_text("bye")
    assert server.key("2001:db8:1:2::2") == "2001:db8:1:2::/64"  # the slot came back


# 2. Other spellings of the same address, or of the same network, get no fresh count.


@pytest.mark.parametrize(
    "spelling",
    [
        "2001:DB8:1:2::1",  # upper case
        "2001:0db8:0001:0002:0000:0000:0000:0001",  # leading zeros, nothing compressed
        "2001:db8:1:2:0:0:0:1",
        "2001:db8:1:2::0.0.0.1",  # the low 32 bits written as IPv4
        "2001:db8:1:2::1%eth0",  # a zone id
        "2001:db8:1:2::1%25eth0",  # the zone id as a URI writes it (RFC 6874)
    ],
)
def test_another_spelling_of_the_address_shares_its_bucket(spelling: str) -> None:
    server = one_per_minute()
    assert server.key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    server.refused(spelling)


def test_a_zone_id_is_no_part_of_the_key() -> None:
    server = one_per_minute()
    assert server.key("fe80::1%eth0") == "fe80::/64"
    server.refused("fe80::2%eth1")
    server.refused("fe80::3")


def test_a_mapped_ipv4_peer_shares_the_bucket_of_its_ipv4_address() -> None:
    server = one_per_minute()
    assert server.key("::ffff:203.0.113.9") == "203.0.113.9"
    server.refused("203.0.113.9")
    server.refused("::FFFF:203.0.113.9")
    server.refused("::ffff:cb00:7109")  # the same address in hex
    server.refused("0:0:0:0:0:ffff:203.0.113.9%eth0")


def test_ipv4_clients_are_keyed_by_their_address() -> None:
    server = one_per_minute()
    assert server.key("203.0.113.9") == "203.0.113.9"
    assert server.key("203.0.113.10") == "203.0.113.10"  # a /24 neighbour is another client
    server.refused("203.0.113.10")


def test_an_address_with_ipv4_inside_is_keyed_as_ipv6_whatever_its_spelling() -> None:
    # NAT64 (64:ff9b::/96) and IPv4-compatible addresses are IPv6 addresses: keyed by their /64, never as the
    # IPv4 address they carry, however they are written.
    server = one_per_minute()
    assert server.key("64:ff9b::198.51.100.7") == "64:ff9b::/64"
    server.refused("64:ff9b::c633:6407")
    server.refused("64:FF9B:0:0:0:0:203.0.113.9")
    assert server.key("198.51.100.7") == "198.51.100.7"  # the IPv4 address itself is another client
    assert server.key("::198.51.100.7") == "::/64"


# 3. The prefix can be chosen.


def test_a_56_prefix_counts_a_whole_56_as_one_client() -> None:
    server = one_per_minute(client_prefix(ipv6_prefix=56))
    assert server.key("2001:db8:1:200::1") == "2001:db8:1:200::/56"
    server.refused("2001:db8:1:2ff:ffff::1")
    assert server.key("2001:db8:1:300::1") == "2001:db8:1:300::/56"
    assert server.key("203.0.113.9") == "203.0.113.9"  # IPv4 is still the address
    server.refused("::ffff:203.0.113.9")


def test_a_128_prefix_counts_each_address() -> None:
    server = one_per_minute(client_prefix(ipv6_prefix=128))
    assert server.key("2001:DB8::0001") == "2001:db8::1/128"
    assert server.key("2001:db8::2") == "2001:db8::2/128"
    server.refused("2001:db8::1%eth0")


def test_the_default_prefix_is_the_default_key() -> None:
    server = one_per_minute(client_prefix())
    assert server.key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    server.refused("2001:db8:1:2::2")


def test_a_prefix_that_cuts_inside_a_group_is_written_canonically() -> None:
    server = one_per_minute(client_prefix(ipv6_prefix=60))
    assert server.key("2001:db8:1:2f::1") == "2001:db8:1:20::/60"
    server.refused("2001:db8:1:2a::1")


@pytest.mark.parametrize("value", [0, 129, -64, True, False, 64.0, "64", None])
def test_a_bad_prefix_fails_when_the_key_is_built(value: Any) -> None:
    with pytest.raises(ValueError, match=r"ipv6_prefix must be a whole number from 1 to 128.*64"):
        client_prefix(ipv6_prefix=value)
    with pytest.raises(ValueError, match=r"ipv6_prefix must be a whole number from 1 to 128.*64"):
        client_host_behind_proxies(trusted_proxies=[PROXY], ipv6_prefix=value)


# 4. What is no IP address keeps its key.


@pytest.mark.parametrize("key", [client_host, client_prefix(ipv6_prefix=56)])
def test_a_peer_that_is_no_address_is_keyed_as_the_server_named_it(key: Key) -> None:
    server = one_per_minute(key)
    assert server.key("testclient") == "testclient"  # TestClient's own peer
    server.refused("testclient")
    assert server.key("/run/app.sock") == "/run/app.sock"  # a unix socket
    assert server.key(None) == "unknown"  # no client at all
    server.refused(None)


# 5. Behind a proxy: the client the trusted proxy saw, keyed the same way; forged hops buy nothing.


def behind_proxy(**kwargs: Any) -> Server:
    return one_per_minute(client_host_behind_proxies(trusted_proxies=[PROXY, "2001:db8:ffff::/48"], **kwargs))


def test_behind_a_proxy_two_addresses_of_one_64_share_a_bucket() -> None:
    server = behind_proxy()
    assert server.key(PROXY, [("x-forwarded-for", "2001:db8:1:2::1")]) == "2001:db8:1:2::/64"
    server.refused(PROXY, [("x-forwarded-for", "[2001:DB8:1:2::ffff]:4711")])
    server.refused("2001:db8:ffff::1", [("x-forwarded-for", "2001:db8:1:2:0:0:0:2")])  # another trusted proxy
    assert server.key(PROXY, [("x-forwarded-for", "2001:db8:1:3::1")]) == "2001:db8:1:3::/64"


def test_behind_a_proxy_forged_hops_left_of_the_client_buy_no_fresh_count() -> None:
    server = behind_proxy()
    # The proxy appends the address it saw; the client wrote everything left of it.
    assert server.key(PROXY, [("x-forwarded-for", "2001:db8:9::1, 2001:db8:1:2::1")]) == "2001:db8:1:2::/64"
    server.refused(PROXY, [("x-forwarded-for", "2001:db8:9::2, 2001:db8:1:2::2")])
    server.refused(PROXY, [("x-forwarded-for", "203.0.113.1"), ("x-forwarded-for", "2001:db8:1:2::3")])


def test_behind_a_proxy_a_mapped_hop_shares_the_bucket_of_its_ipv4_address() -> None:
    server = behind_proxy()
    assert server.key(PROXY, [("x-forwarded-for", "203.0.113.9")]) == "203.0.113.9"
    server.refused(PROXY, [("x-forwarded-for", "[::ffff:203.0.113.9]:4711")])
    server.refused("::ffff:127.0.0.1", [("x-forwarded-for", "::FFFF:cb00:7109")])


def test_behind_a_proxy_the_forwarded_header_is_keyed_the_same_way() -> None:
    server = behind_proxy(proxy_header="forwarded")
    assert server.key(PROXY, [("forwarded", 'for="[2001:db8:1:2::1]:4711"')]) == "2001:db8:1:2::/64"
    server.refused(PROXY, [("forwarded", 'for="[2001:db8:1:2::2%eth0]"')])


def test_behind_a_proxy_a_client_that_is_not_behind_it_is_keyed_by_its_own_64() -> None:
    server = behind_proxy()
    assert server.key("2001:db8:1:2::1", [("x-forwarded-for", "2001:db8:7::1")]) == "2001:db8:1:2::/64"
    server.refused("2001:db8:1:2::2", [("x-forwarded-for", "2001:db8:8::1")])


def test_behind_a_proxy_the_prefix_can_be_chosen() -> None:
    server = behind_proxy(ipv6_prefix=48)
    assert server.key(PROXY, [("x-forwarded-for", "2001:db8:1:2::1")]) == "2001:db8:1::/48"
    server.refused(PROXY, [("x-forwarded-for", "2001:db8:1:ffff::1")])
    assert server.key(PROXY, [("x-forwarded-for", "203.0.113.9")]) == "203.0.113.9"


def test_behind_a_proxy_an_unreadable_or_missing_client_is_unknown() -> None:
    server = behind_proxy()
    assert server.key(PROXY, [("x-forwarded-for", "2001:db8:1:2::1%")]) == "unknown"
    server.refused(PROXY, [("x-forwarded-for", "garbage")])
    server.refused("testclient")
    server.refused(None)
