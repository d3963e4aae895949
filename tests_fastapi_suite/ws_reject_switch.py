"""pytest plugin for running FastAPI's own test suite with fastapi-ws-reject switched on.

Loaded with `-p ws_reject_switch` (this folder on `PYTHONPATH`) before FastAPI's test modules are imported.
`FASTAPI_WS_REJECT_SUITE_MODE` says what to switch on:

- `plain`: nothing, the baseline;
- `router`: `RejectingRouter` for every `APIRouter`, also the one `FastAPI()` builds for `app.router`;
- `handlers`: `add_rejection_handlers(app)` at the end of every `FastAPI.__init__`.

Each test's outcome goes to the JSON file named by `FASTAPI_WS_REJECT_SUITE_RESULTS`.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

import fastapi
import fastapi.routing
import pytest
from starlette.testclient import TestClient, WebSocketDenialResponse

from fastapi_ws_reject import RejectingRouter, add_rejection_handlers

MODES = ("plain", "router", "handlers")
MODE = os.environ.get("FASTAPI_WS_REJECT_SUITE_MODE", "plain")
if MODE not in MODES:
    raise pytest.UsageError(f"FASTAPI_WS_REJECT_SUITE_MODE must be one of {', '.join(MODES)}; got {MODE!r}")

if MODE == "router":
    fastapi.routing.APIRouter = RejectingRouter  # type: ignore[misc]
    fastapi.APIRouter = RejectingRouter  # type: ignore[misc]
elif MODE == "handlers":
    _plain_init = fastapi.FastAPI.__init__

    @functools.wraps(_plain_init)
    def _init_with_rejection_handlers(self: fastapi.FastAPI, *args: Any, **kwargs: Any) -> None:
        _plain_init(self, *args, **kwargs)
        add_rejection_handlers(self)

    fastapi.FastAPI.__init__ = _init_with_rejection_handlers  # type: ignore[method-assign]

_results: dict[str, dict[str, str]] = {}


def _summary(report: pytest.TestReport | pytest.CollectReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return f"{os.path.basename(crash.path)}:{crash.lineno}: {crash.message}"
    return str(report.longrepr).strip().splitlines()[-1] if report.longrepr else ""


def _denial_status() -> int | None:
    """The status a fresh app answers when its websocket route raises `HTTPException(404)` before accept."""
    app = fastapi.FastAPI()

    @app.websocket("/ws")
    async def refuse(websocket: fastapi.WebSocket) -> None:
        raise fastapi.HTTPException(404)

    try:
        with TestClient(app).websocket_connect("/ws"):
            return None
    except WebSocketDenialResponse as denial:
        return denial.status_code


def pytest_configure(config: pytest.Config) -> None:
    routers_switched = type(fastapi.FastAPI().router) is RejectingRouter and fastapi.APIRouter is RejectingRouter
    if routers_switched != (MODE == "router") or (MODE != "plain" and _denial_status() != 404):
        raise pytest.UsageError(f"the switch {MODE!r} did not take effect on FastAPI {fastapi.__version__}")
    # FastAPI's tests group modules for pytest-xdist, which this run does not need.
    config.addinivalue_line("markers", "xdist_group(name): pytest-xdist's grouping, unused here")


def pytest_report_header() -> str:
    return f"fastapi-ws-reject switch: {MODE}"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    result = _results.setdefault(report.nodeid, {"outcome": "passed"})
    if report.failed and result["outcome"] != "failed":
        result.update(outcome="failed", when=report.when, summary=_summary(report), details=report.longreprtext)
    elif report.skipped and result["outcome"] == "passed":
        result["outcome"] = "xfailed" if hasattr(report, "wasxfail") else "skipped"


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _results[report.nodeid] = {
            "outcome": "failed",
            "when": "collect",
            "summary": _summary(report),
            "details": report.longreprtext,
        }


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get("FASTAPI_WS_REJECT_SUITE_RESULTS")
    if path:
        with open(path, "w", encoding="utf-8") as file:
            json.dump({"mode": MODE, "fastapi": fastapi.__version__, "results": _results}, file, indent=1)
