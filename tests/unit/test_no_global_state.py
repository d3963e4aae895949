"""No process-global mutable state (issue 21, item 5): no module-level mutable container outside constants, no
`global` rebinding, no function cache (`functools.lru_cache` / `cache`, which keeps what it saw for the whole
process), and the mapping constants cannot be changed at run time."""

import ast
import asyncio
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from starlette.requests import HTTPConnection

import fastapi_ws_reject
from fastapi_ws_reject import WebSocketRejection
from fastapi_ws_reject.asyncapi import _page as _asyncapi_page
from fastapi_ws_reject.guards import RateLimitGuard
from fastapi_ws_reject.guards import _limits as limits
from fastapi_ws_reject.guards import _origin as origin
from fastapi_ws_reject.testing import _servers

PACKAGE = Path(fastapi_ws_reject.__file__).parent
MUTABLE_DISPLAYS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)
MUTABLE_CALLS = {"dict", "list", "set", "defaultdict", "OrderedDict", "Counter", "deque", "bytearray"}
MUTABLE_CALLS |= {"WeakKeyDictionary", "WeakValueDictionary", "WeakSet"}
# A function cache is a mutable container the function holds, one for the process; on a method it keeps `self`
# alive too. State that a guard needs lives on the guard.
FUNCTION_CACHES = {"lru_cache", "cache"}


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield str(path.relative_to(PACKAGE.parent)), ast.parse(path.read_text(), str(path))


def is_mutable_container(value: ast.expr) -> bool:
    if isinstance(value, MUTABLE_DISPLAYS):
        return True
    if isinstance(value, ast.Call):
        called = value.func
        name = called.id if isinstance(called, ast.Name) else called.attr if isinstance(called, ast.Attribute) else ""
        return name in MUTABLE_CALLS
    return False


def test_no_module_level_mutable_container() -> None:
    found = []
    for name, module in modules():
        for node in module.body:
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            else:
                continue
            named = [ast.unparse(target) for target in targets]
            if named != ["__all__"] and is_mutable_container(value):  # __all__: read by import machinery only
                found.append(f"{name}:{node.lineno} {', '.join(named)}")
    assert found == []


def test_no_function_rebinds_a_module_global() -> None:
    found = [
        f"{name}:{node.lineno} global {', '.join(node.names)}"
        for name, module in modules()
        for node in ast.walk(module)
        if isinstance(node, ast.Global)
    ]
    assert found == []


def decorator_name(decorator: ast.expr) -> str:
    called = decorator.func if isinstance(decorator, ast.Call) else decorator  # @lru_cache(maxsize=...)
    return called.id if isinstance(called, ast.Name) else called.attr if isinstance(called, ast.Attribute) else ""


def cached_functions(module: ast.Module) -> list[str]:
    """The functions and methods, at any depth, that a function cache decorates."""
    return [
        f"{node.lineno} @{ast.unparse(decorator)} {node.name}"
        for node in ast.walk(module)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for decorator in node.decorator_list
        if decorator_name(decorator) in FUNCTION_CACHES
    ]


def test_no_function_is_cached_for_the_process() -> None:
    assert [f"{name}:{found}" for name, module in modules() for found in cached_functions(module)] == []


@pytest.mark.parametrize(
    "source",
    [
        "@lru_cache(maxsize=256)\ndef f(): ...",
        "@functools.lru_cache\ndef f(): ...",
        "@cache\nasync def f(): ...",
        "class C:\n    @functools.cache\n    def f(self): ...",
    ],
)
def test_a_function_cache_is_found_in_each_spelling(source: str) -> None:
    assert len(cached_functions(ast.parse(source))) == 1


@pytest.mark.parametrize(
    "constant",
    [origin.DEFAULT_PORTS, origin._PAGE_SCHEMES, _asyncapi_page._SCRIPT_ESCAPES, _servers._COMMANDS],
    ids=["DEFAULT_PORTS", "_PAGE_SCHEMES", "_SCRIPT_ESCAPES", "_COMMANDS"],
)
def test_mapping_constants_cannot_be_changed(constant: Mapping[object, object]) -> None:
    key = next(iter(constant))
    with pytest.raises(TypeError):
        constant[key] = constant[key]  # type: ignore[index]
    assert all(not isinstance(value, (list, dict, set)) for value in constant.values())


class Waits:
    """A backend that refuses every handshake with the next of `waits` seconds to wait."""

    def __init__(self, waits: Iterator[float]) -> None:
        self.waits = waits

    async def hit(self, key: str, limit: int, window: float) -> float | None:
        return next(self.waits)

    async def acquire(self, key: str, limit: int) -> None:  # pragma: no cover - a rate limit only hits
        return None

    async def release(self, key: str, lease: object) -> None:  # pragma: no cover
        return None


def retry_afters(guard: RateLimitGuard, refusals: int) -> list[str]:
    sent = []
    for _ in range(refusals):
        with pytest.raises(WebSocketRejection) as refused:
            asyncio.run(guard.check(HTTPConnection({"type": "websocket", "client": ("203.0.113.9", 1)})))
        sent.append(refused.value.headers["retry-after"])
    return sent


def test_a_rate_limits_429s_are_kept_by_the_guard_and_no_more_than_its_window_needs() -> None:
    # What `_too_many`'s process-wide cache held: each guard now keeps its own 429 per Retry-After.
    first = RateLimitGuard(1, per=60, backend=Waits(iter([59.5, 0.2, 59.1, 30.0])))
    second = RateLimitGuard(1, per=60, backend=Waits(iter([59.5])))
    assert retry_afters(first, 4) == ["60", "1", "60", "30"]
    assert retry_afters(second, 1) == ["60"]
    assert sorted(first._refusals) == [1, 30, 60]
    assert first._refusals[60] is not second._refusals[60]
    day = RateLimitGuard(1, per=86_400, backend=Waits(float(wait) for wait in range(1, 86_401)))
    retry_afters(day, limits._KEPT_REFUSALS + 10)
    assert len(day._refusals) == 10
