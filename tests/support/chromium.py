"""A real headless Chromium, driven over the DevTools protocol with the `websockets` client (no tool downloads a
browser of its own): started with the flags a test needs, stopped by its PID."""

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@contextlib.contextmanager
def chromium(*flags: str) -> Iterator[str]:
    """A headless Chromium's DevTools HTTP address; the browser is stopped by its PID afterwards."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed; .ci/run installs Debian's chromium package.")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                *flags,
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            active_port = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 30
            while not active_port.exists() or not active_port.read_text().strip():
                assert process.poll() is None and time.monotonic() < deadline, "Chromium did not start"
                time.sleep(0.1)
            yield f"127.0.0.1:{active_port.read_text().split()[0]}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def call(page: ClientConnection, ids: Iterator[int], method: str, **params: Any) -> Any:
    number = next(ids)
    await page.send(json.dumps({"id": number, "method": method, "params": params}))
    while True:
        message = json.loads(await page.recv())
        if message.get("id") == number:
            return message.get("result")


async def results_in_the_page(devtools_address: str, url: str, expected: int) -> dict[str, dict[str, Any]]:
    """Open `url` in the browser's page and wait until its script put `expected` entries in `window.results`."""
    with urllib.request.urlopen(f"http://{devtools_address}/json/list", timeout=5) as response:
        target = next(t for t in json.loads(response.read()) if t["type"] == "page")
    ids = count(1)
    results: dict[str, dict[str, Any]] = {}
    async with connect(target["webSocketDebuggerUrl"], max_size=None) as page:
        await call(page, ids, "Page.navigate", url=url)
        for _ in range(200):
            result = await call(page, ids, "Runtime.evaluate", expression="JSON.stringify(window.results || {})")
            results = json.loads(result["result"]["value"])
            if len(results) == expected:
                return results
            await asyncio.sleep(0.05)
    raise AssertionError(f"the page saw only {results}")
