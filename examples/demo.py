"""Serve the examples with uvicorn and show, per endpoint, what a real client gets on the wire."""

import asyncio
import sys
from pathlib import Path

from fastapi_ws_reject.testing import Handshake, handshake, live_server

ROOT = Path(__file__).resolve().parents[1]

CASES: list[tuple[str, str, dict[str, str]]] = [
    ("member joins a room", "/rooms/lobby?user=bob", {}),
    ("stranger asks for a room", "/rooms/ops?user=bob", {}),
    ("chat with a token", "/chat?token=s3cret", {}),
    ("chat without a token", "/chat", {}),
    ("feed from a trusted origin", "/feed/news", {"Origin": "https://chat.example.com"}),
    ("feed from a foreign origin", "/feed/news", {"Origin": "https://evil.example"}),
    ("feed with no origin", "/feed/news", {}),
    ("app-wide: unknown item", "/app-wide/items/7", {}),
    ("app-wide: item deleted after accept", "/app-wide/items/1", {}),
    ("app-wide: too many sockets", "/app-wide/busy", {}),
]


def describe(result: Handshake) -> str:
    if result.status_code == 101:
        return f"101 accepted, messages {result.messages}, then close {result.close_code} {result.close_reason!r}"
    shown = {name: value for name, value in result.headers.items() if name not in ("date", "server")}
    return f"{result.status_code} {shown} body {result.content.decode(errors='replace')!r}"


async def probe(base_url: str) -> None:
    for label, path, headers in CASES:
        result = await handshake(base_url + path, headers=headers)
        print(f"{label:38} {path:28} -> {describe(result)}")


def main(ws: str = "websockets-sansio") -> None:
    with live_server("examples.demo_app:app", ws=ws, cwd=ROOT) as server:
        print(f"uvicorn --ws {ws} serving examples.demo_app:app at {server.url}\n")
        asyncio.run(probe(server.url))


if __name__ == "__main__":
    main(*sys.argv[1:2])
