"""Issue 21, rows 10 and 11 on the wire: a `RejectingRouter` route's `dependencies=[Depends(verify_token)]` raising
`HTTPException(401)` is answered 401 with its headers and body on every server (FastAPI 0.115 on uvicorn used to
answer 500, "ASGI callable returned without completing handshake"), and a validation error in such a dependency is
a 422 even when the endpoint takes only its `WebSocket` (it was FastAPI's close 1008, a bare 403).
This module is also the app the servers import.
"""

import asyncio
from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Header, HTTPException, WebSocket

from fastapi_ws_reject import RejectingRouter
from fastapi_ws_reject.testing import Handshake, RunningServer, handshake, live_server
from tests.support.apps import ROOT
from tests.support.servers import BEHAVIOURS, SERVERS

pytestmark = pytest.mark.e2e


async def verify_token(x_token: Annotated[str, Header()] = "") -> None:
    if x_token != "good":
        raise HTTPException(401, "bad token", headers={"WWW-Authenticate": "Bearer"})


async def needs_a_number(x_number: Annotated[int, Header()]) -> None:
    pass


router = RejectingRouter()


@router.websocket("/token", dependencies=[Depends(verify_token)])
async def token(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("in")
    await websocket.close()


@router.websocket("/number", dependencies=[Depends(needs_a_number)])
async def number(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("in")
    await websocket.close()


app = FastAPI()
app.include_router(router)


@pytest.fixture(scope="module", params=SERVERS, ids=lambda server: "-".join(filter(None, server)))
def server(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    name, ws = request.param
    with live_server(f"{__name__}:app", server=name, ws=ws or "none", cwd=ROOT) as running:
        yield running


def connect(server: RunningServer, path: str, headers: dict[str, str] | None = None) -> Handshake:
    return asyncio.run(handshake(server.url + path, headers=headers))


def test_a_route_dependency_raising_http_exception_is_answered_as_declared(server: RunningServer) -> None:
    refused = connect(server, "/token")
    if not BEHAVIOURS[server.name].denial_extension:
        assert (refused.status_code, refused.content) == (403, b"")  # the fallback close
    else:
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert refused.content == b'{"detail":"bad token"}'
    assert connect(server, "/token", {"x-token": "good"}).messages == ["in"]


def test_a_validation_error_in_a_route_dependency_is_a_422(server: RunningServer) -> None:
    refused = connect(server, "/number")
    if not BEHAVIOURS[server.name].denial_extension:
        assert (refused.status_code, refused.content) == (403, b"")
    else:
        assert refused.status_code == 422
        assert b'"x-number"' in refused.content
    assert connect(server, "/number", {"x-number": "7"}).messages == ["in"]
