"""A real headless Chromium opens WebSockets over HTTP/2 (RFC 8441): its page comes from hypercorn over TLS and
h2, and the browser opens each socket as a stream of that connection. The socket it may open gets in (and
reads the `http_version` "2" it rode on); the room that does not exist and the foreign origin are refused, which
a page sees as 1006 (a browser shows a script no refusal's status); a refusal sent as accept-then-close reaches
the page with its code and reason.

The certificate is made in the test; the browser trusts exactly it (`--ignore-certificate-errors-spki-list`).
"""

import asyncio
import base64
import hashlib
import subprocess
from collections.abc import Iterator

import pytest

from examples.deploy.run import Certificate, make_certificate
from fastapi_ws_reject.testing import RunningServer, live_server
from tests.support.apps import ROOT
from tests.support.chromium import chromium, results_in_the_page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"), "127.0.0.1")


@pytest.fixture(scope="module")
def h2_server(tls: Certificate) -> Iterator[RunningServer]:
    arguments = ["--certfile", str(tls.certificate), "--keyfile", str(tls.private_key)]
    with live_server("tests.e2e.http2_app:app", server="hypercorn", cwd=ROOT, server_args=arguments) as running:
        yield running


def spki_hash(tls: Certificate) -> str:
    """The base64 SHA-256 of the certificate's public key, as Chromium's SPKI allow-list takes it."""
    der = subprocess.run(
        ["openssl", "x509", "-in", str(tls.certificate), "-pubkey", "-noout"], check=True, capture_output=True
    ).stdout
    key = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=der, check=True, capture_output=True)
    return base64.b64encode(hashlib.sha256(key.stdout).digest()).decode()


def test_chromium_opens_websockets_over_http2_and_is_refused_there(h2_server: RunningServer, tls: Certificate) -> None:
    with chromium(f"--ignore-certificate-errors-spki-list={spki_hash(tls)}") as devtools:
        results = asyncio.run(results_in_the_page(devtools, f"https://127.0.0.1:{h2_server.port}/page", 4))
    assert results["/version"] == {"opened": True, "texts": ["2"], "code": 1000, "reason": ""}
    assert results["/rooms/attic"] == {"opened": False, "texts": [], "code": 1006, "reason": ""}
    assert results["/origin"] == {"opened": False, "texts": [], "code": 1006, "reason": ""}
    assert results["/close-policy"] == {"opened": True, "texts": [], "code": 4403, "reason": "not here"}
