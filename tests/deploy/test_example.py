"""examples/deploy/run.py, as a user runs it: it starts the deployment, serves a handshake through the proxy,
and stops every process it started on Ctrl-C."""

import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from examples.deploy.run import PROXIES
from tests.support.apps import ROOT
from tests.support.deployment import ALLOWED_CLIENT, require
from tests.support.redis_server import _require_redis_server

pytestmark = [pytest.mark.e2e, pytest.mark.deploy]


def children(pid: int) -> list[int]:
    """Every process below `pid`, however deep."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *children(int(child))]
    return found


def alive(pid: int) -> bool:
    """Whether `pid` still runs: a zombie (exited, its parent gone, not yet reaped by init) does not."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("kind", PROXIES)
def test_the_example_serves_through_the_proxy_and_stops_everything(kind: str) -> None:
    require(kind)
    _require_redis_server()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "examples.deploy.run", "--proxy", kind]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    started: list[int] = []
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline(), process.stdout.readline()]
        assert lines[0].startswith("ready: wss://127.0.0.2:"), "".join(lines) + process.stdout.read()
        url = lines[0].split()[1]
        certificate = lines[1].rsplit(" ", 1)[1].strip()
        started = children(process.pid)
        assert len(started) >= 1 + 2 * 3  # redis, the proxy, two hosts of a supervisor and two workers

        async def greeting() -> dict[str, object]:
            context = ssl.create_default_context(cafile=certificate)
            async with connect(url, ssl=context, local_addr=(ALLOWED_CLIENT, 0)) as websocket:
                answer: dict[str, object] = json.loads(await websocket.recv())
                return answer

        assert asyncio.run(greeting())["client"] == ALLOWED_CLIENT
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert process.stdout.read().strip().endswith("stopped")
        assert [pid for pid in started if alive(pid)] == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        for pid in started:  # only on a failure above: what the example left behind
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
