"""Placeholder: commands of this concern are being written."""

import typer


def register(app: typer.Typer) -> None:
    pass
