"""Every example app's AsyncAPI document passes AsyncAPI's official parser (@asyncapi/parser, from `npm ci`)."""

import importlib
import json
import pkgutil
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from fastapi_ws_reject.asyncapi import asyncapi_schema
from tests.support.asyncapi_app import guarded_app

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("validate_asyncapi.mjs")
EXAMPLES = sorted(
    module.name for module in pkgutil.walk_packages([str(ROOT / "examples")], "examples.") if not module.ispkg
)


def validate(documents: dict[str, Any]) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; the official AsyncAPI parser runs on node")
    if not (ROOT / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.skip("@asyncapi/parser is not installed; run `npm ci` at the repository root")
    result = subprocess.run(
        [node, str(SCRIPT)], input=json.dumps(documents), capture_output=True, text=True, cwd=ROOT, timeout=50
    )
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def test_every_example_app_document_passes_the_official_asyncapi_parser() -> None:
    apps = {name: getattr(importlib.import_module(name), "app", None) for name in EXAMPLES}
    documents = {name: asyncapi_schema(app) for name, app in apps.items() if isinstance(app, FastAPI)}
    assert {"examples.asyncapi_app", "examples.chat_limits", "examples.rooms"} <= set(documents)
    documents["tests.support.asyncapi_app.guarded_app"] = asyncapi_schema(guarded_app())
    returncode, report = validate(documents)
    errors = {name: [d for d in found if d["severity"] == 0] for name, found in report.items()}
    assert returncode == 0, errors
    assert set(report) == set(documents)


def test_the_parser_check_fails_a_broken_document() -> None:
    broken = asyncapi_schema(guarded_app()) | {"operations": {"x": {"action": "listen"}}}
    returncode, report = validate({"broken": broken})
    assert returncode == 1
    assert any(d["severity"] == 0 for d in report["broken"])
