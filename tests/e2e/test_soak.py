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
WARM_UP_BATCHES = 4
WARM_GROWTH_KB = 1024
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


def warmed_up(server: RunningServer, start: dict[str, int]) -> dict[str, int]:
    """The server's stats once its RSS has reached its plateau: imports, first-handshake paths and allocator arenas
    grow it over the first batches (on Python 3.13, hypercorn grew 2 to 8 MiB over a second batch of 2,000). A
    batch that grows it by under WARM_GROWTH_KB ends the warm-up; a leak grows every batch, and the measured one
    still shows it."""
    warm = stats(server)
    for _ in range(WARM_UP_BATCHES):
        asyncio.run(run_mixed(server, WARM_UP))
        previous, warm = warm, back_to(server, start)
        if warm["rss_kb"] - previous["rss_kb"] < WARM_GROWTH_KB:
            break
    return warm


@pytest.mark.parametrize("name", ["uvicorn", "hypercorn"])
def test_mixed_handshakes_all_answered_right_with_nothing_leaked(name: str, request: pytest.FixtureRequest) -> None:
    count = request.config.getoption("--soak-handshakes")
    with live_server("tests.e2e.soak_app:app", name, cwd=ROOT) as server:
        start = stats(server)
        warm = warmed_up(server, start)
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
