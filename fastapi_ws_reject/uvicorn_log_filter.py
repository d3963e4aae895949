"""An opt-in filter for the error uvicorn's websockets-sansio implementation logged after every denial.

uvicorn before 0.55 (`--ws websockets-sansio`) logs `ASGI callable returned without completing handshake.`
when an app returns after a denial response, although the client got the response: only `websocket.accept`
or a close before any response mark its handshake complete, any message after the response body raises, and
the one silent way out is raising uvicorn's own `ClientDisconnected` through every middleware. So the
library cannot avoid the line; this filter drops it, and only for a handshake this library denied.
uvicorn 0.55.0 marks a handshake complete once its denial is sent, and logs the line no more for a denial:
from that version the filter is not needed, and installing it changes nothing (uvicorn still logs the line
for an app that neither accepts nor rejects, which the filter keeps).
"""

from __future__ import annotations

import logging

from ._pipeline.sending import denial_sent

__all__ = ["UVICORN_DENIAL_ERROR", "UVICORN_FIXED_IN", "UvicornDenialLogFilter", "quiet_uvicorn_denial_errors"]

UVICORN_DENIAL_ERROR = "ASGI callable returned without completing handshake."
"""The line uvicorn's `websockets-sansio` logs after a denial before 0.55, which the filter drops."""
UVICORN_FIXED_IN = (0, 55)
"""The first uvicorn that no longer logs `UVICORN_DENIAL_ERROR` after a denial."""


class UvicornDenialLogFilter(logging.Filter):
    """Drops uvicorn's handshake error for handshakes that fastapi-ws-reject answered with a denial.

    Needed on uvicorn before 0.55 only; on 0.55 and newer there is no such line for it to drop.

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
    Needed on uvicorn before 0.55 only, and harmless on newer ones.
    """
    logger = logging.getLogger(logger_name)
    if not any(isinstance(existing, UvicornDenialLogFilter) for existing in logger.filters):
        logger.addFilter(UvicornDenialLogFilter())
