"""``acekit serve-reference``: the procedural reference backend (NOT ACE-Step) on the ACE-Step REST contract."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from acekit.contract import DEFAULT_PORT


def register(app: typer.Typer) -> None:
    app.command("serve-reference")(serve_reference)


def serve_reference(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(DEFAULT_PORT, help="TCP port (upstream's default is 8001)."),
    output_dir: Path = typer.Option(Path("runs/reference-out"), help="Where generated audio is written and served from."),
    api_key: Optional[str] = typer.Option(None, envvar="ACESTEP_API_KEY", help="Require this key (Bearer or ai_token)."),
    queue_maxsize: int = typer.Option(200, envvar="ACESTEP_QUEUE_MAXSIZE", help="Queued tasks before 429."),
    workers: int = typer.Option(1, envvar="ACESTEP_QUEUE_WORKERS", help="Background workers."),
    seconds_per_step: float = typer.Option(
        0.02, help="SIMULATED compute: seconds per diffusion step per minute of audio per batch item."
    ),
    job_seconds: Optional[str] = typer.Option(
        None, help="SIMULATED compute per job instead of --seconds-per-step: MIN:MAX seconds (or one number), "
                   "drawn per task, e.g. 2:4 for GPU-like turbo jobs (benchmarks)."),
    task_timeout: float = typer.Option(3600.0, help="Tasks queued/running longer than this (s) are reported failed."),
    models: str = typer.Option(
        "acestep-v15-turbo,acestep-v15-base",
        help="Comma-separated DiTs the server loads (upstream: ACESTEP_CONFIG_PATH, _PATH2, _PATH3), listed with "
             "is_loaded=true; the first is the primary (default), which serves a request for any other model, as "
             "upstream does. A gateway counts every loaded DiT in each model's memory limits."
    ),
    downloaded_models: str = typer.Option(
        "", help="Comma-separated checkpoints on disk that the server does not load: listed with is_loaded=false, "
                 "as upstream lists every checkpoint folder; a request for one is served by the primary model."),
    pretend_gpu: Optional[str] = typer.Option(
        None, help="TESTING ONLY: fail jobs that would not fit on this known box (T4, GB10) with a simulated "
                   "'CUDA out of memory' error, as the real server would there (acekit plan decides)."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Serve the ACE-Step 1.5 REST API with a procedural music engine (a reference engine, NOT ACE-Step)."""
    import logging

    import uvicorn

    from acekit.reference.app import create_app
    from acekit.reference.settings import ReferenceSettings

    names = tuple(m.strip() for m in models.split(",") if m.strip())
    if not names:
        raise typer.BadParameter("give at least one model name, e.g. acestep-v15-turbo", param_hint="--models")
    bounds = None
    if job_seconds:
        try:
            lo, _, hi = job_seconds.partition(":")
            bounds = (float(lo), float(hi or lo))
        except ValueError:
            raise typer.BadParameter(f"write MIN:MAX seconds, e.g. 2:4 (got {job_seconds!r})",
                                     param_hint="--job-seconds") from None
        if not 0 <= bounds[0] <= bounds[1]:
            raise typer.BadParameter(f"need 0 <= MIN <= MAX (got {job_seconds!r})", param_hint="--job-seconds")
    settings = ReferenceSettings(
        output_dir=output_dir.resolve(), api_key=api_key or None, queue_maxsize=queue_maxsize, workers=workers,
        seconds_per_step=seconds_per_step, task_timeout_s=task_timeout, models=names, pretend_gpu=pretend_gpu,
        downloaded_models=tuple(m.strip() for m in downloaded_models.split(",") if m.strip()),
        job_seconds=bounds,
    )
    if pretend_gpu:
        from acekit import fit

        try:
            fit.gpu_preset(pretend_gpu)
        except fit.FitError as exc:
            raise typer.BadParameter(str(exc), param_hint="--pretend-gpu") from exc
        typer.echo(f"warning: PRETENDING to be a {pretend_gpu}: jobs that would not fit there fail with a simulated "
                   "out-of-memory error", err=True)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    typer.echo(f"acekit reference engine (NOT ACE-Step) on http://{host}:{port} -> {settings.output_dir}", err=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level.lower(), workers=1)
