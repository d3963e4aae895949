"""Public modules hold public names only: a module with no `_` in its path lists in `__all__` every name it
defines or re-exports without a leading `_`, and tests/test_docs_site.py checks that each is in the API reference.
Plumbing lives in `_` modules (httpx's rule)."""

import ast
import importlib
from pathlib import Path

import pytest

from tests.support.apps import ROOT
from tests.support.public import PUBLIC

PACKAGE = ROOT / "fastapi_ws_reject"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def public_modules() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        if not any(part.startswith("_") for part in name.split(".")):
            found.append(name)
    return found


def exposed(path: Path) -> set[str]:
    """The names the module defines, or re-exports (`import x as x`), without a leading `_`."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(alias.asname for alias in node.names if alias.asname and alias.asname == alias.name)
    return {name for name in names if not name.startswith("_")}


def test_the_public_modules_are_the_documented_ones() -> None:
    assert public_modules() == sorted(PUBLIC), "a module without `_` in its path is public: document it or rename it"


@pytest.mark.parametrize("module", public_modules())
def test_a_public_module_exposes_only_what_its_all_lists(module: str) -> None:
    path = PACKAGE.parent / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = PACKAGE.parent / module.replace(".", "/") / "__init__.py"
    listed = set(importlib.import_module(module).__all__)
    assert exposed(path) <= listed, (
        f"{module} exposes {sorted(exposed(path) - listed)}: list it in __all__ or add a `_`"
    )
