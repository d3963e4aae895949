"""What each server does with a rejection, as pinned by the tests; the README's server table is made from it."""

from dataclasses import dataclass, field

from fastapi_ws_reject.testing import UVICORN_WS

# Every server and uvicorn websocket implementation the wire tests run on; test ids read "uvicorn-wsproto".
SERVERS = [("uvicorn", ws) for ws in UVICORN_WS] + [("hypercorn", ""), ("granian", ""), ("daphne", "")]

# A websocket handshake for a raw socket; {path} and {port} are filled in.
HANDSHAKE_REQUEST = (
    "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)

# Headers any server may add to a response; everything else on a denial must be what the app declared.
SERVER_HEADERS = frozenset({"date", "server", "connection"})


@dataclass(frozen=True)
class Behaviour:
    label: str
    denial_extension: bool = True
    added_headers: frozenset[str] = field(default_factory=frozenset)  # beyond SERVER_HEADERS
    types_empty_body: bool = False  # adds content-type to a denial without a body
    closes_after_denial: bool = True  # or keeps the HTTP/1.1 connection alive
    send_error_when_client_gone: str = ""  # what send() raises instead of OSError when the client left
    keeps_close_reason: bool = True
    error_before_accept: int = 500
    error_after_accept: frozenset[int] = frozenset({1006})
    note: str = ""

    @property
    def before_accept(self) -> str:
        if not self.denial_extension:
            return "403, empty body (the fallback: a close before accept)"
        extras = [f"`{name}`" for name in sorted(self.added_headers)]
        if self.types_empty_body:
            extras.append("`content-type: text/plain` on an empty body")
        return "declared status, headers, body" + (f"; adds {', '.join(extras)}" if extras else "")

    @property
    def after_accept(self) -> str:
        return "close code and reason" if self.keeps_close_reason else "close code; the reason is dropped"

    @property
    def errors(self) -> str:
        return f"{self.error_before_accept} / close {', '.join(map(str, sorted(self.error_after_accept)))}"


BEHAVIOURS: dict[str, Behaviour] = {
    "uvicorn-websockets-sansio": Behaviour(
        "uvicorn `--ws websockets-sansio`",
        types_empty_body=True,
        note="before uvicorn 0.55, logs `ASGI callable returned without completing handshake.` for every "
        "denial: see `quiet_uvicorn_denial_errors()`",
    ),
    "uvicorn-websockets": Behaviour("uvicorn `--ws websockets`", types_empty_body=True, note="deprecated by uvicorn"),
    "uvicorn-wsproto": Behaviour("uvicorn `--ws wsproto`"),
    "hypercorn": Behaviour("hypercorn", error_after_accept=frozenset({1011})),
    "granian": Behaviour(
        "granian",
        added_headers=frozenset({"upgrade", "sec-websocket-accept"}),
        closes_after_denial=False,
        send_error_when_client_gone="RuntimeError: ASGI flow error: Connection already upgraded",
        error_before_accept=403,
        error_after_accept=frozenset({1005}),
        note="clients still read the status and body; keeps the connection open after a denial; "
        "an app error before accept is a 403; a client gone before the denial may make `send()` raise "
        "`RuntimeError` (not the `OSError` ASGI names), which is logged",
    ),
    "daphne": Behaviour(
        "daphne",
        denial_extension=False,
        keeps_close_reason=False,
        error_after_accept=frozenset({1011}),
        note="no denial extension: one warning per app; an app error before accept takes about 1 s",
    ),
}


def server_table() -> str:
    rows = [
        "| server | before accept | after accept | unexpected error (before / after accept) | notes |",
        "|---|---|---|---|---|",
    ]
    rows += [
        f"| {b.label} | {b.before_accept} | {b.after_accept} | {b.errors} | {b.note} |" for b in BEHAVIOURS.values()
    ]
    return "\n".join(rows) + "\n"
