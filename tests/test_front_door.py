"""The front door holds on a fresh clone: CI runs the README's commands as written, and every install names
extras that exist."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

from tests.support.apps import ROOT

# `fastapi-ws-reject[a,b]`, or the project itself: `.[a]` after a space or a quote (`pip install -e '.[dev]'`).
EXTRAS = re.compile(r"""(?:fastapi[-_]ws[-_]reject|(?:(?<=\s)|(?<=["'])|^)\.)\[(?P<names>[^\]\n]*)\]""", re.M)
# Where the project is installed or an install is shown to a user.
INSTALLING = [
    ROOT / "README.md",
    ROOT / "SECURITY.md",
    ROOT / "pyproject.toml",
    *sorted((ROOT / ".ci").iterdir()),
    *sorted((ROOT / "scripts").iterdir()),
    *sorted((ROOT / "docs").rglob("*.md")),
    *sorted(ROOT.glob("CONTRIBUTING*")),
    *sorted((ROOT / "tests").rglob("README*")),
    *sorted((ROOT / "examples").rglob("*.py")),
    *sorted((ROOT / "benchmarks").rglob("*.py")),
    *sorted((ROOT / "fastapi_ws_reject").rglob("*.py")),
]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"^```bash\n(.*?)^```", text, re.M | re.S)
    assert block, "README.md has no ```bash block of commands"
    commands = [line.split("#", 1)[0].strip() for line in block[1].splitlines()]
    return [command for command in commands if command]


def ci_lines() -> list[str]:
    return [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]


def declared_extras() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["optional-dependencies"])


def unknown_extras(text: str, known: set[str]) -> list[str]:
    named = (name.strip() for match in EXTRAS.finditer(text) for name in match["names"].split(","))
    return sorted({name for name in named if name and name not in known})


def test_ci_runs_the_readme_commands_as_written_and_in_order() -> None:
    commands, lines = readme_commands(), ci_lines()
    missing = [command for command in commands if command not in lines]
    assert not missing, f".ci/run does not run the README's {missing}; add each line as the README writes it"
    assert [lines.index(command) for command in commands] == sorted(lines.index(command) for command in commands), (
        f".ci/run runs the README's commands in another order than the README: {commands}"
    )


def test_the_demo_is_the_readme_s_first_command() -> None:
    assert readme_commands()[0] == "bash scripts/demo"


def test_every_install_names_extras_that_exist() -> None:
    known = declared_extras()
    found = {
        str(path.relative_to(ROOT)): unknown
        for path in INSTALLING
        if path.is_file() and (unknown := unknown_extras(path.read_text(), known))
    }
    assert not found, f"extras that pyproject.toml does not declare ({', '.join(sorted(known))}): {found}"


def test_the_extras_check_sees_every_way_of_writing_an_install() -> None:
    known = {"testing", "redis"}
    assert unknown_extras("pip install -e '.[test]'", known) == ["test"]
    assert unknown_extras('pip install -e ".[testing,docs]"', known) == ["docs"]
    assert unknown_extras('pip install "fastapi-ws-reject[redis, tests]"', known) == ["tests"]
    assert unknown_extras("pip install fastapi_ws_reject[dev]", known) == ["dev"]
    assert unknown_extras("pip install -e .[testing] && [x](y.md) a[0].[1]", known) == []


def test_the_checked_files_include_every_script() -> None:
    checked = {path for path in INSTALLING if path.is_file()}
    scripts = {path for path in Path(ROOT / "scripts").iterdir() if path.is_file()}
    assert scripts <= checked and ROOT / ".ci" / "run" in checked
