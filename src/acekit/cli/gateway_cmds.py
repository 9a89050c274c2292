"""``acekit gateway``: run the gateway in front of an ACE-Step API server (thin layer over acekit.gateway)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def gateway(
    upstream: Annotated[Optional[str], typer.Option(help="ACE-Step API server URL (env ACEKIT_GATEWAY_UPSTREAM; default http://127.0.0.1:8001)")] = None,
    host: Annotated[Optional[str], typer.Option(help="Interface to listen on (default 0.0.0.0)")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port to listen on (default 8000)")] = None,
    capabilities: Annotated[Optional[Path], typer.Option(
        "--capabilities", help="Capabilities JSON from the matrix, reloaded when it changes (env ACEKIT_CAPABILITIES)")] = None,
    api_key: Annotated[Optional[str], typer.Option(
        help="Key clients must send (Bearer or ai_token) (env ACEKIT_GATEWAY_API_KEY)")] = None,
    upstream_api_key: Annotated[Optional[str], typer.Option(
        help="Key the gateway sends upstream as Bearer (env ACESTEP_API_KEY)")] = None,
    max_upload_mb: Annotated[Optional[float], typer.Option(help="Largest request body, MiB (default 100)")] = None,
    sampler_interval_s: Annotated[Optional[float], typer.Option(help="GPU memory sampling period while tasks run (default 0.5)")] = None,
    read_timeout_s: Annotated[Optional[float], typer.Option(help="Upstream answer deadline (504 after) (default 300)")] = None,
    admission: Annotated[Optional[bool], typer.Option(
        "--admission/--no-admission",
        help="Refuse at once (422) requests that cannot fit in GPU memory (env ACEKIT_GATEWAY_ADMISSION; default on)")] = None,
    pretend_gpu: Annotated[Optional[str], typer.Option(
        help="TESTING ONLY: act as if the GPU were this known box (T4, GB10), e.g. in front of the reference "
             "backend (env ACEKIT_GATEWAY_PRETEND_GPU)")] = None,
    wait_poll_s: Annotated[Optional[float], typer.Option(
        help="How often the shared poller behind /v1/wait asks the upstream about waited-on tasks (default 0.025)")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve ACE-Step's API unchanged plus /v1/capabilities, /v1/telemetry, /v1/wait and /gateway/health."""
    import uvicorn
    from pydantic import ValidationError

    from acekit.gateway import GatewaySettings, create_app
    from acekit.gateway.capabilities import CapabilitiesFileError, load_capabilities_file

    given = {
        "upstream": upstream, "host": host, "port": port, "capabilities_file": capabilities, "api_key": api_key,
        "upstream_api_key": upstream_api_key, "max_upload_mb": max_upload_mb,
        "sampler_interval_s": sampler_interval_s, "read_timeout_s": read_timeout_s, "admission": admission,
        "pretend_gpu": pretend_gpu, "wait_poll_s": wait_poll_s,
    }
    try:
        settings = GatewaySettings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from exc
    path = settings.capabilities_file
    if path is not None and path.exists():
        # Fail at start on a broken file; a missing one may still be written by a matrix run.
        try:
            load_capabilities_file(path)
        except CapabilitiesFileError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    elif path is not None:
        typer.echo(f"warning: capabilities file {path} does not exist yet; serving a default until it appears", err=True)
    if settings.upstream_api_key and not settings.api_key:
        # The gateway authenticates every request it forwards, so the upstream key protects nothing.
        typer.echo("warning: the gateway sends the upstream key (ACESTEP_API_KEY) for every client but checks "
                   "none itself: anyone who reaches it is let in; set --api-key / ACEKIT_GATEWAY_API_KEY",
                   err=True)
    if settings.pretend_gpu:
        typer.echo(f"warning: PRETENDING the GPU is a {settings.pretend_gpu} (--pretend-gpu): capabilities and "
                   "admission describe that box, not this machine", err=True)
    try:
        app = create_app(settings)
    except ValueError as exc:  # an unknown --pretend-gpu box
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"acekit gateway on http://{settings.host}:{settings.port} -> {settings.upstream}", err=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level, proxy_headers=False)


def register(app: typer.Typer) -> None:
    app.command("gateway")(gateway)
