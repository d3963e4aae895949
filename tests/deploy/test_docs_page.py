"""docs/deployment.md shows the files and flags tests/deploy/ runs, so that the page cannot drift from them."""

import re

import pytest

from examples.deploy.run import HERE, SETTINGS, server_flags
from tests.support.apps import ROOT

PAGE = (ROOT / "docs" / "deployment.md").read_text()


@pytest.mark.parametrize("name", ["nginx.conf", "haproxy.cfg"])
def test_the_page_includes_the_configuration_the_tests_run(name: str) -> None:
    assert (HERE / name).is_file()
    assert f'--8<-- "examples/deploy/{name}"' in PAGE


@pytest.mark.parametrize("setting", SETTINGS)
def test_the_page_shows_the_server_flags_the_tests_run(setting: str) -> None:
    commands = [line for line in PAGE.splitlines() if line.startswith("uvicorn examples.deploy.app:app")]
    shown = [re.sub(r"^.*--port \d+ ", "", command).split() for command in commands]
    assert server_flags(setting) in shown
