"""Headless Chromium renders `add_asyncapi`'s page: AsyncAPI's web component (from `npm ci`, served locally,
since tests fetch nothing from a CDN) shows every channel of the document."""

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from starlette.staticfiles import StaticFiles

from fastapi_ws_reject.asyncapi import add_asyncapi
from fastapi_ws_reject.testing import live_server
from tests.unit.test_asyncapi import guarded_app

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
COMPONENT = ROOT / "node_modules" / "@asyncapi" / "react-component"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.timeout(120)
def test_the_asyncapi_page_renders_every_channel_in_chromium() -> None:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    if not (COMPONENT / "browser" / "standalone" / "index.js").is_file():
        pytest.skip("@asyncapi/react-component is not installed; run `npm ci` at the repository root")
    app = guarded_app()
    app.mount("/component", StaticFiles(directory=COMPONENT), name="component")
    add_asyncapi(
        app,
        title="Rendered",
        script_url="/component/browser/standalone/index.js",
        style_url="/component/styles/default.min.css",
    )
    with live_server(app) as server, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        page = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=20000",
                "--dump-dom",
                "http" + server.url.removeprefix("ws") + "/asyncapi",
            ],
            capture_output=True,
            text=True,
            timeout=90,
        ).stdout
    assert "Rendered" in page
    for address in ("/ws/rooms/{room}", "/ws/shards/{shard}", "/open"):
        assert address in page
    assert "x-handshake-rejections" in page
