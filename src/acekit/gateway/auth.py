"""The gateway's own API key: ``Authorization: Bearer KEY`` (as upstream reads it) or ``ai_token``.

``ai_token`` is accepted in the query string and, for pass-through requests, in a JSON,
urlencoded or multipart body (older upstream read it there). A request that authenticates
with a header is streamed; one that relies on a body ``ai_token`` is spooled first (within the
upload limit; to a temp file past 1 MiB), because the key has to be known before anything
reaches the upstream.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import HTTPException, Request

#: Paths anyone may call: liveness checks must work before a client has its key.
OPEN_PATHS = frozenset({"/health", "/gateway/health"})


class KeyRejected(HTTPException):
    pass


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    # Upstream also takes a bare key without the scheme; so do we.
    return token.strip() if scheme.lower() == "bearer" and token else authorization.strip()


def key_matches(expected: str, presented: Any) -> bool:
    return isinstance(presented, str) and hmac.compare_digest(expected.encode(), presented.encode())


def header_or_query_ok(expected: str, request: Request) -> bool:
    return key_matches(expected, bearer_token(request.headers.get("authorization"))) or key_matches(
        expected, request.query_params.get("ai_token"))


def rejection_detail(request: Request, *, body_token: Any = None) -> str:
    """"Invalid" when the request carried a key anywhere (header, query, body ``ai_token``), else "Missing"."""
    if request.headers.get("authorization") or request.query_params.get("ai_token") or body_token:
        return "Invalid API key for this gateway: send the key the gateway was started with (--api-key / ACEKIT_GATEWAY_API_KEY)"
    return ("Missing API key: this gateway requires 'Authorization: Bearer <key>' "
            "(or ai_token in the body or query string)")


async def require_key(request: Request) -> None:
    """Dependency for the gateway's own routes."""
    expected = request.app.state.gateway.settings.api_key
    if expected is None or request.url.path in OPEN_PATHS:
        return
    if not header_or_query_ok(expected, request):
        raise KeyRejected(status_code=401, detail=rejection_detail(request))
