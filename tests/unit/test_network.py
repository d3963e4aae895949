"""`IPGuard`: allow and deny lists, proxy headers counted from trusted proxies only, its configuration."""

import ipaddress

import pytest
from starlette.testclient import TestClient

from fastapi_ws_reject.guards import IPGuard
from fastapi_ws_reject.testing import assert_rejected
from tests.support.places import PLACES, client_for, guarded_app, value_of, with_peer


@pytest.mark.parametrize("place", PLACES)
def test_ip_allow_and_deny(place: str) -> None:
    client = client_for(IPGuard(allow=["10.0.0.0/8", "::1"], deny=["10.6.6.0/24"]), place)
    for peer in ("10.1.2.3", "::1"):
        assert value_of(client, headers={"x-test-peer": peer}) in (repr(ipaddress.ip_address(peer)), "ok")
    for peer in ("10.6.6.6", "192.168.1.1", "testclient"):
        assert_rejected(client, "/ws", status_code=403, request_headers={"x-test-peer": peer})


@pytest.mark.parametrize(
    ("peer", "header", "headers", "seen"),
    [
        ("127.0.0.1", "x-forwarded-for", {"X-Forwarded-For": "203.0.113.9, 10.0.0.5"}, "203.0.113.9"),
        ("127.0.0.1", "forwarded", {"Forwarded": 'for="[2001:db8::1]:4711";proto=https, for=10.0.0.5'}, "2001:db8::1"),
        ("127.0.0.1", "forwarded", {"Forwarded": "for=198.51.100.7:5000"}, "198.51.100.7"),
        ("127.0.0.1", "x-forwarded-for", {}, "127.0.0.1"),
        ("192.0.2.1", "x-forwarded-for", {"X-Forwarded-For": "203.0.113.9"}, "192.0.2.1"),  # not a trusted proxy
        ("127.0.0.1", "x-forwarded-for", {"X-Forwarded-For": "garbage"}, None),
    ],
)
def test_proxy_headers_count_only_from_trusted_proxies(
    peer: str, header: str, headers: dict[str, str], seen: str | None
) -> None:
    guard = IPGuard(deny=["0.0.0.0/32"], trusted_proxies=["127.0.0.1", "10.0.0.0/8"], proxy_header=header)
    client = TestClient(with_peer(guarded_app(guard, "depends")))
    if seen is None:
        assert_rejected(client, "/ws", status_code=403, request_headers={"x-test-peer": peer, **headers})
    else:
        assert value_of(client, headers={"x-test-peer": peer, **headers}) == repr(ipaddress.ip_address(seen))


def test_ip_filter_configuration_errors() -> None:
    with pytest.raises(ValueError, match="lets everyone in"):
        IPGuard()
    with pytest.raises(ValueError, match="allow: .* CIDR ranges"):
        IPGuard(allow=["10.0.0.0/33"])
    with pytest.raises(TypeError, match="not a string"):
        IPGuard(allow="10.0.0.0/8")  # type: ignore[arg-type]
