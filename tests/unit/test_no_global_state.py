"""No process-global mutable state (issue 21, item 5): no module-level mutable container outside constants, no
`global` rebinding, and the mapping constants cannot be changed at run time."""

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import fastapi_ws_reject
from fastapi_ws_reject.asyncapi import _page as _asyncapi_page
from fastapi_ws_reject.guards import origin
from fastapi_ws_reject.testing import _servers

PACKAGE = Path(fastapi_ws_reject.__file__).parent
MUTABLE_DISPLAYS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)
MUTABLE_CALLS = {"dict", "list", "set", "defaultdict", "OrderedDict", "Counter", "deque", "bytearray"}
MUTABLE_CALLS |= {"WeakKeyDictionary", "WeakValueDictionary", "WeakSet"}


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
