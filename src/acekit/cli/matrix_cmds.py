"""``acekit matrix``, ``acekit report``, ``acekit capabilities``, ``acekit demo``: thin layers over
`acekit.matrix.runner.run_matrix`, `acekit.report.build.build_report` and
`acekit.capabilities.from_matrix.build_capabilities`."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Optional

import typer

REFERENCE_LABEL = "reference"


def register(app: typer.Typer) -> None:
    app.command("matrix")(matrix)
    app.command("report")(report)
    app.command("capabilities")(capabilities)
    app.command("demo")(demo)


def _retries(n: int) -> str:
    return f"; {n} retr{'y' if n == 1 else 'ies'} of cases lost to a restart or outage" if n else ""


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _start_reference(stack: ExitStack, *, seconds_per_step: float | None = None) -> str:
    from acekit.reference.launch import running_reference_server

    out = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="acekit-reference-")))
    args = ["--output-dir", str(out), "--log-level", "warning"]
    if seconds_per_step is not None:
        args += ["--seconds-per-step", str(seconds_per_step)]
    url = stack.enter_context(running_reference_server(*args, log_path=out / "server.log"))
    typer.secho(f"reference backend (procedural, NOT ACE-Step) on {url}", err=True, fg=typer.colors.YELLOW)
    return url


def matrix(
    spec: Optional[Path] = typer.Argument(None, help="Matrix spec (TOML). Default: the built-in spec."),
    server: list[str] = typer.Option([], "--server", "-s",
                                     help="Server URL, or LABEL=URL (repeat for several backends)."),
    reference: bool = typer.Option(False, "--reference", help="Start the built-in reference backend and use it."),
    out: Path = typer.Option(Path("runs"), "--out", "-o", help="Folder that holds run directories."),
    name: Optional[str] = typer.Option(None, "--name", help="Run directory name (default: the spec's name)."),
    resume: bool = typer.Option(True, "--resume/--no-resume",
                                help="Continue an existing run of the same spec (default). --no-resume refuses to."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Redo cases recorded as failed."),
    concurrency: int = typer.Option(1, "--concurrency", min=1, max=16, help="Cases in flight per server."),
    submit_ahead: int = typer.Option(
        1, "--submit-ahead", min=0, max=8,
        help="With --concurrency 1: cases kept queued at each server behind the one it runs, so it never waits "
             "for the runner between jobs (0: send each case when the last is done). Records' times exclude that wait."),
    api_key: Optional[str] = typer.Option(None, envvar="ACESTEP_API_KEY", help="API key for the servers."),
    timeout_s: float = typer.Option(1800.0, "--timeout-s", help="Give up on one case after this many seconds."),
    poll_interval_s: Optional[float] = typer.Option(
        None, "--poll-interval-s", min=0.01,
        help="Poll at this fixed interval (s). Default: pushed by a gateway (/v1/wait), else adaptive polling."),
    print_default_spec: bool = typer.Option(False, "--print-default-spec", help="Print the built-in spec and exit."),
    allow_failures: bool = typer.Option(
        False, "--allow-failures",
        help="Exit 0 even when cases end failed (they are still listed). Default: exit 1 if any case failed."),
) -> None:
    """Run an exploration matrix (bpm x key x task x model x ...) and record one JSON line per case.

    Cases lost to a server restart or outage are retried automatically (with the edits that need
    their clip). Exit code: 0 when every case ended ok, 1 when any case failed (each is listed with
    its reason; --allow-failures exits 0 anyway) or a server stopped answering, 2 on a usage error."""
    from acekit.matrix.runner import MatrixError, parse_server, run_matrix
    from acekit.matrix.spec import SpecError, default_spec_text, load_spec

    if print_default_spec:
        typer.echo(default_spec_text(), nl=False)
        return
    try:
        spec_obj, spec_text = load_spec(spec)
    except SpecError as exc:
        _fail(str(exc))
    run_dir = out / (name or spec_obj.name)
    if not resume and (run_dir / "manifest.json").exists():
        _fail(f"{run_dir} exists and --no-resume was given: pass --name NEW_NAME or delete it")
    if not server and not reference:
        _fail("no server: pass --server http://host:8001 (repeatable, LABEL=URL to name it) or --reference")
    with ExitStack() as stack:
        try:
            targets = [parse_server(s, api_key=api_key) for s in server]
            if reference:
                targets.append(parse_server(f"{REFERENCE_LABEL}={_start_reference(stack)}"))
            summary = run_matrix(spec_obj, spec_text, targets, out_dir=out, name=name, retry_failed=retry_failed,
                                 concurrency=concurrency, timeout_s=timeout_s, poll_interval_s=poll_interval_s,
                                 submit_ahead=submit_ahead)
        except MatrixError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            typer.secho(f"\ninterrupted: rerun the same command to resume {run_dir}", err=True,
                        fg=typer.colors.YELLOW)
            raise typer.Exit(130)
    typer.echo(
        f"{summary.run_dir}: {summary.cases} case(s) x {len(summary.servers)} server(s); ran {summary.ran} "
        f"({summary.failed} failed{_retries(summary.retried)}), skipped {summary.skipped} already recorded, "
        f"{summary.wall_s:.1f} s"
    )
    _print_failures(summary.failures)
    for label, why in summary.stopped.items():
        typer.secho(f"{label}: stopped early ({why}); rerun the same command to finish", err=True,
                    fg=typer.colors.RED)
    if summary.stopped or (summary.failures and not allow_failures):
        raise typer.Exit(1)


#: Failed cases listed one per line; past this many, a count and where to look.
MAX_FAILURES_LISTED = 20


def _print_failures(failures: list) -> None:
    if not failures:
        return
    typer.secho(f"{len(failures)} case(s) failed (reasons are in results.jsonl; --retry-failed redoes them, "
                "--allow-failures exits 0 anyway):", err=True, fg=typer.colors.RED)
    for rec in failures[:MAX_FAILURES_LISTED]:
        reason = " ".join(str(rec.reason or "no reason recorded").split())
        typer.echo(f"  {rec.server} {rec.case_id} {rec.label or rec.task}: {rec.error_type}: {reason[:300]}", err=True)
    if len(failures) > MAX_FAILURES_LISTED:
        typer.echo(f"  ... and {len(failures) - MAX_FAILURES_LISTED} more", err=True)


def report(
    run_dirs: list[Path] = typer.Argument(..., help="One or more run directories (several = side by side)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="HTML file (default: FIRST_RUN/report.html)."),
    embed: int = typer.Option(48, "--embed", help="Most audio clips embedded in the HTML (others are linked)."),
    scorecard: Optional[Path] = typer.Option(
        None, "--scorecard", help="JSON from `acekit scorecard --json` on your own labelled music: its figures go "
                                  "beside acekit's blind ones."),
) -> None:
    """Write one self-contained HTML report (plots, players, verdicts) and a Markdown summary."""
    from acekit.report.build import build_report
    from acekit.matrix.runs import RunDirError

    card = None
    if scorecard is not None:
        from pydantic import ValidationError

        from acekit.calibration.scorecard import Scorecard

        try:
            card = Scorecard.model_validate_json(scorecard.read_bytes())
        except OSError as exc:
            _fail(f"cannot read --scorecard {scorecard}: {exc.strerror or exc}")
        except ValidationError:
            _fail(f"--scorecard {scorecard} is not a scorecard: write it with `acekit scorecard TRUTH.csv --json > "
                  f"{scorecard.name}`")
    try:
        files = build_report(run_dirs, out=out, max_embedded=embed, scorecard=card)
    except RunDirError as exc:
        _fail(str(exc))
    typer.echo(f"{files.html} ({files.html_bytes / 1e6:.2f} MB, {files.embedded_audio} embedded clip(s))")
    typer.echo(str(files.markdown))


def capabilities(
    run_dirs: list[Path] = typer.Argument(None, help="Run directories of one backend."),
    backend: Optional[str] = typer.Option(None, "--backend", help="Which backend, when the runs hold several."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write here instead of stdout."),
    schema: bool = typer.Option(False, "--schema", help="Print the JSON Schema of the document and exit."),
) -> None:
    """Build the capabilities document (JSON) a gateway serves to the plugin, from matrix results."""
    from acekit.capabilities.from_matrix import CapabilitiesError, build_capabilities
    from acekit.capabilities.schema import Capabilities
    from acekit.matrix.runs import RunDirError

    if schema:
        typer.echo(Capabilities.json_schema())
        return
    if not run_dirs:
        _fail("give a run directory, e.g. `acekit capabilities runs/default > capabilities.json`")
    try:
        doc = build_capabilities(run_dirs, backend=backend)
    except (CapabilitiesError, RunDirError) as exc:
        _fail(str(exc))
    if out:
        out.write_text(doc.to_json() + "\n")
        typer.echo(str(out), err=True)
    else:
        typer.echo(doc.to_json())


def _display_available() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def demo(
    out: Path = typer.Option(Path("runs"), "--out", "-o", help="Folder for the run directory (runs/demo)."),
    name: str = typer.Option("demo", "--name"),
    open_browser: bool = typer.Option(True, "--open/--no-open", help="Open the report when a display is available."),
    concurrency: int = typer.Option(1, "--concurrency", min=1, max=8),
) -> None:
    """Start the reference backend, run the default matrix into runs/demo (resumable), write the report
    and capabilities.json, and print their paths."""
    from acekit.capabilities.from_matrix import build_capabilities
    from acekit.matrix.runner import MatrixError, parse_server, run_matrix
    from acekit.matrix.spec import load_spec
    from acekit.report.build import build_report

    t0 = time.monotonic()
    spec_obj, spec_text = load_spec(None)
    with ExitStack() as stack:
        url = _start_reference(stack)
        try:
            summary = run_matrix(spec_obj, spec_text, [parse_server(f"{REFERENCE_LABEL}={url}")], out_dir=out,
                                 name=name, concurrency=concurrency)
        except MatrixError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            typer.secho("\ninterrupted: run `acekit demo` again to resume", err=True, fg=typer.colors.YELLOW)
            raise typer.Exit(130)
    files = build_report([summary.run_dir], out=summary.run_dir / "report.html")
    caps = build_capabilities([summary.run_dir])
    caps_path = summary.run_dir / "capabilities.json"
    caps_path.write_text(caps.to_json() + "\n")
    verdicts = ", ".join(f"{t.value} {c.verdict.value}" for t, c in caps.tasks.items())
    typer.echo(f"cases: {summary.cases} ({summary.ran} run now, {summary.skipped} resumed, {summary.failed} failed"
               f"{_retries(summary.retried)})")
    typer.echo(f"verdicts (reference engine, NOT ACE-Step): {verdicts}")
    typer.echo(f"report:       {files.html}  ({files.html_bytes / 1e6:.2f} MB)")
    typer.echo(f"summary:      {files.markdown}")
    typer.echo(f"capabilities: {caps_path}")
    typer.echo(f"took {time.monotonic() - t0:.0f} s")
    if open_browser and _display_available():
        try:
            import webbrowser

            webbrowser.open(files.html.resolve().as_uri())
        except Exception:  # a missing browser must never fail the demo
            pass
