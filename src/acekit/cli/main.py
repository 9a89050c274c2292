"""The ``acekit`` command. Each concern registers its commands from its own module."""

from __future__ import annotations

import typer

from acekit.cli import (
    analysis_cmds,
    conformance_cmds,
    deploy_cmds,
    gateway_cmds,
    matrix_cmds,
    plan_cmds,
    reference_cmds,
    task_cmds,
)

app = typer.Typer(
    name="acekit",
    help="Stand up ACE-Step 1.5 as a REST backend, drive it, and judge what it produces.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)



@app.command()
def version() -> None:
    """Print acekit's version."""
    from acekit import __version__

    typer.echo(__version__)


for module in (
    task_cmds, reference_cmds, analysis_cmds, matrix_cmds, deploy_cmds, gateway_cmds, plan_cmds, conformance_cmds,
):
    module.register(app)

if __name__ == "__main__":
    app()
