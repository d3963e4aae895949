"""Every code block of the README and the docs site runs, every rejection it shows is asserted, and every
example runs."""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import logging
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from fastapi_ws_reject.testing import handshake, live_server
from tests.support.apps import ROOT
from tests.support.servers import server_table

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# A fenced block, possibly indented (in a list or an admonition): its info string and its code.
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^\n`]*)\n(?P<code>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
# Languages a fence may name; a python block under another name (py, pycon, python3) would never run.
OTHER_LANGUAGES = {"bash", "js", "text", "toml", "yaml", "json", "http", "html"}
# What needs a real server: such snippets run with the e2e tests.
NEEDS_A_SERVER = re.compile(r"\blive_server\b|\bws_live_server\b")


@dataclass(frozen=True)
class Snippet:
    path: Path
    line: int  # of the first line of code, 1-based
    code: str

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def fences(path: Path) -> Iterator[tuple[str, int, str]]:
    text = path.read_text()
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start("code")) + 1
        yield match["info"].strip(), line, textwrap.dedent(match["code"])


SNIPPETS = [Snippet(path, line, code) for path in DOCUMENTS for info, line, code in fences(path) if info == "python"]


def snippet_params() -> list[object]:
    return [
        pytest.param(snippet, id=snippet.name, marks=[pytest.mark.e2e] if NEEDS_A_SERVER.search(snippet.code) else [])
        for snippet in SNIPPETS
    ]


@pytest.fixture
def isolated_uvicorn_logger() -> Iterator[None]:
    # A snippet may call quiet_uvicorn_denial_errors(); the filter must not outlive it in this process.
    logger = logging.getLogger("uvicorn.error")
    filters = list(logger.filters)
    yield
    logger.filters[:] = filters


@pytest.mark.usefixtures("isolated_uvicorn_logger")
@pytest.mark.parametrize("snippet", snippet_params())
def test_snippet_runs(snippet: Snippet, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Each block runs alone, from the repository root; a `test_*` function it defines runs with its fixtures."""
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": "docs_snippet"}
    # Padded so that a traceback names the line in the Markdown file.
    exec(compile("\n" * (snippet.line - 1) + snippet.code, str(snippet.path), "exec"), namespace)
    for name, value in namespace.items():
        if name.startswith("test_") and inspect.isfunction(value):
            fixtures = inspect.signature(value).parameters
            value(**{fixture: request.getfixturevalue(fixture) for fixture in fixtures})


def test_every_document_has_snippets_to_run() -> None:
    empty = [str(path.relative_to(ROOT)) for path in DOCUMENTS if path.parent.name in ("tutorial", "guards")]
    empty = [name for name in empty if not any(snippet.name.startswith(name + ":") for snippet in SNIPPETS)]
    assert not empty, f"tutorial and guard pages show running code; these have no ```python block: {empty}"


@pytest.mark.parametrize("path", DOCUMENTS, ids=[str(path.relative_to(ROOT)) for path in DOCUMENTS])
def test_code_blocks_name_a_language_the_tests_know(path: Path) -> None:
    unknown = [(line, info) for info, line, _ in fences(path) if info != "python" and info not in OTHER_LANGUAGES]
    assert not unknown, (
        f"{path.relative_to(ROOT)}: fences {unknown} name no language the docs tests know; write ```python for "
        f"Python (it is run) or one of {sorted(OTHER_LANGUAGES)}."
    )


# A snippet that shows a rejection must fail when there is none. `try: connect() except WebSocketDisconnect:
# assert ...` passes when the handshake is accepted, since nothing is raised; so does `contextlib.suppress`.
# The rule: outside `async def` (the app's own code, which may catch what it expects, a client leaving), a
# `try` with an `except` needs an `else:` that fails (`raise ...` or `pytest.fail(...)`), and nothing is
# suppressed. assert_rejected / assert_closed and pytest.raises fail on their own.


def unchecked_catches(code: str, first_line: int = 1) -> list[str]:
    """What in `code` passes silently when the exception it expects is not raised, by line (`code` starting at
    `first_line`)."""
    problems: list[str] = []

    def report(node: ast.stmt, what: str) -> None:
        problems.append(f"line {first_line + node.lineno - 1}: {what} passes when nothing is raised")

    class Visitor(ast.NodeVisitor):
        def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
            return  # server side: endpoints and dependencies

        def visit_Try(self, node: ast.Try) -> None:
            if node.handlers and not any(_fails(statement) for statement in node.orelse):
                caught = ", ".join(ast.unparse(handler.type) if handler.type else "" for handler in node.handlers)
                report(node, f"`try` / `except {caught}`")
            self.generic_visit(node)

        def visit_With(self, node: ast.With) -> None:
            for item in node.items:
                call = item.context_expr
                if isinstance(call, ast.Call) and ast.unparse(call.func).split(".")[-1] == "suppress":
                    report(node, "`suppress(...)`")
            self.generic_visit(node)

    Visitor().visit(ast.parse(code))
    return problems


def _fails(statement: ast.stmt) -> bool:
    for node in ast.walk(statement):
        if isinstance(node, ast.Raise):
            return True
        if isinstance(node, ast.Call) and ast.unparse(node.func) in ("pytest.fail", "fail"):
            return True
    return False


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[snippet.name for snippet in SNIPPETS])
def test_snippet_asserts_the_rejections_it_shows(snippet: Snippet) -> None:
    problems = unchecked_catches(snippet.code, snippet.line)
    assert not problems, (
        f"{snippet.path.relative_to(ROOT)}, {'; '.join(problems)}: use assert_rejected / assert_closed or "
        "pytest.raises, which fail when the handshake is accepted (or give the `try` an `else:` that raises)"
    )


SILENT = {
    "denial": """
        try:
            connect()
        except WebSocketDenialResponse as denial:
            assert denial.status_code == 404
    """,
    "close-after-accept": """
        with client.websocket_connect("/items/1") as websocket:
            try:
                websocket.receive_text()
            except WebSocketDisconnect as closed:
                assert closed.code == 4409
    """,
    "value-error": """
        try:
            WebSocketRejection(200)
        except ValueError as error:
            assert "status_code" in str(error)
    """,
    "else-that-passes": """
        try:
            connect()
        except (WebSocketDisconnect, WebSocketDenialResponse):
            pass
        else:
            print("accepted")
    """,
    "sync-helper": """
        def deny():
            try:
                connect()
            except WebSocketDenialResponse:
                return
    """,
    "suppress": """
        with contextlib.suppress(WebSocketDisconnect):
            connect()
    """,
}
CHECKED = {
    "else-raises": """
        try:
            connect()
        except WebSocketDenialResponse as denial:
            assert denial.status_code == 404
        else:
            raise AssertionError("accepted")
    """,
    "else-fails": """
        try:
            connect()
        except WebSocketDisconnect:
            pass
        else:
            pytest.fail("accepted")
    """,
    "endpoint": """
        async def endpoint(websocket):
            try:
                await websocket.receive_text()
            except WebSocketDisconnect:
                return
    """,
    "pytest-raises": """
        with pytest.raises(WebSocketDenialResponse):
            connect()
    """,
    "assert-rejected": """
        assert_rejected(client, "/ws", status_code=404)
    """,
}


@pytest.mark.parametrize("code", SILENT.values(), ids=SILENT.keys())
def test_a_catch_that_passes_silently_is_refused(code: str) -> None:
    assert unchecked_catches(textwrap.dedent(code))


@pytest.mark.parametrize("code", CHECKED.values(), ids=CHECKED.keys())
def test_a_catch_that_fails_when_nothing_is_raised_is_allowed(code: str) -> None:
    assert not unchecked_catches(textwrap.dedent(code))


@pytest.mark.parametrize("page", ["README.md", "docs/how-it-works.md"])
def test_server_table_is_the_one_the_tests_pin(page: str) -> None:
    assert server_table() in (ROOT / page).read_text(), f"{page}: paste server_table() from tests/support/servers.py"


def test_readme_stays_a_front_door() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) < 220, f"README.md has {len(lines)} lines; move detail to docs/ and link it"
    first_screen = "\n".join(lines[:50])
    for needed in ("bash scripts/demo", "bash scripts/test", "pip install fastapi-ws-reject", "[testing]", "[redis]"):
        assert needed in first_screen, f"{needed!r} belongs in the README's first 50 lines"


def test_readme_links_resolve() -> None:
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)\s]*)?\)", (ROOT / "README.md").read_text())
    local = [link for link in links if "://" not in link]
    missing = [link for link in local if not (ROOT / link).exists()]
    assert local and not missing, f"README.md links to missing files: {missing}"


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


def test_chat_limits_example() -> None:
    from examples import chat_limits

    client = TestClient(chat_limits.app)
    with client.websocket_connect("/chat?user=ann") as websocket:
        for number in range(6):
            websocket.send_text(str(number))
        assert [websocket.receive_text() for _ in range(5)] == [f"echo: {number}" for number in range(5)]
        assert websocket.receive() == {"type": "websocket.close", "code": 4429, "reason": "too many messages"}
    limits = client.get("/asyncapi.json").json()["channels"]["chat"]["x-message-limits"]
    assert [(limit["counts"], limit["onLimit"]) for limit in limits] == [("socket", "close"), ("key", "drop")]
