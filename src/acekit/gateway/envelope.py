"""The ACE-Step response envelope, for answers the gateway writes itself.

Upstream wraps every JSON answer as ``{data, code, error, timestamp, extra}`` and raises
HTTP errors as ``{"detail": ...}``. Gateway errors carry both shapes at once, so a client
that reads either one gets the message.
"""

from __future__ import annotations

import time
from typing import Any

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
