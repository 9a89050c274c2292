"""``acekit conformance``: run the conformance tier against upstream's own API server (thin layer over acekit.conformance)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def conformance(
    upstream_src: Annotated[Path, typer.Option(
        "--upstream-src", envvar="ACEKIT_UPSTREAM_SRC", show_envvar=True, file_okay=False,
        help="Upstream ACE-Step 1.5 source tree (the folder holding acestep/) at the ref to vet.")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Work folder: the run's copy of the tree, server log, recorded calls, audio, report.")] = Path("runs/conformance"),
    report: Annotated[Optional[Path], typer.Option(
        "--report", help="JSON report file (default OUT/conformance-report.json).")] = None,
    surface: Annotated[Optional[list[str]], typer.Option(
        "--surface", help="Only these surfaces (repeatable): client, cli, curl, gateway, matrix. Default: all.")] = None,
    rebuild_venv: Annotated[bool, typer.Option(
        "--rebuild-venv", help="Rebuild the cached upstream venv (~/.cache/acekit/conformance) even if it exists.")] = False,
) -> None:
    """Start upstream's own api_server from DIR on CPU (only the model calls stood in), drive acekit's
    client, CLI, curl kit, gateway and a small matrix against it, and check that every field arrives
    with the value asked for. Exit 0 when every check passes, 1 when one fails, 2 on bad input.

    The first run builds a separate venv for upstream (CPU torch 2.10.0 and upstream's requirements,
    several GB, cached by upstream's requirements); acekit's own venv is not touched.
    """
    from acekit.conformance import SURFACES, run_conformance

    surfaces = tuple(surface) if surface else SURFACES
    report_path = report or out / "conformance-report.json"
    try:
        result = run_conformance(upstream_src, work_dir=out, surfaces=surfaces, report_path=report_path,
                                 log=lambda line: typer.echo(line, err=True), rebuild_venv=rebuild_venv)
    except (ValueError, RuntimeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for line in result.summary_lines():
        typer.echo(line)
    raise typer.Exit(0 if result.ok else 1)


def register(app: typer.Typer) -> None:
    app.command("conformance")(conformance)
