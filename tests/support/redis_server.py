"""A real redis-server for the tests that need one (tests/security/test_limits_redis*.py), started on a free port."""

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator

import pytest

from fastapi_ws_reject.testing import RunningServer
from fastapi_ws_reject.testing._servers import _wait_until_listening, free_port


@contextlib.contextmanager
def redis_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of our own on a free loopback port, stopped by its PID.

    ```python
    with redis_server() as (url, process):
        backend = RedisBackend(Redis.from_url(url))
    ```
    """
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed; .ci/run installs Debian's redis-server package.")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--enable-debug-command",
            "local",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_listening(RunningServer("redis", port, None), 10, lambda: process.poll() is None)
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)  # a test may have paused it with SIGSTOP
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
