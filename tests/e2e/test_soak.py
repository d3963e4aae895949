"""Thousands of mixed handshakes at concurrency 64: every answer right, no error logged, nothing leaked."""

import asyncio
import json
import time
import urllib.request
from collections import Counter

import pytest

from fastapi_ws_reject.testing import Handshake, RunningServer, handshake, live_server
from tests.support.apps import ROOT

pytestmark = pytest.mark.e2e

CONCURRENCY = 64
WARM_UP = 2000
RSS_GROWTH_LIMIT_KB = 8 * 1024  # after a warm-up that reaches the plateau (about 66 MiB on uvicorn)
KINDS = ("reject", "accept", "late")


def stats(server: RunningServer) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/stats", timeout=5) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def outcome(result: Handshake) -> str:
    if result.status_code == 403 and result.content == b"no":
        return "reject"
    if result.status_code == 101 and result.messages == ["ok"] and result.close_code == 1000:
        return "accept"
    if (
        result.status_code == 101
        and result.messages == []
        and (result.close_code, result.close_reason) == (4404, "gone")
    ):
        return "late"
    return f"unexpected: {result}"


async def run_mixed(server: RunningServer, count: int) -> Counter[tuple[str, str]]:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(number: int) -> tuple[str, str]:
        kind = KINDS[number % len(KINDS)]
        async with limit:
            return kind, outcome(await handshake(f"{server.url}/soak/{kind}"))

    return Counter(await asyncio.gather(*(one(number) for number in range(count))))


def back_to(server: RunningServer, start: dict[str, int], timeout: float = 15.0) -> dict[str, int]:
    """The server's stats once its file descriptors and tasks are back to `start` or fewer (or the timeout
    ends): closing connections take a moment, and hypercorn holds an idle one (such as the readiness probe's)
    for its 5 s keep-alive timeout, so `start` may count one that is gone by the end."""
    deadline = time.monotonic() + timeout
    while (now := stats(server))["fds"] > start["fds"] or now["tasks"] > start["tasks"]:
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return now


@pytest.mark.parametrize("name", ["uvicorn", "hypercorn"])
def test_mixed_handshakes_all_answered_right_with_nothing_leaked(name: str, request: pytest.FixtureRequest) -> None:
    count = request.config.getoption("--soak-handshakes")
    with live_server("tests.e2e.soak_app:app", name, cwd=ROOT) as server:
        start = stats(server)
        asyncio.run(run_mixed(server, WARM_UP))  # imports, first-handshake paths, allocator arenas
        warm = back_to(server, start)
        started = time.monotonic()
        results = asyncio.run(run_mixed(server, count))
        elapsed = time.monotonic() - started
        after = back_to(server, start)
    wrong = {pair: n for pair, n in results.items() if pair[0] != pair[1]}
    assert not wrong, f"wrong answers: {wrong}"
    assert sum(results.values()) == count
    assert after["fds"] <= start["fds"] and after["tasks"] <= start["tasks"], (start, after)
    growth_kb = after["rss_kb"] - warm["rss_kb"]
    assert growth_kb < RSS_GROWTH_LIMIT_KB
    log = server.log()
    assert "ERROR" not in log and "Traceback" not in log, log[-3000:]
    print(f"\n{name}: {count} handshakes in {elapsed:.1f}s ({count / elapsed:.0f}/s), RSS {growth_kb:+d} KiB")
