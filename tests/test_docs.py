"""Every README snippet and every example runs."""

import asyncio
import importlib
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from fastapi_ws_reject.testing import handshake, live_server
from tests.apps import ROOT
from tests.e2e.support import server_table

SNIPPETS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.DOTALL)


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[f"readme-{number}" for number in range(len(SNIPPETS))])
def test_readme_snippet_runs(snippet: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    exec(compile(snippet, "README.md", "exec"), {"__name__": "readme"})


def test_readme_server_table_is_the_one_the_tests_pin() -> None:
    assert server_table() in (ROOT / "README.md").read_text()


def deny(app: FastAPI, path: str, **kwargs: object) -> WebSocketDenialResponse:
    with pytest.raises(WebSocketDenialResponse) as denial, TestClient(app).websocket_connect(path, **kwargs):  # type: ignore[arg-type]
        pass
    return denial.value


def test_rooms_example() -> None:
    from examples import rooms

    assert deny(rooms.app, "/rooms/ops?user=bob").json() == {"detail": "no room 'ops' for bob"}
    with TestClient(rooms.app).websocket_connect("/rooms/ops?user=alice") as websocket:
        assert websocket.receive_text() == "welcome to ops, alice"


def test_token_guard_example() -> None:
    from examples import token_guard

    denial = deny(token_guard.app, "/chat?token=wrong")
    assert (denial.status_code, denial.headers["www-authenticate"]) == (401, 'Bearer realm="chat"')
    with TestClient(token_guard.app).websocket_connect("/chat?token=s3cret") as websocket:
        assert websocket.receive_text() == "hello alice"


def test_decorator_example() -> None:
    from examples import decorator

    assert deny(decorator.app, "/feed/news", headers={"Origin": "https://evil.example"}).status_code == 403
    with TestClient(decorator.app).websocket_connect(
        "/feed/news", headers={"Origin": "https://chat.example.com"}
    ) as ws:
        assert ws.receive_text() == "subscribed to news"


def test_app_wide_example() -> None:
    from examples import app_wide

    assert deny(app_wide.app, "/items/7").json() == {"detail": "item not found"}
    assert deny(app_wide.app, "/busy").headers["retry-after"] == "30"


@pytest.mark.e2e
def test_demo_runs_against_a_real_server(capsys: pytest.CaptureFixture[str]) -> None:
    demo = importlib.import_module("examples.demo")
    demo.main()
    out = capsys.readouterr().out
    assert "-> 404" in out and "-> 401" in out and "-> 429" in out and "close 4409 'item 1 was deleted'" in out


@pytest.mark.e2e
def test_demo_app_on_hypercorn() -> None:
    with live_server("examples.demo_app:app", server="hypercorn", cwd=ROOT) as server:
        result = asyncio.run(handshake(server.url + "/chat"))
    assert result.status_code == 401


def test_browser_example_without_a_browser() -> None:
    from examples.browser import app as browser
    from fastapi_ws_reject.testing import assert_closed, assert_rejected

    client = TestClient(browser.app)
    assert "new WebSocket" in client.get("/").text
    assert_rejected(client, "/ws/http", status_code=401, headers={"WWW-Authenticate": "Bearer"})
    assert_closed(client, "/ws/close", close_code=4401, close_reason="log in again")
    assert_rejected(client, "/ws/auto", status_code=401)
