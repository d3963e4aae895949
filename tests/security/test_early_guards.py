"""Attacks on guards checked before FastAPI's solving (a `RejectingWebSocketRoute` served as built).

The concurrent-handshakes attack (one client's value reaching another's endpoint) runs on every real server in
`tests/security/test_early_guards_wire.py::test_each_handshake_gets_its_own_guards_value_under_concurrency`.
"""

from typing import Annotated

from fastapi import Depends, FastAPI, WebSocket
from starlette.requests import HTTPConnection
from starlette.testclient import TestClient

from fastapi_ws_reject import Guard, RejectingRouter
from fastapi_ws_reject.guards._base import CHECKED_KEY
from fastapi_ws_reject.testing import assert_rejected
from tests.support.apps import Member

ALICE = {"x-member": "alice"}


class Nobody(Guard[str]):
    async def check(self, connection: HTTPConnection) -> str:
        self.refuse(connection, "closed for maintenance")


def served_as_built(member: Member, app: FastAPI) -> FastAPI:
    router = RejectingRouter(dependency_overrides_provider=app)

    @router.websocket("/members", dependencies=[Depends(member)])
    async def members(websocket: WebSocket, name: Annotated[str, Depends(member)]) -> None:
        await websocket.accept()
        await websocket.send_text(name)
        await websocket.close()

    app.router.routes.extend(router.routes)
    return app


def test_a_stricter_override_is_not_skipped_by_a_passing_early_check() -> None:
    member = Member()
    app = served_as_built(member, FastAPI())
    app.dependency_overrides[member] = Nobody()
    assert_rejected(TestClient(app), "/members", status_code=403, request_headers=ALICE)
    assert member.checks == 0


def test_a_value_left_for_fastapi_is_not_kept_past_the_guards_call() -> None:
    # A later dependency (here the endpoint) must not find another guard's value, nor the key, in the scope.
    member = Member()
    seen: list[bool] = []
    router = RejectingRouter()

    async def later(websocket: WebSocket) -> None:
        seen.append(CHECKED_KEY in websocket.scope)

    @router.websocket("/members", dependencies=[Depends(member), Depends(later)])
    async def members(websocket: WebSocket) -> None:
        seen.append(CHECKED_KEY in websocket.scope)
        await websocket.accept()
        await websocket.close()

    app = FastAPI()
    app.router.routes.extend(router.routes)
    with TestClient(app).websocket_connect("/members", headers=ALICE):
        pass
    assert seen == [False, False]
