"""Expiry and re-validation on every server, with a real client: the close codes, their timing, nothing left."""

import asyncio
import json
import time
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from fastapi_ws_reject.testing import RunningServer, live_server
from tests.support.apps import ROOT
from tests.support.servers import BEHAVIOURS, SERVERS

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=SERVERS, ids=lambda server: "-".join(filter(None, server)))
def server(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    name, ws = request.param
    with live_server("tests.security.expiry_app:app", server=name, ws=ws or "none", cwd=ROOT) as running:
        yield running


def get(server: RunningServer, path: str) -> object:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as response:
        return json.loads(response.read())


async def until_closed(url: str, greeting: str, then: object = None) -> tuple[int | None, str | None, float]:
    async with connect(url) as websocket:
        assert await websocket.recv() == greeting
        if callable(then):
            await asyncio.to_thread(then)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(websocket.recv(), 5)
        return websocket.close_code, websocket.close_reason, time.time()


def test_a_token_that_expires_in_one_second_closes_with_4401_within_the_next_second(server: RunningServer) -> None:
    expires_at = time.time() + 1
    code, reason, closed_at = asyncio.run(until_closed(f"{server}/expiring?access_token={expires_at}", "hello alice"))
    assert code == 4401
    if BEHAVIOURS[server.name].keeps_close_reason:
        assert reason == "credential expired"
    assert expires_at - 0.05 <= closed_at < expires_at + 1


def test_a_revalidation_that_starts_refusing_closes_with_its_code(server: RunningServer) -> None:
    room = f"r{time.monotonic_ns()}"
    code, reason, _ = asyncio.run(
        until_closed(f"{server}/rooms?room={room}", f"in {room}", lambda: get(server, f"/close-room/{room}"))
    )
    assert code == 4403
    if BEHAVIOURS[server.name].keeps_close_reason:
        assert reason == "room closed"


async def open_then_close(server: RunningServer) -> dict[str, int]:
    async with (
        connect(f"{server}/expiring?access_token={time.time() + 60}") as expiring,
        connect(f"{server}/rooms?room=lobby") as revalidated,
    ):
        assert await expiring.recv() == "hello alice"
        assert await revalidated.recv() == "in lobby"
        return await asyncio.to_thread(get, server, "/scheduled")  # type: ignore[arg-type]


def test_a_socket_the_client_closes_first_leaves_nothing_scheduled(server: RunningServer) -> None:
    before = get(server, "/scheduled")
    assert isinstance(before, dict)
    while_open = asyncio.run(open_then_close(server))
    assert while_open["watches"] == before["watches"] + 2
    deadline = time.monotonic() + 5
    while (after := get(server, "/scheduled")) != before and time.monotonic() < deadline:  # noqa: B023
        time.sleep(0.05)
    assert after == before
