"""Assemble the gateway: one upstream client, the task tracker, the memory sampler, the routers.

Routes the gateway answers itself (``/v1/capabilities``, ``/v1/telemetry``,
``/gateway/health``, ``/gateway/openapi.json``) are registered before the catch-all
pass-through, which takes every other path and method. FastAPI's own ``/docs`` and
``/openapi.json`` are moved under ``/gateway/`` so the upstream's stay reachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from fastapi import FastAPI, Request

from acekit.gateway import capabilities as capabilities_routes
from acekit.gateway import completion as completion_routes
from acekit.gateway import health as health_routes
from acekit.gateway import passthrough as passthrough_routes
from acekit.gateway import telemetry as telemetry_routes
from acekit.gateway.auth import KeyRejected
from acekit.gateway.capabilities import CapabilitiesProvider
from acekit.gateway.completion import CompletionHub, FastPaths, QueryBatcher
from acekit.gateway.loopback import LoopbackClient, LoopbackUnsupported
from acekit.gateway.envelope import QuietBrokenRelays, error_response
from acekit.gateway.gpu import MemorySampler, PretendSampler, detect_sampler
from acekit.gateway.settings import GatewaySettings
from acekit.gateway.telemetry import TaskTracker, follow_tasks, sample_forever

log = logging.getLogger("acekit.gateway")


@dataclass
class GatewayState:
    settings: GatewaySettings
    client: httpx.AsyncClient
    tracker: TaskTracker
    sampler: MemorySampler
    capabilities: CapabilitiesProvider
    completion: CompletionHub


def make_upstream_client(settings: GatewaySettings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        follow_redirects=False,  # a redirect is the client's business: relay it as it is
        trust_env=False,  # an HTTP(S)_PROXY meant for the internet must not capture loopback traffic
        transport=transport,
    )
    # httpx adds Accept/Accept-Encoding/User-Agent of its own; the upstream must see the client's.
    client.headers = httpx.Headers()
    return client


def create_app(
    settings: GatewaySettings | None = None,
    *,
    sampler: MemorySampler | None = None,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The gateway ASGI app. ``sampler`` defaults to the best GPU source found (`detect_sampler`)."""
    settings = settings or GatewaySettings()
    if sampler is None:
        sampler = PretendSampler(settings.pretend_gpu) if settings.pretend_gpu else detect_sampler()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = make_upstream_client(settings, upstream_transport)
        tracker = TaskTracker(workers=settings.upstream_workers, finished_limit=settings.finished_task_limit,
                              max_age_s=settings.task_max_age_s)
        loopback = None
        if upstream_transport is None:  # a test's mock transport is only reachable through httpx
            try:
                loopback = LoopbackClient(settings.upstream, timeout_s=settings.read_timeout_s)
            except LoopbackUnsupported:
                loopback = None
        batcher = QueryBatcher(client, settings.upstream, settings.upstream_api_key, on_answer=tracker.learn_query,
                               loopback=loopback)
        state = GatewayState(
            settings=settings,
            client=client,
            tracker=tracker,
            sampler=sampler,
            capabilities=CapabilitiesProvider(
                path=settings.capabilities_file, sampler=sampler, upstream=settings.upstream,
                upstream_key=settings.upstream_api_key, cache_s=settings.models_cache_s,
                dtype=settings.server_dtype, lm=settings.server_lm, offload=settings.offload_to_cpu,
                offload_dit=settings.offload_dit_to_cpu),
            completion=CompletionHub(batcher, interval_s=settings.wait_poll_s),
        )
        app.state.gateway = state
        # Here, not at import: uvicorn configures its loggers after importing the app.
        if not any(isinstance(f, QuietBrokenRelays) for f in logging.getLogger("uvicorn.error").filters):
            logging.getLogger("uvicorn.error").addFilter(QuietBrokenRelays())
        loops = [
            asyncio.create_task(sample_forever(state.tracker, sampler, interval_s=settings.sampler_interval_s)),
            asyncio.create_task(follow_tasks(state.tracker, state.client, upstream=settings.upstream,
                                             upstream_key=settings.upstream_api_key,
                                             interval_s=settings.status_poll_s)),
            asyncio.create_task(state.completion.run()),
        ]
        log.info("gateway in front of %s; memory source %s", settings.upstream, sampler.source)
        if settings.pretend_gpu:
            log.warning("PRETENDING the GPU is a %s (--pretend-gpu): capabilities and admission are computed for "
                        "that box, not for this machine", settings.pretend_gpu)
        try:
            yield
        finally:
            for task in loops:
                task.cancel()
            for task in loops:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await state.client.aclose()
            if loopback is not None:
                loopback.close()

    app = FastAPI(
        title="acekit gateway",
        lifespan=lifespan,
        docs_url="/gateway/docs",
        redoc_url=None,
        openapi_url="/gateway/openapi.json",
    )

    @app.exception_handler(KeyRejected)
    async def _key_rejected(request: Request, exc: KeyRejected):
        return error_response(exc.status_code, str(exc.detail))

    app.add_middleware(FastPaths)  # polls and audio skip routing: see acekit.gateway.completion
    app.include_router(health_routes.router)
    app.include_router(capabilities_routes.router)
    app.include_router(telemetry_routes.router)
    app.include_router(completion_routes.router)
    app.include_router(passthrough_routes.router)  # last: it matches every path
    return app
