"""The package metadata PyPI shows: classifiers that match the Pythons the project supports and tests, and the
project's links. Read from pyproject.toml, offline, without building anything."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

ROOT = Path(__file__).resolve().parent.parent
PYTHON_CLASSIFIER = re.compile(r"^Programming Language :: Python :: 3\.(\d+)$")


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["project"]


def minors_scripts_test_runs() -> set[int]:
    """The Python 3 minor versions scripts/test makes a virtual environment for (`suite VENV 3.X SCOPE ...`)."""
    text = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    minors = {int(minor) for minor in re.findall(r"^suite \S+ 3\.(\d+) ", text, flags=re.MULTILINE)}
    assert minors, "scripts/test names no Python version"
    return minors


def test_python_classifiers_match_requires_python_up_to_the_newest_tested(project: dict[str, Any]) -> None:
    allowed = SpecifierSet(project["requires-python"])
    newest = max(minors_scripts_test_runs())
    expected = {minor for minor in range(0, newest + 1) if f"3.{minor}" in allowed}
    classified = {int(m.group(1)) for c in project["classifiers"] if (m := PYTHON_CLASSIFIER.match(c))}
    assert classified == expected, (
        f"3.X classifiers {sorted(classified)}, requires-python and scripts/test say {sorted(expected)}"
    )
    assert minors_scripts_test_runs() <= classified
    assert "Programming Language :: Python :: 3" in project["classifiers"]


def test_framework_and_typing_classifiers(project: dict[str, Any]) -> None:
    assert "Framework :: FastAPI" in project["classifiers"]
    assert "Typing :: Typed" in project["classifiers"]
    assert (ROOT / "fastapi_ws_reject" / "py.typed").is_file()


def test_no_license_classifier_beside_a_license_expression(project: dict[str, Any]) -> None:
    # PEP 639: with `license = "MIT"` the build backends refuse a License classifier too.
    assert isinstance(project["license"], str)
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]


def test_project_urls(project: dict[str, Any]) -> None:
    urls = project.get("urls")
    if urls is None:
        pytest.skip("no [project.urls]: the project names no repository or documentation URL yet (issue 22, item 4)")
    assert {"Documentation", "Changelog", "Source", "Issues"} <= set(urls)
    for name, url in urls.items():
        assert url.startswith("https://"), f"{name}: {url}"
