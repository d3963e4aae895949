"""Headless Chromium renders `add_asyncapi`'s page: AsyncAPI's web component (from `npm ci`, served locally,
since tests fetch nothing from a CDN, and checked by the browser against the pinned integrity hash) shows every
channel of the document, under the page's Content-Security-Policy, whatever tenant prefix the URL carries."""

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import starlette
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from fastapi_ws_reject.asyncapi import add_asyncapi
from fastapi_ws_reject.testing import RunningServer, live_server
from tests.support.apps import starlette_routes_the_segment
from tests.support.asyncapi_app import guarded_app

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
COMPONENT = ROOT / "node_modules" / "@asyncapi" / "react-component"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The pinned files, served by the app under test (the default integrity hashes are theirs).
SCRIPT_URL = "/component/browser/standalone/index.js"
STYLE_URL = "/component/styles/default.min.css"
# What Chromium logs when the policy or an integrity hash blocks something.
BLOCKED = ("Content Security Policy", "integrity", "Refused to")


def require_chromium_and_the_component() -> None:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    if not (COMPONENT / "browser" / "standalone" / "index.js").is_file():
        pytest.skip("@asyncapi/react-component is not installed; run `npm ci` at the repository root")


def documented_app(component: Path = COMPONENT) -> Starlette:
    """`guarded_app()` with its page, at `/asyncapi` and under any tenant prefix (`/{tenant}/asyncapi`), and the
    component's files at `/component`."""
    require_chromium_and_the_component()
    app = guarded_app()
    add_asyncapi(app, title="Rendered", script_url=SCRIPT_URL, style_url=STYLE_URL)
    files = StaticFiles(directory=component)
    return Starlette(routes=[Mount("/component", files), Mount("/{tenant}", app), Mount("", app)])


def rendered(server: RunningServer, path: str) -> tuple[str, str]:
    """The page's DOM once the component has run, and what the browser logged on its console."""
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        chromium = subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                "--virtual-time-budget=20000",
                "--dump-dom",
                "http" + server.url.removeprefix("ws") + path,
            ],
            capture_output=True,
            text=True,
            timeout=90,
        )
    console = "\n".join(line for line in chromium.stderr.splitlines() if ":CONSOLE" in line)
    return chromium.stdout, console


def assert_renders_the_app(page: str, console: str) -> None:
    assert "Rendered" in page, console
    for address in ("/ws/rooms/{room}", "/ws/shards/{shard}", "/open"):
        assert address in page
    assert "x-handshake-rejections" in page
    assert not [word for word in BLOCKED if word in console], console


@pytest.mark.timeout(120)
def test_the_asyncapi_page_renders_every_channel_in_chromium() -> None:
    with live_server(documented_app()) as server:
        assert_renders_the_app(*rendered(server, "/asyncapi"))


@pytest.mark.timeout(120)
def test_the_page_renders_under_a_hostile_tenant_segment() -> None:
    # Before the fix, `<!--<script>` in the inline script made the parser swallow the rest of the page.
    with live_server(documented_app()) as server:
        assert_renders_the_app(*rendered(server, "/%3C!--%3Cscript%3E/asyncapi"))


def spoofing_app() -> ASGIApp:
    """Another server's AsyncAPI document, readable from any origin."""
    app = FastAPI(title="Spoofed")
    add_asyncapi(app, docs_url=None)
    return CORSMiddleware(app, allow_origins=["*"])


@pytest.mark.timeout(120)
def test_a_tenant_segment_cannot_make_the_page_render_another_servers_document() -> None:
    # Before the fix, `/\host:port/asyncapi.json` went into the page as it came; browsers read it as `//host:port`.
    if not starlette_routes_the_segment("\\127.0.0.1:1"):
        pytest.skip(f"Starlette {starlette.__version__} routes no request under a segment with a backslash")
    with live_server(documented_app()) as server, live_server(spoofing_app()) as other:
        page, console = rendered(server, f"/%5C127.0.0.1:{other.port}/asyncapi")
    assert "Spoofed" not in page
    assert_renders_the_app(page, console)


@pytest.mark.timeout(120)
def test_a_component_that_is_not_the_pinned_file_is_refused_by_the_browser(tmp_path: Path) -> None:
    require_chromium_and_the_component()  # before copying the component's files
    shutil.copytree(COMPONENT / "styles", tmp_path / "styles")
    (tmp_path / "browser" / "standalone").mkdir(parents=True)
    tampered = (COMPONENT / "browser" / "standalone" / "index.js").read_text() + "\nwindow.tampered = 1;\n"
    (tmp_path / "browser" / "standalone" / "index.js").write_text(tampered)
    with live_server(documented_app(component=tmp_path)) as server:
        page, console = rendered(server, "/asyncapi")
    assert "x-handshake-rejections" not in page
    assert "Failed to find a valid digest in the 'integrity' attribute" in console
