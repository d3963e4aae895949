"""Behind a real nginx and a real HAProxy (issue 24): TLS ends at the proxy, the app is served under /api/ by two
hosts of two uvicorn workers each, the limits count in one redis-server, and every client connects to the proxy
only, from a loopback address of its own. examples/deploy/ holds the configuration docs/deployment.md shows.

Each test runs behind each proxy, in each server setting the docs name: `server` (uvicorn `--proxy-headers
--forwarded-allow-ips=<proxy>` rewrites scope["client"]) and `guard` (the guards and keys read the proxy's
header themselves, `trusted_proxies=[<proxy>]`)."""

import asyncio
import json
import time
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from examples.deploy.run import PROXIES, PROXY_ADDRESS, SETTINGS, Deployment
from tests.support.deployment import ALLOWED_CLIENT, OTHER_CLIENT, deployed, from_host, through_proxy, websocket

pytestmark = [pytest.mark.e2e, pytest.mark.deploy]

# The guard and key each setting documents: the peer once the server rewrote it, or the proxy's header.
ADDRESS_ROUTES = {"server": "peer", "guard": "behind"}
# What a client may write to pass as another: both proxies overwrite or drop these.
SPOOFED = {"X-Forwarded-For": ALLOWED_CLIENT, "Forwarded": f"for={ALLOWED_CLIENT};proto=https"}


@pytest.fixture(
    scope="module",
    params=[(kind, setting) for kind in PROXIES for setting in SETTINGS],
    ids=[f"{kind}-{setting}" for kind in PROXIES for setting in SETTINGS],
)
def running(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    kind, setting = request.param
    with deployed(kind, setting, tmp_path_factory.mktemp(f"{kind}-{setting}")) as deployment:
        yield deployment


DENIALS = {
    "404-no-route": ("/ws/nowhere", {}, 404, {"detail": "Not Found"}),
    "404-http-exception": ("/ws/items/7", {}, 404, {"detail": "item not found"}),
    "422-validation": ("/ws/items/seven", {}, 422, None),
    "401-bearer": ("/ws/private/feed", {}, 401, {"detail": "Not authenticated"}),
    "403-origin": ("/ws/origin", {"Origin": "https://evil.example"}, 403, None),
}


@pytest.mark.parametrize(("path", "headers", "status", "body"), DENIALS.values(), ids=DENIALS.keys())
def test_denial_reaches_the_client_byte_for_byte(
    running: Deployment, path: str, headers: dict[str, str], status: int, body: object
) -> None:
    direct = from_host(running, path, OTHER_CLIENT, headers)
    proxied = through_proxy(running, path, OTHER_CLIENT, headers)
    assert direct.status_line.startswith(f"HTTP/1.1 {status} ".encode())
    assert (proxied.status_line, proxied.app_headers(), proxied.body) == (
        direct.status_line,
        direct.app_headers(),
        direct.body,
    )
    if body is not None:
        assert json.loads(proxied.body) == body
    if status == 401:
        assert proxied.header("www-authenticate") == 'Bearer realm="deploy"'
    if status == 422:
        assert proxied.header("content-type") == "application/json"
        assert json.loads(proxied.body)["detail"][0]["loc"] == ["path", "item_id"]


def test_429_reaches_the_client_byte_for_byte(running: Deployment) -> None:
    path = f"/ws/rate/{ADDRESS_ROUTES[running.setting]}"
    client = "127.0.0.110" if running.proxy == "nginx" else "127.0.0.111"
    asyncio.run(_accepted(running, path, client))
    proxied = through_proxy(running, path, client)
    direct_client = "127.0.0.112" if running.proxy == "nginx" else "127.0.0.113"
    asyncio.run(_accepted_directly(running, path, direct_client))
    direct = from_host(running, path, direct_client)
    assert proxied.status_line == direct.status_line == b"HTTP/1.1 429 Too Many Requests"
    assert [h for h in proxied.app_headers() if h[0] != "retry-after"] == [
        h for h in direct.app_headers() if h[0] != "retry-after"
    ]
    assert proxied.body == direct.body == b'{"detail":"too many handshakes"}'
    assert 59 <= int(proxied.header("retry-after")) <= 60  # the wait left of the 60 s window


def test_accept_then_close_keeps_its_code_and_reason(running: Deployment) -> None:
    async def closed() -> ConnectionClosed:
        async with websocket(running, "/ws/items/1", OTHER_CLIENT) as connection:
            with pytest.raises(ConnectionClosed) as closing:
                await connection.recv()
            return closing.value

    close = asyncio.run(closed()).rcvd
    assert close is not None
    assert (close.code, close.reason) == (4409, "item was deleted")


def test_ip_guard_sees_the_real_client(running: Deployment) -> None:
    path = f"/ws/ip/{ADDRESS_ROUTES[running.setting]}"
    assert "pid" in asyncio.run(_accepted(running, path, ALLOWED_CLIENT))
    assert _status(running, path, OTHER_CLIENT) == 403


def test_a_client_sent_forwarding_header_changes_nothing(running: Deployment) -> None:
    path = f"/ws/ip/{ADDRESS_ROUTES[running.setting]}"
    assert _status(running, path, OTHER_CLIENT, SPOOFED) == 403
    assert _status(running, path, OTHER_CLIENT, {"X-Forwarded-For": f"{ALLOWED_CLIENT}, {ALLOWED_CLIENT}"}) == 403


def test_the_guard_reading_the_header_also_holds_when_the_server_rewrote(running: Deployment) -> None:
    # IPGuard(trusted_proxies=[the proxy]) on a server that already rewrote scope["client"]: no hop counted twice.
    assert "pid" in asyncio.run(_accepted(running, "/ws/ip/behind", ALLOWED_CLIENT))
    assert _status(running, "/ws/ip/behind", OTHER_CLIENT, SPOOFED) == 403


def test_the_server_setting_decides_what_the_scope_says(running: Deployment) -> None:
    seen = asyncio.run(_accepted(running, "/ws/echo", ALLOWED_CLIENT))
    if running.setting == "server":  # uvicorn rewrote the client and the scheme from the proxy's headers
        assert (seen["client"], seen["scheme"]) == (ALLOWED_CLIENT, "wss")
    else:  # the scope names the proxy and its plain connection; the guards read the headers
        assert (seen["client"], seen["scheme"]) == (PROXY_ADDRESS, "ws")


def test_address_keyed_limit_counts_each_client_apart(running: Deployment) -> None:
    path = f"/ws/rate/{ADDRESS_ROUTES[running.setting]}"
    first, second = ("127.0.0.120", "127.0.0.121") if running.proxy == "nginx" else ("127.0.0.122", "127.0.0.123")
    asyncio.run(_accepted(running, path, first))
    assert _status(running, path, first) == 429
    assert _status(running, path, first, {"X-Forwarded-For": "127.0.0.199", "Forwarded": "for=127.0.0.199"}) == 429
    asyncio.run(_accepted(running, path, second))  # its own count, not the proxy's one


def test_the_default_key_behind_the_proxy(running: Deployment) -> None:
    first, second = ("127.0.0.130", "127.0.0.131") if running.proxy == "nginx" else ("127.0.0.132", "127.0.0.133")
    asyncio.run(_accepted(running, "/ws/rate/peer", first))
    logs = "".join(host.log() for host in running.hosts)
    if running.setting == "server":  # the server rewrote the client: each has a count of its own, and no warning
        asyncio.run(_accepted(running, "/ws/rate/peer", second))
        assert "every client shares the count" not in logs
    else:  # every client is the proxy to client_host: the second is refused for the first one's handshake ...
        assert _status(running, "/ws/rate/peer", second) == 429
        # ... and the host says so, once per app (each of its two workers has its own app)
        assert 1 <= logs.count(f"every client shares the count of {PROXY_ADDRESS}") <= 2 * len(running.hosts)


def test_same_origin_accepts_the_pages_own_https_origin(running: Deployment) -> None:
    assert "pid" in asyncio.run(_accepted(running, "/ws/origin", OTHER_CLIENT, {"Origin": running.origin}))
    plain = running.origin.replace("https://", "http://")
    assert _status(running, "/ws/origin", OTHER_CLIENT, {"Origin": plain}) == 403
    assert _status(running, "/ws/origin", OTHER_CLIENT, {"Origin": "https://evil.example"}) == 403


def test_middleware_include_and_not_found_hold_under_the_prefix(running: Deployment) -> None:
    assert _status(running, "/ws/nowhere", OTHER_CLIENT) == 404
    assert _status(running, "/ws/private/feed", OTHER_CLIENT) == 401
    token = f"alice-until-{time.time() + 60:.0f}"

    async def private() -> object:
        async with websocket(running, "/ws/private/feed", OTHER_CLIENT, {"Authorization": f"Bearer {token}"}) as ws:
            return await ws.recv()

    assert asyncio.run(private()) == "private"
    assert "pid" in asyncio.run(_accepted(running, "/ws/echo", OTHER_CLIENT))  # outside include=: no token asked


def test_an_expiring_credential_closes_the_socket_through_the_proxy(running: Deployment) -> None:
    async def until_closed() -> tuple[float, ConnectionClosed]:
        token = f"bob-until-{time.time() + 1.5:.3f}"
        async with websocket(running, f"/ws/live?access_token={token}", OTHER_CLIENT) as connection:
            greeting = json.loads(await connection.recv())
            assert greeting["user"] == "bob"
            started = time.monotonic()
            with pytest.raises(ConnectionClosed) as closing:
                await asyncio.wait_for(connection.recv(), 10)
            return time.monotonic() - started, closing.value

    waited, closed = asyncio.run(until_closed())
    assert closed.rcvd is not None and closed.rcvd.code == 4401
    assert waited < 5


async def _accepted(
    running: Deployment, path: str, source: str, headers: dict[str, str] | None = None
) -> dict[str, object]:
    async with websocket(running, path, source, headers) as connection:
        answer: dict[str, object] = json.loads(await connection.recv())
        return answer


async def _accepted_directly(running: Deployment, path: str, source: str) -> None:
    from websockets.asyncio.client import connect

    first = running.hosts[0]
    async with connect(f"ws://{first.address}:{first.port}{path}", local_addr=(source, 0)) as connection:
        await connection.recv()


def _status(running: Deployment, path: str, source: str, headers: dict[str, str] | None = None) -> int:
    async def handshake() -> int:
        try:
            async with websocket(running, path, source, headers):
                return 101
        except InvalidStatus as refused:
            return refused.response.status_code

    return asyncio.run(handshake())
