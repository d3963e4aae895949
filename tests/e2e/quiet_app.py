"""The end-to-end app with uvicorn's denial error filtered, as a user opts in."""

from fastapi_ws_reject.uvicorn_log_filter import quiet_uvicorn_denial_errors
from tests.e2e.app import app

quiet_uvicorn_denial_errors()
quiet_uvicorn_denial_errors()  # a second call adds nothing

__all__ = ["app"]
