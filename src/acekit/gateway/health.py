"""``GET /gateway/health``: the gateway's own health, upstream reachability included.

``/health`` stays the ACE-Step server's (passed through). This one answers 200 when the
upstream answered its ``/health`` with a non-5xx status, 503 otherwise, so a container health
check fails while the model server is down or still loading. ``completion`` lists the wait
endpoints as the capabilities document does, so a client can find them here too.
"""

from __future__ import annotations

import time

import httpx
from fastapi import APIRouter, Request

from acekit import __version__
from acekit.capabilities import Completion
from acekit.gateway.completion import wait_endpoints
from acekit.gateway.envelope import envelope
from fastapi.responses import JSONResponse

router = APIRouter()


@router.get("/gateway/health")
async def gateway_health(request: Request):
    state = request.app.state.gateway
    settings = state.settings
    upstream: dict = {"url": settings.upstream, "reachable": False, "status_code": None, "latency_ms": None, "error": None}
    started = time.perf_counter()
    try:
        response = await state.client.get(settings.upstream + "/health", timeout=min(5.0, settings.read_timeout_s))
        upstream.update(reachable=response.status_code < 500, status_code=response.status_code)
        try:
            upstream["service"] = response.json().get("data", {}).get("service")
        except (ValueError, AttributeError):
            pass
    except httpx.HTTPError as exc:
        upstream["error"] = (f"the ACE-Step server at {settings.upstream} is unreachable "
                             f"(still starting? check its logs): {type(exc).__name__}")
    upstream["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    healthy = upstream["reachable"]
    data = {
        "status": "ok" if healthy else "upstream_unreachable",
        "service": "acekit gateway",
        "version": __version__,
        "upstream": upstream,
        "auth_required": settings.api_key is not None,
        "max_upload_mb": settings.max_upload_mb,
        "capabilities_file": str(settings.capabilities_file) if settings.capabilities_file else None,
        "memory_source": state.sampler.source,
        "completion": Completion(wait=wait_endpoints(settings.wait_poll_s)).model_dump(mode="json"),
    }
    code = 200 if healthy else 503
    return JSONResponse(envelope(data, code=code, error=None if healthy else upstream["error"] or "upstream unhealthy"),
                        status_code=code)
