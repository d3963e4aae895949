"""WebSockets over HTTP/2 (RFC 8441): hypercorn with TLS speaks h2 and advertises extended CONNECT, and an h2
client opens each socket as a stream of one connection, as Chrome and Firefox do. A refusal there is the
stream's `:status`, headers and body; accept-then-close, a rejection after accept and an expiry are the
socket's close frame, in DATA frames of the stream.

Before issue 24 no test tried it, and SECURITY.md called HTTP/2 WebSockets out of scope; these pass on the code
of that time too (the library sends ASGI messages, and hypercorn maps them onto the stream), so they pin it.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from examples.deploy.run import Certificate, make_certificate
from fastapi_ws_reject.testing import RunningServer, live_server
from tests.support.apps import ROOT
from tests.support.h2_client import H2Answer, extended_connect

pytestmark = pytest.mark.e2e

#: what hypercorn adds to every answer; everything else must be what the app declared
H2_SERVER_HEADERS = {"date", "server"}
JSON = "application/json"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"), "127.0.0.1")


@pytest.fixture(scope="module")
def certificate(tls: Certificate) -> Path:
    return tls.certificate


@pytest.fixture(scope="module")
def h2_server(tls: Certificate) -> Iterator[RunningServer]:
    arguments = ["--certfile", str(tls.certificate), "--keyfile", str(tls.private_key)]
    with live_server("tests.e2e.http2_app:app", server="hypercorn", cwd=ROOT, server_args=arguments) as running:
        yield running


def declared(answer: H2Answer) -> dict[str, str]:
    return {name: value for name, value in answer.headers.items() if name not in H2_SERVER_HEADERS}


@pytest.mark.parametrize(
    ("path", "headers", "status", "expected_headers", "body"),
    [
        (
            "/rooms/attic",
            {},
            404,
            {"x-room": "attic", "content-type": JSON},
            b'{"detail":"no room attic"}',
        ),
        ("/bearer", {}, 401, {"www-authenticate": "Bearer", "content-type": JSON}, None),
        ("/origin", {"origin": "https://evil.example"}, 403, {"content-type": "text/plain; charset=utf-8"}, None),
        ("/rejection", {}, 429, {"retry-after": "30", "content-type": JSON}, b'{"detail":"slow down"}'),
        ("/validated/x", {"x-version": "1"}, 422, {"content-type": JSON}, None),
    ],
)
def test_a_refusal_over_h2_is_the_streams_status_headers_and_body(
    h2_server: RunningServer,
    certificate: Path,
    path: str,
    headers: dict[str, str],
    status: int,
    expected_headers: dict[str, str],
    body: bytes | None,
) -> None:
    answer = extended_connect(h2_server.port, path, certificate, headers=headers)
    assert answer.status == status
    assert declared(answer) == {**expected_headers, "content-length": str(len(answer.body))}
    if body is not None:
        assert answer.body == body
    assert answer.texts == [] and answer.close_code is None


def test_an_accepted_socket_rides_on_http2(h2_server: RunningServer, certificate: Path) -> None:
    answer = extended_connect(h2_server.port, "/origin", certificate, headers={"origin": "https://allowed.example"})
    assert (answer.status, answer.texts, answer.close_code) == (200, ["2"], 1000)


def test_accept_then_close_keeps_its_code_and_reason_over_h2(h2_server: RunningServer, certificate: Path) -> None:
    answer = extended_connect(h2_server.port, "/close-policy", certificate)
    assert (answer.status, answer.texts, answer.close_code, answer.close_reason) == (200, [], 4403, "not here")


def test_a_rejection_after_accept_closes_with_4000_plus_status_over_h2(
    h2_server: RunningServer, certificate: Path
) -> None:
    answer = extended_connect(h2_server.port, "/late", certificate)
    assert (answer.texts, answer.close_code, answer.close_reason) == (["hello"], 4404, "room closed")


def test_an_expiring_credential_closes_the_socket_over_h2(h2_server: RunningServer, certificate: Path) -> None:
    answer = extended_connect(h2_server.port, "/expiring?seconds=0.5", certificate, send_texts=("ping",))
    assert (answer.texts, answer.close_code, answer.close_reason) == (["in"], 4401, "credential expired")
