"""Guards checked before FastAPI's solving, on every real server: the same answer as after it, and 40
concurrent handshakes that each get their own guard's value (no value reaches another client's endpoint)."""

import asyncio

import pytest

from fastapi_ws_reject.testing import RunningServer, handshake, live_server
from tests.support.apps import ROOT
from tests.support.servers import BEHAVIOURS, SERVERS

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=SERVERS, ids=lambda server: "-".join(filter(None, server)))
def server(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    name, ws = request.param
    with live_server("tests.security.guarded_app:app", server=name, ws=ws or "none", cwd=ROOT) as running:
        yield running


@pytest.mark.parametrize("prefix", ["/early", "/included"])
def test_a_route_guard_answers_alike_before_and_after_fastapis_solving(server: RunningServer, prefix: str) -> None:
    refused = asyncio.run(handshake(server + prefix + "/whoami"))
    if BEHAVIOURS[server.name].denial_extension:
        assert (refused.status_code, refused.content) == (401, b"name yourself")
        assert refused.headers["www-authenticate"] == 'Name realm="wire"'
    else:
        assert (refused.status_code, refused.content) == (403, b"")


async def whoami_concurrently(url: str, names: list[str]) -> list[list[str]]:
    answers = await asyncio.gather(*(handshake(url, headers={"x-name": name}) for name in names))
    return [answer.messages for answer in answers]


def test_each_handshake_gets_its_own_guards_value_under_concurrency(server: RunningServer) -> None:
    names = [f"client-{number}" for number in range(40)]
    assert asyncio.run(whoami_concurrently(server + "/early/whoami", names)) == [[name] for name in names]
