"""The docs site builds with `mkdocs build --strict`, its API reference shows every public name with its
docstring, and the README's links into it land on a page and an anchor that exist."""

from __future__ import annotations

import functools
import html
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import griffe
import pytest

from tests.support.apps import ROOT
from tests.support.public import PUBLIC

# The public modules (no `_` in their path), each covered by its `__all__` (tests/test_public_names.py checks
# that these are all of them and that each exposes nothing else without a `_`).


def public_names() -> list[tuple[str, str]]:
    return [(module, name) for module in PUBLIC for name in importlib.import_module(module).__all__]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site_dir = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=120,
    )
    assert built.returncode == 0, f"mkdocs build --strict failed:\n{built.stderr}"
    return site_dir


def reference_pages(site: Path) -> dict[str, str]:
    return {str(page): page.read_text() for page in (site / "reference").rglob("index.html")}


def text_of(page: str) -> str:
    # Inline tags go without a space: `Route`s renders as <code>Route</code>s.
    inline = re.sub(r"</?(?:code|a|span|em|strong|autoref)\b[^>]*>", "", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inline)).split())


@functools.cache
def package() -> griffe.Module:
    # The docstrings as mkdocstrings reads them: from the source, attribute docstrings included.
    return griffe.load("fastapi_ws_reject", search_paths=[str(ROOT)], resolve_aliases=True)


def docstring(module: str, name: str) -> str:
    found = package()[f"{module}.{name}".removeprefix("fastapi_ws_reject.")]
    return found.docstring.value if found.docstring else ""


@pytest.mark.parametrize(("module", "name"), public_names(), ids=[f"{m}.{n}" for m, n in public_names()])
def test_public_name_is_in_the_api_reference_with_its_docstring(site: Path, module: str, name: str) -> None:
    documented = docstring(module, name)
    assert documented, f"{module}.{name} has no docstring: the API reference would show its signature alone"
    # A name re-exported by a subpackage (fastapi_ws_reject.guards.Guard) is documented where the top level shows it.
    anchors = [f'id="{module}.{name}"']
    if module != "fastapi_ws_reject" and getattr(importlib.import_module("fastapi_ws_reject"), name, None) is getattr(
        importlib.import_module(module), name
    ):
        anchors.append(f'id="fastapi_ws_reject.{name}"')
    pages = [page for page in reference_pages(site).values() if any(anchor in page for anchor in anchors)]
    assert pages, f"{module}.{name} is in no page under docs/reference/: add it to a ::: directive there"
    first_line = " ".join(documented.splitlines()[0].replace("`", "").split())
    assert any(first_line in text_of(page) for page in pages), f"the reference lacks the docstring of {name}"


def test_readme_links_land_on_pages_and_anchors_of_the_site(site: Path) -> None:
    links = re.findall(r"\]\(docs/([^)#\s]+)\.md(?:#([^)\s]*))?\)", (ROOT / "README.md").read_text())
    assert links, "the README links into docs/"
    for page, anchor in links:
        built = site / ("" if page == "index" else page.removesuffix("/index")) / "index.html"
        assert built.exists(), f"README links to docs/{page}.md, which the site does not build"
        if anchor:
            assert f'id="{anchor}"' in built.read_text(), f"docs/{page}.md has no heading #{anchor}"


def test_security_and_changelog_pages_are_the_repository_files(site: Path) -> None:
    for page, source in (("security", "SECURITY.md"), ("changelog", "CHANGELOG.md")):
        first_heading = next(line for line in (ROOT / source).read_text().splitlines() if line.startswith("## "))
        assert first_heading[3:] in text_of((site / page / "index.html").read_text()), f"{source} is not on /{page}/"
