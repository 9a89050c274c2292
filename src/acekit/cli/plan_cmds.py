"""``acekit plan``: what fits in GPU memory (thin layer over acekit.fit)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from acekit.cli.output import stdout


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def plan(
    gpu: Annotated[Optional[str], typer.Option(help="A known box: T4 (16 GB, fp32) or GB10 (DGX Spark, bf16)")] = None,
    gpu_memory_gb: Annotated[Optional[float], typer.Option(
        help="GPU memory the budget may use, GiB as torch reports it (a 16 GB T4 reports 14.58)")] = None,
    dtype: Annotated[Optional[str], typer.Option(help="bf16, fp16 or fp32 (default: the box's, else bf16)")] = None,
    model: Annotated[Optional[list[str]], typer.Option(
        help="DiT: acestep-v15-turbo/-base/-sft, acestep-v15-xl-turbo/-base/-sft (repeatable; default all)")] = None,
    lm: Annotated[Optional[list[str]], typer.Option(help="5 Hz LM loaded: none, 0.6B, 1.7B or 4B (repeatable)")] = None,
    batch: Annotated[Optional[list[int]], typer.Option(help="Batch size 1-8 (repeatable; table default 1 2 4 8)")] = None,
    attention: Annotated[Optional[str], typer.Option(
        help="Attention upstream runs: eager (GPUs without bf16, e.g. T4: adds its attention matrices) or sdpa "
             "(flash counts alike); default: the box's, else sdpa")] = None,
    also_loaded: Annotated[Optional[list[str]], typer.Option(
        help="Another DiT the server keeps resident (ACESTEP_CONFIG_PATH2/3; repeatable): its weights count")] = None,
    duration: Annotated[Optional[float], typer.Option(
        help="Seconds of audio: check one case (exit 0 fits, 1 does not); without it, print the table")] = None,
    offload: Annotated[bool, typer.Option(
        help="Count 'fits with CPU offload' as fitting (the server runs with ACESTEP_OFFLOAD_TO_CPU=true)")] = False,
    offload_dit: Annotated[bool, typer.Option(
        help="The offload layout moves the DiT to the CPU too (ACESTEP_OFFLOAD_DIT_TO_CPU=true); default as "
             "upstream and the images: the DiT stays on the GPU beside the VAE decode and the LM")] = False,
    untiled_decode: Annotated[bool, typer.Option(
        help="The request sends use_tiled_decode=false: the whole batch decoded at once, untiled (derived)")] = False,
    markdown: Annotated[bool, typer.Option(help="The table as Markdown (as in docs/bringup.md)")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
    data: Annotated[Optional[Path], typer.Option(help="Cost data file (default: acekit's measured.toml)")] = None,
    peaks_from: Annotated[Optional[Path], typer.Option(
        help="Print [[box_peaks]] rows for the data file from a matrix run's measured peaks (give --gpu/--dtype "
             "and --lm as the server ran), then exit")] = None,
) -> None:
    """Predict peak GPU memory per phase (LM, DiT, VAE decode) from measured figures plus derived terms
    (eager attention, LM KV cache): fits, fits with offload, or does not fit, with the margin.
    Exit codes: 0 fits, 1 does not fit, 2 bad input."""
    from acekit import fit
    from acekit.fit import render

    if peaks_from is not None:
        _print_peaks(peaks_from, gpu=gpu, dtype=dtype, lm=(lm or ["none"])[0])
        return
    try:
        costs = fit.load_data(data)
        preset = fit.gpu_preset(gpu, costs) if gpu else None
        memory = gpu_memory_gb if gpu_memory_gb is not None else (preset.memory_gib if preset else None)
        if memory is None:
            raise fit.FitError("say which GPU: --gpu T4, --gpu GB10, or --gpu-memory-gb 16 (with --dtype)")
        dt = fit.normalise_dtype(dtype or (preset.dtype if preset else "bf16"))
        attn = fit.normalise_attention(attention or (preset.attention if preset else "sdpa"))
        for m in also_loaded or []:
            fit.model.model_family(m)
        # One case: the turbo DiT with the LM off unless told; the table: every model and LM.
        models = model or (["acestep-v15-turbo"] if duration is not None else list(fit.MODELS))
        lms = [fit.normalise_lm(x) for x in (lm or (["none"] if duration is not None else list(fit.LMS)))]
        for m in models:
            fit.model.model_family(m)
        box = f"{preset.name}: " if preset else ""
        if duration is not None:
            if len(models) > 1 or len(lms) > 1 or (batch and len(batch) > 1):
                raise fit.FitError("checking one case (--duration) takes one --model, one --lm and one --batch")
            p = fit.predict(memory_gib=memory, dtype=dt, model=models[0], lm=lms[0],
                            batch=(batch or [1])[0], duration_s=duration, attention=attn,
                            also_loaded=also_loaded or (), offload_dit=offload_dit,
                            tiled_decode=not untiled_decode, data=costs)
        else:
            rows = fit.fit_table(memory_gib=memory, dtype=dt, models=models, lms=lms,
                                 batches=batch or (1, 2, 4, 8), attention=attn,
                                 also_loaded=also_loaded or (), offload_dit=offload_dit,
                                 tiled_decode=not untiled_decode, data=costs)
    except fit.FitError as exc:
        raise _fail(str(exc)) from exc

    if duration is not None:
        ok = fit.allowed(p.verdict, offload=offload)
        if json_out:
            typer.echo(json.dumps({**p.as_dict(), "ok": ok, "offload_allowed": offload}, indent=2))
        else:
            typer.echo(("fits: " if ok else "does not fit: ") + p.reason)
            off_name = "with CPU offload" + (" (DiT too)" if offload_dit else " (DiT kept on the GPU)")
            for name, phases in (("every model resident", p.resident), (off_name, p.offload)):
                lm_part = f"LM {phases.lm:.2f}, " if phases.lm is not None else ""
                typer.echo(f"  {name}: {lm_part}DiT {phases.dit:.2f}, VAE decode {phases.vae:.2f} GB")
            for note in p.notes:
                typer.echo(f"  note: {note}")
        raise typer.Exit(0 if ok else 1)

    off = ("ACESTEP_OFFLOAD_TO_CPU=true and ACESTEP_OFFLOAD_DIT_TO_CPU=true" if offload_dit else
           "ACESTEP_OFFLOAD_TO_CPU=true, the DiT kept on the GPU")
    title = (f"What fits in {memory:g} GB at {dt}, {attn} attention ({box.rstrip(': ') or 'given memory'}"
             f"{', use_tiled_decode=false' if untiled_decode else ''}): longest duration with every model resident "
             f"(with CPU offload in brackets: {off}); 'no' = not even 10 s")
    if json_out:
        typer.echo(json.dumps({"memory_gib": memory, "dtype": dt, "attention": attn, "offload_dit": offload_dit,
                               "tiled_decode": not untiled_decode,
                               "gpu": preset.name if preset else None,
                               "rows": [r.model_dump(mode="json") for r in rows]}, indent=2))
    elif markdown:
        typer.echo(render.markdown(rows, title=title), nl=False)
    else:
        from rich.console import Console
        from rich.table import Table

        batches, lines = render.grid(rows)
        table = Table(title=title, title_justify="left")
        table.add_column("model", no_wrap=True)
        table.add_column("LM", no_wrap=True)
        for b in batches:
            table.add_column(f"batch {b}", no_wrap=True)
        for m, lm_name, cells in lines:
            table.add_row(m, lm_name, *cells)
        # Piped output gets the full table instead of rich's 80-column guess.
        out = stdout if stdout.is_terminal else Console(width=160, highlight=False)
        out.print(table)
        typer.echo(f"source: {costs.path}")


def _print_peaks(run_dir: Path, *, gpu: str | None, dtype: str | None, lm: str) -> None:
    from acekit import fit
    from acekit.fit.measurements import box_peak_rows
    from acekit.matrix.runs import RunDirError, all_records, load_runs

    try:
        preset = fit.gpu_preset(gpu) if gpu else None
        dt = dtype or (preset.dtype if preset else None)
        if dt is None:
            raise fit.FitError("say what the server ran: --gpu T4 / --gpu GB10, or --dtype")
        records = all_records(load_runs([run_dir]))
        rows = box_peak_rows(records, dtype=dt, lm=lm, box=preset.name if preset else (gpu or "GPU"))
    except (fit.FitError, RunDirError) as exc:
        raise _fail(str(exc)) from exc
    if not rows:
        typer.echo(f"no case in {run_dir} has a measured peak: run the matrix through `acekit gateway`", err=True)
        raise typer.Exit(1)
    typer.echo(rows, nl=False)


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)
