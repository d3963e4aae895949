"""An opt-in filter for the error uvicorn's websockets-sansio implementation logs after every denial.

uvicorn (0.54, `--ws websockets-sansio`) logs `ASGI callable returned without completing handshake.` when
an app returns after a denial response, although the client got the response: only `websocket.accept` or
a close before any response mark its handshake complete, any message after the response body raises, and
the one silent way out is raising uvicorn's own `ClientDisconnected` through every middleware. So the
library cannot avoid the line; this filter drops it, and only for a handshake this library denied.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

UVICORN_DENIAL_ERROR = "ASGI callable returned without completing handshake."

# Set in the task that sent a denial; uvicorn logs from that same task right after the app returns.
denial_sent: ContextVar[bool] = ContextVar("fastapi_ws_reject_denial_sent", default=False)


class UvicornDenialLogFilter(logging.Filter):
    """Drops uvicorn's handshake error for handshakes that fastapi-ws-reject answered with a denial.

    ```python
    logging.getLogger("uvicorn.error").addFilter(UvicornDenialLogFilter())  # what quiet_uvicorn_denial_errors() does
    ```
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == UVICORN_DENIAL_ERROR and denial_sent.get())


def quiet_uvicorn_denial_errors(logger_name: str = "uvicorn.error") -> None:
    """Install `UvicornDenialLogFilter` on uvicorn's error logger (once; later calls do nothing).

    ```python
    from fastapi_ws_reject.uvicorn_log_filter import quiet_uvicorn_denial_errors

    quiet_uvicorn_denial_errors()
    ```

    Any other time uvicorn logs that line (an app that neither accepts nor rejects) is still logged.
    """
    logger = logging.getLogger(logger_name)
    if not any(isinstance(existing, UvicornDenialLogFilter) for existing in logger.filters):
        logger.addFilter(UvicornDenialLogFilter())
