"""Serve the examples with uvicorn and show, per endpoint, what a real client gets on the wire."""

import asyncio
import sys
from pathlib import Path

from fastapi_ws_reject.testing import Handshake, handshake, live_server

ROOT = Path(__file__).resolve().parents[1]

# label, path, request headers, and the status the handshake must get (101: accepted)
CASES: list[tuple[str, str, dict[str, str], int]] = [
    ("member joins a room", "/rooms/lobby?user=bob", {}, 101),
    ("stranger asks for a room", "/rooms/ops?user=bob", {}, 404),
    ("chat with a token", "/chat?token=s3cret", {}, 101),
    ("chat without a token", "/chat", {}, 401),
    ("feed from a trusted origin", "/feed/news", {"Origin": "https://chat.example.com"}, 101),
    ("feed from a foreign origin", "/feed/news", {"Origin": "https://evil.example"}, 403),
    ("feed with no origin", "/feed/news", {}, 403),
    ("app-wide: unknown item", "/app-wide/items/7", {}, 404),
    ("app-wide: item deleted after accept", "/app-wide/items/1", {}, 101),
    ("app-wide: too many sockets", "/app-wide/busy", {}, 429),
]


def describe(result: Handshake) -> str:
    if result.status_code == 101:
        return f"101 accepted, messages {result.messages}, then close {result.close_code} {result.close_reason!r}"
    shown = {name: value for name, value in result.headers.items() if name not in ("date", "server")}
    return f"{result.status_code} {shown} body {result.content.decode(errors='replace')!r}"


async def probe(base_url: str) -> list[str]:
    """Print what each case got; return the cases whose status was not the expected one."""
    wrong: list[str] = []
    for label, path, headers, expected in CASES:
        result = await handshake(base_url + path, headers=headers)
        print(f"{label:38} {path:28} -> {describe(result)}")
        if result.status_code != expected:
            wrong.append(f"{label}: expected {expected}, got {result.status_code}")
    return wrong


def main(ws: str = "websockets-sansio") -> None:
    with live_server("examples.demo_app:app", ws=ws, cwd=ROOT) as server:
        print(f"uvicorn --ws {ws} serving examples.demo_app:app at {server.url}\n")
        wrong = asyncio.run(probe(server.url))
    if wrong:
        sys.exit("\nThe demo got answers it does not expect:\n" + "\n".join(wrong))


if __name__ == "__main__":
    main(*sys.argv[1:2])
