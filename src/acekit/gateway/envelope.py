"""The ACE-Step response envelope, for answers the gateway writes itself.

Upstream wraps every JSON answer as ``{data, code, error, timestamp, extra}`` and raises
HTTP errors as ``{"detail": ...}``. Gateway errors carry both shapes at once, so a client
that reads either one gets the message.
"""

from __future__ import annotations

import time
from typing import Any

import logging

from fastapi.responses import JSONResponse


def envelope(data: Any, *, code: int = 200, error: str | None = None, extra: Any = None) -> dict[str, Any]:
    return {"data": data, "code": code, "error": error, "timestamp": int(time.time() * 1000), "extra": extra}


def ok(data: Any, *, extra: Any = None, status_code: int = 200) -> JSONResponse:
    return JSONResponse(envelope(data, code=status_code, extra=extra), status_code=status_code)


def error_response(status_code: int, detail: str, *, extra: Any = None, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error the gateway itself raises: envelope fields plus upstream's ``detail``."""
    body = envelope(None, code=status_code, error=detail, extra=extra)
    body["detail"] = detail
    return JSONResponse(body, status_code=status_code, headers=headers)


#: Seconds a client is told to wait (Retry-After) when the upstream cannot be reached: it is
#: usually restarting or still loading, and a client that polls again finds it back.
UNREACHABLE_RETRY_AFTER_S = 2


def unreachable_message(upstream: str, exc: Exception) -> str:
    return (f"the ACE-Step server at {upstream} is unreachable (restarting or still starting? check its logs; "
            f"retry in a few seconds): {type(exc).__name__}: {exc}".rstrip(": "))


def unreachable_response(upstream: str, exc: Exception) -> JSONResponse:
    """503 + Retry-After, not 502: a transient state clients wait out (as they do a refused connection)."""
    return error_response(503, unreachable_message(upstream, exc),
                          headers={"Retry-After": str(UNREACHABLE_RETRY_AFTER_S)})


class UpstreamBrokeOff(Exception):
    """The upstream stopped mid-body; already logged in one line. Raised so the server cuts the
    connection (the client sees a short body) instead of ending the response as if it were whole."""


class QuietBrokenRelays(logging.Filter):
    """Drops uvicorn's "Exception in ASGI application" traceback for an `UpstreamBrokeOff`:
    an upstream dying mid-download is an expected event, and `_relay` already said so in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], UpstreamBrokeOff))
