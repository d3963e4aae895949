"""`SubprotocolGuard`: refuse a handshake that offers none of the subprotocols the endpoint speaks."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import HTTPConnection

from .._rejection import WebSocketRejection
from ..policy import Policy
from ._base import Guard


class SubprotocolGuard(Guard[str]):
    """Returns the subprotocol to accept: the first of `supported` (your order of preference) offered.

    ```python
    protocols = SubprotocolGuard(["chat.v2", "chat.v1"])

    @router.websocket("/chat")
    async def chat(websocket: WebSocket, protocol: Annotated[str, Depends(protocols)]):
        await websocket.accept(subprotocol=protocol)
    ```

    Refuses with 400 and `{"detail": ..., "supported": [...]}`. Why 400: RFC 6455 leaves a server free to
    refuse a handshake it cannot serve, and the request lacks something the endpoint needs; 406 is for
    `Accept*` content negotiation and 426 asks the client to switch HTTP protocol, neither of which fits.
    """

    def __init__(
        self, supported: Iterable[str], *, rejection: WebSocketRejection | None = None, policy: Policy | None = None
    ) -> None:
        if isinstance(supported, str):
            raise TypeError(f"supported must be a list of subprotocols, not a string; write [{supported!r}].")
        self.supported: tuple[str, ...] = tuple(supported)
        if not self.supported:
            raise ValueError("SubprotocolGuard needs at least one supported subprotocol.")
        super().__init__(rejection=rejection, policy=policy)

    def make_rejection(self) -> WebSocketRejection:
        return WebSocketRejection(
            400, {"detail": "no supported subprotocol offered", "supported": list(self.supported)}
        )

    async def check(self, connection: HTTPConnection) -> str:
        offered = offered_subprotocols(connection)
        chosen = next((name for name in self.supported if name in offered), None)
        if chosen is None:
            # What a client offers may carry a credential (a token after "bearer"): log how many, never which.
            self.refuse(connection, f"none of the {len(offered)} offered subprotocols is supported")
        return chosen


def offered_subprotocols(connection: HTTPConnection) -> list[str]:
    """The subprotocols the client offered, in its order."""
    subprotocols = connection.scope.get("subprotocols")
    if subprotocols is not None:
        return list(subprotocols)
    header = connection.headers.get("sec-websocket-protocol", "")
    return [name.strip() for name in header.split(",") if name.strip()]
