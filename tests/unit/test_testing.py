import pytest

from fastapi_ws_reject.testing import live_server
from tests.apps import ROOT


def test_live_server_refuses_an_unknown_server() -> None:
    with pytest.raises(ValueError, match="server must be one of"), live_server("x:app", server="gunicorn"):
        pass  # pragma: no cover


def test_live_server_reports_a_server_that_cannot_start() -> None:
    with pytest.raises(RuntimeError, match="exited with") as failed, live_server("tests.no_such_module:app", cwd=ROOT):
        pass  # pragma: no cover
    assert "no_such_module" in str(failed.value)
