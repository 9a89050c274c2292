"""What CLI commands print: exit codes, one-line errors, rich tables and progress, or one JSON object.

Any CLI module can use these so every command fails the same way: one line on stderr saying
what to do, and an exit code a script can branch on (`ExitCode`). Machine output (``--json``)
goes to stdout alone; progress and errors go to stderr.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn

import click
import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from acekit.errors import AceKitError, TaskError
from acekit.keys import KeyParseError


class ExitCode(IntEnum):
    """Exit status of every acekit command that talks to a server."""

    ok = 0
    #: Bad option value (key, bpm, time signature, range), missing/unreadable file: fix the command line.
    usage = 2
    #: Server unreachable, auth refused, request rejected, 5xx, queue full.
    server = 3
    #: The task failed on the server, the server forgot it, or it did not finish in time.
    task = 4


#: The same table in words, for --help epilogs and docs.
EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 2 usage or validation error (bad key, out-of-range bpm, missing file); "
    "3 server error (unreachable, auth refused, bad request, 5xx, queue full); "
    "4 task failed, unknown task or timeout."
)

#: Our field names -> the option a user typed, so validation errors name the option.
_OPTION_NAMES = {
    "bpm": "--bpm", "key_scale": "--key", "time_signature": "--time-signature", "duration_s": "--duration",
    "inference_steps": "--steps", "seed": "--seed", "batch_size": "--batch", "audio_format": "--format",
    "repainting_start": "--start", "repainting_end": "--end", "audio_cover_strength": "--strength",
    "track": "--track", "tracks": "--track", "model": "--model",
}
#: Field names to rewrite inside free text; only snake_case ones, so plain words ("model", "seed") stay.
_FIELD_PATTERN = re.compile(
    r"\b(" + "|".join(sorted((re.escape(f) for f in _OPTION_NAMES if "_" in f), key=len, reverse=True)) + r")\b"
)

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False)


def fail(message: str, code: ExitCode, *, json_output: bool = False, **context: Any) -> NoReturn:
    """Print ``error: message`` as one line on stderr and exit with ``code``.

    With ``json_output`` (a command's ``--json``) stdout also gets one JSON object
    ``{"ok": false, "exit_code", "error", **context}``, so a script reading stdout never sees nothing.
    """
    text = " ".join(str(message).split())
    click.echo(f"error: {text}", err=True)
    if json_output:
        print_json({"ok": False, "exit_code": int(code), "error": text, **context})
    raise typer.Exit(int(code))


def describe_validation_error(exc: ValidationError) -> str:
    """One sentence per invalid field, naming the CLI option rather than the model field."""
    parts = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err.get("loc") else ""
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        option = _OPTION_NAMES.get(field)
        if option and msg.startswith(field):  # "bpm must be ..." -> "--bpm must be ..."
            parts.append(option + msg[len(field):])
        elif option:
            parts.append(f"{option}: {msg}")
        else:  # a check across fields (repaint start < end): name the options it is about
            parts.append(_FIELD_PATTERN.sub(lambda m: _OPTION_NAMES[m.group(1)], msg))
    return "; ".join(parts) or str(exc)


def exit_code_for(exc: BaseException) -> ExitCode:
    """The `ExitCode` an exception maps to (task problems 4, other server problems 3, input problems 2)."""
    if isinstance(exc, TaskError):
        return ExitCode.task
    if isinstance(exc, AceKitError):
        return ExitCode.server
    return ExitCode.usage


@contextmanager
def cli_errors(*, json_output: bool = False) -> Iterator[None]:
    """Turn acekit, validation and file errors into one stderr line and the matching exit code.

    ``json_output``: also print the error as a JSON object on stdout (see `fail`); task errors carry ``task_id``.
    """
    try:
        yield
    except (typer.Exit, click.exceptions.Exit, click.ClickException, typer.Abort):
        raise
    except ValidationError as exc:
        fail(describe_validation_error(exc), ExitCode.usage, json_output=json_output)
    except TaskError as exc:
        fail(str(exc), ExitCode.task, json_output=json_output, task_id=exc.task_id)
    except (AceKitError, KeyParseError, ValueError) as exc:
        fail(str(exc), exit_code_for(exc), json_output=json_output)
    except OSError as exc:
        where = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        fail(f"cannot use{where}: {exc.strerror or exc}; check the path and its permissions", ExitCode.usage,
             json_output=json_output)
    except KeyboardInterrupt:
        fail("interrupted; a submitted task keeps running on the server", ExitCode.task, json_output=json_output)


def jsonable(value: Any) -> Any:
    """Plain JSON data from pydantic models, paths, enums, mappings and sequences."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "value") and isinstance(getattr(value, "value"), (str, int)):
        return value.value
    return value


def print_json(value: Any) -> None:
    """Print ``value`` as one JSON document on stdout (nothing else goes to stdout with --json)."""
    click.echo(json.dumps(jsonable(value), indent=2, ensure_ascii=False))


def key_value_table(title: str, rows: Mapping[str, Any]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in rows.items():
        table.add_row(str(key), "" if value is None else str(value))
    return table


class TaskProgress:
    """Progress of one task on stderr: a rich bar on a terminal, one line per stage change otherwise.

    Silent when ``quiet`` (``--json``), so machine output stays clean on both streams.
    """

    def __init__(self, label: str, *, quiet: bool = False) -> None:
        self.label = label
        self.quiet = quiet
        self._bar: Progress | None = None
        self._task_id: Any = None
        self._last_stage: str | None = None

    def __enter__(self) -> "TaskProgress":
        if not self.quiet and stderr.is_terminal:
            self._bar = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                TextColumn("{task.fields[stage]}"), TimeElapsedColumn(), console=stderr, transient=True,
            )
            self._bar.__enter__()
            self._task_id = self._bar.add_task(self.label, total=100, stage="submitting")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def update(self, progress: Any) -> None:
        """Take an `acekit.models.Progress` (``progress`` 0..1, ``stage``, ``elapsed_s``)."""
        stage = progress.stage or "queued"
        if self._bar is not None:
            self._bar.update(self._task_id, completed=100 * (progress.progress or 0.0), stage=stage)
        elif not self.quiet and stage != self._last_stage:
            pct = "" if progress.progress is None else f" {100 * progress.progress:.0f}%"
            print(f"[{progress.elapsed_s:5.1f} s] {self.label}: {stage}{pct}", file=sys.stderr, flush=True)
        self._last_stage = stage
