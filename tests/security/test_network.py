"""Attacks on how `IPGuard` and the limit keys tell who the client is, run in process with TestClient.

Each test is an attack (or the rule that defeats one): a forged proxy header, a repeated header line, an
IPv4-mapped IPv6 address, a hop with a port, a hop that hides the address.
"""

from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, WebSocket
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.testclient import httpx as testclient_httpx  # httpx or httpx2, whichever TestClient runs on
from starlette.types import ASGIApp, Receive, Scope, Send

from fastapi_ws_reject import Guard, RejectingRouter, RejectionEvent, on_reject
from fastapi_ws_reject._events import Listener
from fastapi_ws_reject.guards import IPGuard, RateLimitGuard
from fastapi_ws_reject.guards._network import client_host_behind_proxies
from fastapi_ws_reject.testing import assert_rejected

PROXY = "127.0.0.1"
ATTACKER = "198.51.100.7"
Headers = list[tuple[str, str]]  # a list, since an attack may repeat a header line


def client_for(guard: Guard[Any], peer: str | None = PROXY, listener: Listener | None = None) -> TestClient:
    """An app whose /ws sends what `guard` returned, reached from `peer` (TestClient's own is 'testclient'), with
    `listener` hearing its rejections."""
    router = RejectingRouter()

    @router.websocket("/ws")
    async def answer(websocket: WebSocket, value: Annotated[Any, Depends(guard)]) -> None:
        await websocket.accept()
        await websocket.send_text(str(value))
        await websocket.close()

    app = FastAPI()
    app.include_router(router)
    if listener is not None:
        on_reject(app, listener)
    return TestClient(as_peer(app, peer))


def as_peer(app: ASGIApp, host: str | None) -> ASGIApp:
    # Starlette 0.38's TestClient has no `client=` argument; setting scope["client"] works on every version.
    async def with_peer(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "client": None if host is None else (host, 50000)}, receive, send)

    return with_peer


def seen(client: TestClient, headers: Headers | None = None) -> str:
    with client.websocket_connect("/ws", headers=testclient_httpx.Headers(headers or [])) as websocket:
        return websocket.receive_text()


def refused(client: TestClient, headers: Headers, *, status: int = 403) -> None:
    """Assert the handshake is denied; `headers` may repeat a name, which `assert_rejected`'s dict cannot."""
    with (
        pytest.raises(WebSocketDenialResponse) as denial,
        client.websocket_connect("/ws", headers=testclient_httpx.Headers(headers)),
    ):
        pass  # pragma: no cover
    assert denial.value.status_code == status
    if status == 403:
        assert denial.value.content == b"address not allowed"


def office(**kwargs: Any) -> IPGuard:
    return IPGuard(allow=["10.0.0.0/8"], trusted_proxies=[PROXY], **kwargs)


# 1. Only the header the trusted proxy writes counts.


def test_forged_forwarded_header_is_ignored_when_the_proxy_writes_x_forwarded_for() -> None:
    client = client_for(office())
    refused(client, [("forwarded", "for=10.0.0.1"), ("x-forwarded-for", ATTACKER)])


def test_forged_x_forwarded_for_is_ignored_when_the_proxy_writes_forwarded() -> None:
    client = client_for(office(proxy_header="forwarded"))
    refused(client, [("x-forwarded-for", "10.0.0.1"), ("forwarded", f"for={ATTACKER}")])


def test_x_forwarded_for_is_the_default_proxy_header() -> None:
    assert seen(client_for(office()), [("x-forwarded-for", "10.0.0.1")]) == "10.0.0.1"


def test_proxy_header_names_are_case_insensitive() -> None:
    assert seen(client_for(office(proxy_header="Forwarded")), [("forwarded", "for=10.0.0.1")]) == "10.0.0.1"


@pytest.mark.parametrize("header", ["x-real-ip", "", "x-forwarded-for, forwarded"])
def test_unknown_proxy_header_is_refused_at_construction(header: str) -> None:
    with pytest.raises(ValueError, match="proxy_header must be 'x-forwarded-for' or 'forwarded'"):
        office(proxy_header=header)


# 2. Every line of a repeated header, rightmost untrusted hop first.


def test_a_forged_first_x_forwarded_for_line_loses_to_the_line_the_proxy_appended() -> None:
    client = client_for(office())
    refused(client, [("x-forwarded-for", "10.0.0.1"), ("x-forwarded-for", ATTACKER)])


def test_a_forged_first_forwarded_line_loses_to_the_line_the_proxy_appended() -> None:
    client = client_for(office(proxy_header="forwarded"))
    refused(client, [("forwarded", "for=10.0.0.1"), ("forwarded", f"for={ATTACKER};proto=https")])


def test_hops_forged_left_of_the_client_are_skipped_only_through_trusted_proxies() -> None:
    guard = IPGuard(allow=["10.0.0.0/8"], trusted_proxies=[PROXY, "192.0.2.0/24"])
    headers = [("x-forwarded-for", f"10.0.0.1, {ATTACKER}"), ("x-forwarded-for", "192.0.2.10")]
    refused(client_for(guard), headers)


def test_the_client_is_the_rightmost_hop_that_is_not_a_trusted_proxy() -> None:
    guard = IPGuard(deny=["0.0.0.0/32"], trusted_proxies=[PROXY, "192.0.2.0/24"])
    headers = [("x-forwarded-for", f"10.0.0.1, {ATTACKER}"), ("x-forwarded-for", "192.0.2.10")]
    assert seen(client_for(guard), headers) == ATTACKER


def test_a_chain_of_trusted_proxies_only_gives_its_first_hop() -> None:
    guard = IPGuard(allow=["10.0.0.5/32"], trusted_proxies=[PROXY, "10.0.0.0/8"])
    assert seen(client_for(guard), [("x-forwarded-for", "10.0.0.5, 10.0.0.9")]) == "10.0.0.5"


def test_headers_from_a_peer_that_is_not_a_trusted_proxy_are_ignored() -> None:
    client = client_for(office(), peer=ATTACKER)
    refused(client, [("x-forwarded-for", "10.0.0.1")])


# 3. IPv4-mapped IPv6 is IPv4.


def test_a_mapped_hop_is_denied_by_its_ipv4_network() -> None:
    guard = IPGuard(deny=["203.0.113.0/24"], trusted_proxies=[PROXY])
    refused(client_for(guard), [("x-forwarded-for", "::ffff:203.0.113.9")])


def test_a_mapped_peer_is_denied_by_its_ipv4_network() -> None:
    refused(client_for(IPGuard(deny=["203.0.113.0/24"]), peer="::ffff:203.0.113.9"), [])


def test_a_mapped_peer_reaches_the_endpoint_as_ipv4() -> None:
    assert seen(client_for(IPGuard(allow=["203.0.113.0/24"]), peer="::ffff:203.0.113.9")) == "203.0.113.9"


def test_a_mapped_network_in_deny_is_the_ipv4_network() -> None:
    refused(client_for(IPGuard(deny=["::ffff:203.0.113.0/120"]), peer="203.0.113.9"), [])


def test_a_mapped_network_in_allow_is_the_ipv4_network() -> None:
    assert seen(client_for(IPGuard(allow=["::ffff:10.0.0.0/104"]), peer="10.1.2.3")) == "10.1.2.3"


def test_a_mapped_trusted_proxy_is_the_ipv4_proxy() -> None:
    guard = IPGuard(deny=[f"{ATTACKER}/32"], trusted_proxies=["::ffff:127.0.0.1"])
    refused(client_for(guard), [("x-forwarded-for", ATTACKER)])


def test_a_trusted_proxy_on_a_dual_stack_socket_is_still_trusted() -> None:
    client = client_for(office(), peer="::ffff:127.0.0.1")
    assert seen(client, [("x-forwarded-for", "10.0.0.1")]) == "10.0.0.1"


# 4. Ports are accepted; a hop that hides the address fails closed.


@pytest.mark.parametrize(
    ("header", "value", "address"),
    [
        ("x-forwarded-for", "203.0.113.9:4711", "203.0.113.9"),
        ("x-forwarded-for", "[2001:db8::1]:4711", "2001:db8::1"),
        ("x-forwarded-for", "[2001:db8::1]", "2001:db8::1"),
        ("x-forwarded-for", "2001:db8::1", "2001:db8::1"),
        ("forwarded", 'for="[2001:db8::1]:4711";proto=https', "2001:db8::1"),
        ("forwarded", 'for="203.0.113.9:4711"', "203.0.113.9"),
        ("forwarded", 'proto=https;For="[2001:db8::1]"', "2001:db8::1"),
        ("forwarded", "for=203.0.113.9", "203.0.113.9"),
        ("forwarded", 'for="203.0.113.9:_port"', "203.0.113.9"),
    ],
)
def test_a_hop_with_a_port_is_its_address(header: str, value: str, address: str) -> None:
    guard = IPGuard(deny=["0.0.0.0/32"], trusted_proxies=[PROXY], proxy_header=header)
    assert seen(client_for(guard), [(header, value)]) == address


@pytest.mark.parametrize(
    "hop",
    ["unknown", "_hidden", "garbage", "203.0.113.9:port", "203.0.113.9:4711:1", "[2001:db8::1", "10.0.0.1/8"],
)
def test_an_unreadable_x_forwarded_for_hop_fails_closed_instead_of_skipping_left(hop: str) -> None:
    refused(client_for(office()), [("x-forwarded-for", f"10.0.0.1, {hop}")])


@pytest.mark.parametrize(
    "element",
    [
        "for=unknown",
        "for=_hidden",
        'for="_hidden"',
        "proto=https",  # an element without for= names no client
        "for=10.0.0.1;for=10.0.0.2",  # RFC 7239 section 4: a parameter once per element
        'for="10.0.0.2',  # an unbalanced quote
        "for=",
    ],
)
def test_an_unreadable_forwarded_element_fails_closed_instead_of_skipping_left(element: str) -> None:
    refused(client_for(office(proxy_header="forwarded")), [("forwarded", f"for=10.0.0.1, {element}")])


def test_a_quoted_comma_does_not_split_a_forwarded_element() -> None:
    client = client_for(office(proxy_header="forwarded"))
    refused(client, [("forwarded", 'for=10.0.0.1, for="10.0.0.2, for=10.0.0.3"')])


def test_a_quoted_pair_in_forwarded_is_unescaped() -> None:
    assert seen(client_for(office(proxy_header="forwarded")), [("forwarded", r'for="1\0.0.0.1"')]) == "10.0.0.1"


def test_an_escaped_quote_in_forwarded_does_not_hide_the_element_after_it() -> None:
    guard = IPGuard(deny=["0.0.0.0/32"], trusted_proxies=[PROXY], proxy_header="forwarded")
    line = rf'for=10.0.0.1;ext="a\"b", for={ATTACKER}'
    assert seen(client_for(guard), [("forwarded", line)]) == ATTACKER


def test_a_broken_forged_forwarded_line_does_not_swallow_the_proxy_line() -> None:
    client = client_for(office(proxy_header="forwarded"))
    assert seen(client, [("forwarded", 'for="198.51.100.7'), ("forwarded", "for=10.0.0.1")]) == "10.0.0.1"


def test_refusal_detail_never_repeats_what_the_client_sent() -> None:
    events: list[RejectionEvent] = []
    client = client_for(office(), listener=events.append)
    refused(client, [("x-forwarded-for", "10.0.0.1, <script>secret-token")])
    refused(client, [("x-forwarded-for", ATTACKER)])
    assert [event.detail for event in events] == ["no client address", f"address {ATTACKER} not allowed"]


# 5. Limit keys: one client, one key.


def test_the_default_limit_key_counts_a_mapped_peer_as_its_ipv4_address() -> None:
    limit = RateLimitGuard(1, per=60)
    assert seen(client_for(limit, peer="1.2.3.4")) == "1.2.3.4"
    assert_rejected(client_for(limit, peer="::ffff:1.2.3.4"), "/ws", status_code=429)


def test_the_default_limit_key_of_a_connection_without_a_client_is_unknown() -> None:
    assert seen(client_for(RateLimitGuard(1, per=60), peer=None)) == "unknown"


def test_a_key_behind_proxies_counts_the_client_not_the_proxy() -> None:
    limit = RateLimitGuard(1, per=60, key=client_host_behind_proxies(trusted_proxies=[PROXY]))
    client = client_for(limit)
    assert seen(client, [("x-forwarded-for", ATTACKER)]) == ATTACKER
    assert seen(client, [("x-forwarded-for", "198.51.100.8")]) == "198.51.100.8"
    refused(client, [("x-forwarded-for", f"::ffff:{ATTACKER}")], status=429)


def test_a_key_behind_proxies_puts_every_unreadable_client_in_one_bucket() -> None:
    limit = RateLimitGuard(1, per=60, key=client_host_behind_proxies(trusted_proxies=[PROXY]))
    client = client_for(limit)
    assert seen(client, [("x-forwarded-for", "garbage-1")]) == "unknown"
    refused(client, [("x-forwarded-for", "garbage-2")], status=429)


def test_a_key_behind_proxies_checks_its_configuration() -> None:
    with pytest.raises(ValueError, match="proxy_header must be"):
        client_host_behind_proxies(trusted_proxies=[PROXY], proxy_header="x-real-ip")
    with pytest.raises(TypeError, match="not a string"):
        client_host_behind_proxies(trusted_proxies=PROXY)  # type: ignore[arg-type]
