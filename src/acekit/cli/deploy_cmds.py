"""``acekit deps ...`` (install logic for the images) and ``acekit image build``.

Thin layer over acekit.deploy: every command is a call a user could make from Python.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

deps_app = typer.Typer(
    name="deps",
    help="Filter upstream ACE-Step requirements for one platform and prove pip keeps the chosen torch.",
    no_args_is_help=True,
)
image_app = typer.Typer(name="image", help="Build the ACE-Step + acekit images (docker/).", no_args_is_help=True)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@deps_app.command("filter")
def deps_filter(
    requirements: Annotated[Optional[Path], typer.Argument(help="Upstream requirements.txt.", exists=True, dir_okay=False)] = None,
    pyproject: Annotated[
        Optional[list[Path]],
        typer.Option("--pyproject", help="pyproject.toml whose [project].dependencies join the list (repeatable).", exists=True),
    ] = None,
    platform: Annotated[Optional[str], typer.Option(help="Target: spark or t4.")] = None,
    machine: Annotated[Optional[str], typer.Option(help="Instead of --platform: aarch64 or x86_64.")] = None,
    cuda: Annotated[Optional[str], typer.Option(help="With --machine: CUDA major.minor, e.g. 13.0.")] = None,
    torch_spec: Annotated[
        Optional[str],
        typer.Option(help="Override the torch pins, e.g. a nightly: 'torch==X torchvision==Y torchaudio==Z' (exact ==)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Filtered requirements file to write.")] = Path("requirements.filtered.txt"),
    constraints_out: Annotated[Path, typer.Option(help="Constraints file to write.")] = Path("constraints.txt"),
    quiet: Annotated[bool, typer.Option(help="Do not list the dropped lines.")] = False,
) -> None:
    """Write a torch-free requirements file for the platform, and a constraints file pinning its torch."""
    from acekit.deploy.deps import constraints_text, filter_files
    from acekit.deploy.platforms import resolve_target, with_torch_spec

    try:
        target = resolve_target(platform=platform, machine=machine, cuda=cuda)
        if torch_spec:
            target = with_torch_spec(target, torch_spec)
        result = filter_files(platform=target, requirements=requirements, pyprojects=pyproject or [])
    except ValueError as exc:
        _fail(str(exc))
    out.write_text(result.requirements_text())
    constraints_out.write_text(constraints_text(target))
    if not quiet:
        for line in result.report_lines():
            typer.echo(line)
    typer.echo(
        f"kept {len(result.kept)} requirements -> {out}; dropped {len(result.dropped)} lines; "
        f"constraints ({', '.join(target.constraint_lines())}) -> {constraints_out}"
    )


@deps_app.command("check")
def deps_check(
    requirements: Annotated[Path, typer.Option("--requirements", "-r", help="Filtered requirements.", exists=True, dir_okay=False)],
    constraints: Annotated[Path, typer.Option("--constraints", "-c", help="Constraints from `deps filter`.", exists=True, dir_okay=False)],
    python: Annotated[str, typer.Option(help="Interpreter of the environment that holds the chosen torch.")] = sys.executable,
    explain: Annotated[
        bool,
        typer.Option(
            help="Also resolve WITHOUT the constraints: name the requirements that would have replaced torch, "
            "and the packages (ABI companions like torchcodec) the constraints hold back."
        ),
    ] = False,
    find_links: Annotated[
        Optional[list[str]], typer.Option("--find-links", help="Extra pip --find-links location (repeatable).")
    ] = None,
    index_url: Annotated[Optional[str], typer.Option(help="pip --index-url for the resolution.")] = None,
    extra_index_url: Annotated[
        Optional[list[str]], typer.Option("--extra-index-url", help="pip --extra-index-url (repeatable).")
    ] = None,
    no_index: Annotated[
        bool, typer.Option("--no-index", help="pip --no-index: resolve only from --find-links (offline, deterministic).")
    ] = False,
    trace: Annotated[
        bool,
        typer.Option(help="On failure, resolve again without the constraints to name the full requirement chain."),
    ] = True,
) -> None:
    """Prove with pip's resolver (dry run) that installing the requirements changes no torch package.

    Exit 0: pip plans no torch/torchvision/torchaudio/nvidia-* install. Exit 1: it would (or cannot
    resolve next to the installed torch); the culprits are named.
    """
    from acekit.deploy.check import check_install, constraint_violations

    extra: list[str] = []
    for loc in find_links or []:
        extra += ["--find-links", loc]
    if index_url:
        extra += ["--index-url", index_url]
    for url in extra_index_url or []:
        extra += ["--extra-index-url", url]
    if no_index:
        extra.append("--no-index")
    try:
        result = check_install(
            python=python, requirements=requirements, constraints=constraints, extra_pip_args=extra, trace_failure=trace
        )
    except RuntimeError as exc:
        _fail(str(exc))
    typer.echo(result.summary())
    if explain:
        probe = check_install(python=python, requirements=requirements, constraints=None, extra_pip_args=extra)
        typer.echo("Without the constraints file:")
        typer.echo(probe.summary())
        broken = constraint_violations(probe.installs, constraints)
        if broken:
            typer.echo("  and pip would pick versions the constraints file holds back:")
            typer.echo("\n".join(f"    {line}" for line in broken))
    if not result.ok:
        raise typer.Exit(1)


@deps_app.command("verify")
def deps_verify(
    constraints: Annotated[Path, typer.Option("--constraints", "-c", help="Constraints from `deps filter`.", exists=True, dir_okay=False)],
    python: Annotated[str, typer.Option(help="Interpreter of the environment to verify.")] = sys.executable,
    pip_check: Annotated[bool, typer.Option(help="Also run `pip check`.")] = True,
    ignore: Annotated[
        Optional[list[str]],
        typer.Option("--ignore", help="Package left out on purpose: pip check complaints about it don't fail (repeatable)."),
    ] = None,
) -> None:
    """Last gate of an image build: installed torch family == the constraints' pins, and pip check passes."""
    from acekit.deploy.check import verify_installed

    try:
        result = verify_installed(python=python, constraints=constraints, run_pip_check=pip_check, pip_check_ignore=ignore or [])
    except (RuntimeError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(result.summary())
    if not result.ok:
        raise typer.Exit(1)


@image_app.command("build")
def image_build(
    platform: Annotated[str, typer.Argument(help="spark or t4.")],
    ref: Annotated[Optional[str], typer.Option(help="Upstream ACE-Step git ref (commit) to build.")] = None,
    flash_attn: Annotated[bool, typer.Option("--flash-attn", help="Build FlashAttention 2 from source (Spark only).")] = False,
    tag: Annotated[Optional[str], typer.Option(help="Image tag (default acekit-acestep:<platform>).")] = None,
    torch_index_url: Annotated[Optional[str], typer.Option(help="Fallback torch source, e.g. a nightly index.")] = None,
    torch_spec: Annotated[Optional[str], typer.Option(help="Fallback torch pins: 'torch==X torchvision==Y torchaudio==Z'.")] = None,
    torch_pre: Annotated[bool, typer.Option("--torch-pre", help="Allow pre-release torch (nightlies) for --torch-spec.")] = False,
    context: Annotated[Optional[Path], typer.Option(help="Repo root to build from (default: this checkout).")] = None,
    run: Annotated[bool, typer.Option("--run", help="Also execute the command (needs docker on PATH).")] = False,
) -> None:
    """Print the docker build command for the platform's image; with --run, execute it.

    Printing is the default so the command can be reviewed, copied to the GPU host, or edited.
    """
    from acekit.deploy.image import DEFAULT_ACESTEP_REF, plan_build, run_build

    try:
        plan = plan_build(
            platform,
            ref=ref or DEFAULT_ACESTEP_REF,
            flash_attn=flash_attn,
            tag=tag,
            context=context,
            torch_index_url=torch_index_url,
            torch_spec=torch_spec,
            torch_pre=torch_pre,
        )
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
    typer.echo(plan.shell())
    if not run:
        return
    try:
        code = run_build(plan)
    except RuntimeError as exc:
        _fail(str(exc))
    if code != 0:
        _fail(f"docker build exited {code}", code)


@image_app.command("check-source")
def image_check_source(
    source: Annotated[Path, typer.Argument(help="Upstream ACE-Step checkout.", exists=True, file_okay=False)],
    platform: Annotated[str, typer.Option(help="spark or t4.")],
    allow_default_dtype: Annotated[
        bool,
        typer.Option(help="Accept a ref where neither upstream nor acekit's dtype launcher applies "
                     "ACESTEP_DTYPE (T4 then runs float16)."),
    ] = False,
) -> None:
    """Check an upstream tree has what the platform's image relies on (API entry, nano-vllm, dtype override)."""
    from acekit.deploy.platforms import get_platform
    from acekit.deploy.upstream import check_source

    try:
        target = get_platform(platform)
    except ValueError as exc:
        _fail(str(exc))
    result = check_source(source, target, allow_default_dtype=allow_default_dtype)
    typer.echo(result.summary())
    if not result.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(deps_app, name="deps")
    app.add_typer(image_app, name="image")
