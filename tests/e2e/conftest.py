from collections.abc import Iterator

import pytest

from fastapi_ws_reject.testing import RunningServer, live_server
from tests.support.apps import ROOT
from tests.support.servers import BEHAVIOURS, SERVERS, Behaviour


@pytest.fixture(scope="module", params=SERVERS, ids=lambda server: "-".join(filter(None, server)))
def server(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    name, ws = request.param
    with live_server("tests.e2e.app:app", server=name, ws=ws or "none", cwd=ROOT) as running:
        yield running


@pytest.fixture
def behaviour(server: RunningServer) -> Behaviour:
    return BEHAVIOURS[server.name]
