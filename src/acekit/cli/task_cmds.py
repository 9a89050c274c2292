"""``acekit health|models|stats|generate|repaint|cover|lego|extract|complete``: thin layers over `acekit.Client`.

Every task command builds its request model (`acekit.models.make_request`) before anything is
sent, so a bad key, an out-of-range bpm or a missing file fails with exit code 2 and a message
naming the option. It then submits (multipart when a source file is uploaded), shows progress on
stderr, downloads every generated audio into ``--out`` and writes a JSON sidecar next to each
file: the request as sent, what the server returned for that file (metas, seed, models) and the
timings. ``--json`` prints one JSON object on stdout instead of the human summary.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from acekit import contract
from acekit.cli.output import (
    EXIT_CODES_HELP,
    ExitCode,
    TaskProgress,
    cli_errors,
    fail,
    key_value_table,
    print_json,
    stdout,
)
from acekit.contract import TaskType
from acekit.sidecar import item_seed, sidecar_for, write_sidecar

__all__ = ["register"]

# --------------------------------------------------------------------------- shared options
# One definition per option so every command spells and documents it the same way.

ServerOpt = Annotated[Optional[str], typer.Option(
    "--server", envvar=contract.SERVER_ENV, show_envvar=True,
    help=f"API server URL (default {contract.DEFAULT_SERVER}).")]
ApiKeyOpt = Annotated[Optional[str], typer.Option(
    "--api-key", envvar=contract.API_KEY_ENV, show_envvar=True,
    help="API key, sent as 'Authorization: Bearer KEY' (only if the server wants one).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout (no progress, no tables).")]

PromptOpt = Annotated[str, typer.Option("--prompt", "-p", help="Caption: style, instruments, mood.")]
LyricsOpt = Annotated[str, typer.Option("--lyrics", help="Lyrics text ('[Instrumental]' for none).")]
LyricsFileOpt = Annotated[Optional[Path], typer.Option(
    "--lyrics-file", help="Read the lyrics from this text file (instead of --lyrics).")]
_META_DEFAULT = "default: edit tasks send SRC's own, measured by acekit when confident; text2music leaves it to the server"
BpmOpt = Annotated[Optional[int], typer.Option(
    "--bpm", help=f"Tempo, {contract.BPM_MIN}-{contract.BPM_MAX}; the DAW's host tempo always wins ({_META_DEFAULT}).")]
KeyOpt = Annotated[Optional[str], typer.Option(
    "--key", help=f"Key in any common spelling: 'A minor', 'Am', 'a:min', 'F#m', 'Gb major' ({_META_DEFAULT}).")]
MeterOpt = Annotated[Optional[str], typer.Option(
    "--time-signature", help=f"Meter: 2/4, 3/4, 4/4 or 6/8 (or 2, 3, 4, 6) ({_META_DEFAULT}; acekit measures "
                             "only 3/4 vs 4/4).")]
StepsOpt = Annotated[Optional[int], typer.Option(
    "--steps", help=f"Diffusion steps (turbo 1-{contract.MAX_STEPS_TURBO}, default {contract.DEFAULT_STEPS_TURBO}; "
                    f"base up to {contract.MAX_STEPS_BASE}).")]
SeedOpt = Annotated[Optional[int], typer.Option("--seed", help="Seed for a repeatable result; -1 = random.")]
ModelOpt = Annotated[Optional[str], typer.Option(
    "--model", help="DiT model name, as `acekit models` lists it (default: the server's default): e.g. "
                    f"{', '.join(contract.MAIN_DIT_MODELS)}. The xl models are 4B DiTs; base, sft, xl-base and "
                    "xl-sft are base models (lego, extract, complete need one upstream).")]
GuidanceVariantOpt = Annotated[Optional[str], typer.Option(
    "--guidance-variant", help=f"Guidance variant ({', '.join(contract.GUIDANCE_VARIANTS)}, or another registered "
                               "one). Newer upstream only (PR 1129); 53067ab ignores it.")]
GuidanceParamsOpt = Annotated[Optional[str], typer.Option(
    "--guidance-params", metavar="JSON",
    help='The variant\'s parameter overrides as a JSON object, e.g. \'{"eta": 0.0, "momentum": -0.75}\'. '
         "Newer upstream only (PR 1129); 53067ab ignores it.")]
ThinkingOpt = Annotated[bool, typer.Option(
    "--thinking/--no-thinking",
    help="Let the 5 Hz LM write audio codes for the DiT (sends thinking=true; default off). Caption and metas "
         "stay as given. On lego and complete the LM's codes can override SRC (upstream issue 1286).")]
LmFillOpt = Annotated[bool, typer.Option(
    "--lm-fill",
    help="Let the 5 Hz LM fill the metas you left empty (bpm, key, meter, duration) and detect the vocal language "
         "(sends use_cot_metas/use_cot_language=true; default off). Without it, edit tasks send SRC's own metas, "
         "measured by acekit; the sidecar's meta_sources says where each came from.")]
LmCaptionOpt = Annotated[bool, typer.Option(
    "--lm-rewrite-caption",
    help="Let the 5 Hz LM replace your caption with its own (sends use_cot_caption=true; default off: "
         "the DiT gets your caption).")]
FormatOpt = Annotated[Optional[str], typer.Option("--format", help=f"Audio format: {', '.join(contract.AUDIO_FORMATS)} (server default mp3).")]
BatchOpt = Annotated[Optional[int], typer.Option(
    "--batch", help=f"Audios per task, {contract.BATCH_MIN}-{contract.BATCH_MAX} "
                    f"(server default {contract.DEFAULT_BATCH}).")]
OutOpt = Annotated[Path, typer.Option(
    "--out", "-o", help="Folder for the audio and its .json sidecars (created if missing).")]
NameOpt = Annotated[Optional[str], typer.Option(
    "--name", help="Base file name (NAME.wav, or NAME_0.wav, NAME_1.wav for a batch); default: the server's.")]
ExtraOpt = Annotated[Optional[list[str]], typer.Option(
    "--extra", metavar="FIELD=VALUE",
    help="Any other /release_task field, sent as is (VALUE read as JSON when it parses), e.g. "
         "--extra lm_temperature=0.7. Repeatable.")]
PollOpt = Annotated[Optional[float], typer.Option(
    "--poll-interval-s", min=0.01,
    help="Poll at this fixed interval (s). Default: pushed by a gateway (/v1/wait), else adaptive polling.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout-s", min=1.0, help="Give up waiting after this many seconds.")]
WaitServerOpt = Annotated[Optional[float], typer.Option(
    "--wait-for-server", metavar="SECONDS", min=0.1,
    help="First wait up to SECONDS for the server to come up (a server still loading its models, or a gateway "
         "whose ACE-Step is not up yet), retrying with backoff, then submit once. A refused connection is retried; "
         "a request the server may have received never is (no duplicate jobs). Default: fail at once.")]
SourceArg = Annotated[Path, typer.Argument(
    metavar="SRC", help="Source audio to upload (wav, flac, mp3, ogg).", show_default=False)]

_TRACKS_HELP = ", ".join(contract.TRACK_NAMES)


def register(app: typer.Typer) -> None:
    for name, func in (
        ("health", health), ("models", models), ("stats", stats), ("generate", generate), ("repaint", repaint),
        ("cover", cover), ("lego", lego), ("extract", extract), ("complete", complete),
    ):
        app.command(name, epilog=EXIT_CODES_HELP)(func)


# --------------------------------------------------------------------------- server info


def _client(server: str | None, api_key: str | None):
    from acekit.client import Client

    return Client(server, api_key=api_key)


def health(server: ServerOpt = None, api_key: ApiKeyOpt = None, as_json: JsonOpt = False,
           wait_for_server: Annotated[Optional[float], typer.Option(
               "--wait-for-server", metavar="SECONDS", min=0.1,
               help="Wait up to SECONDS for the server to come up (e.g. in a start-up script).")] = None) -> None:
    """Is the server up? Prints its status, service name and version."""
    with cli_errors(json_output=as_json), _client(server, api_key) as client:
        info = client.wait_for_server(wait_for_server) if wait_for_server else client.health()
        if as_json:
            print_json({"server": client.server, **info.model_dump(mode="json")})
            return
        stdout.print(key_value_table(f"{client.server}/health", {"server": client.server, **info.model_dump()}))


def models(server: ServerOpt = None, api_key: ApiKeyOpt = None, as_json: JsonOpt = False) -> None:
    """The DiT models the server offers, its default, and the tasks each claims to support."""
    with cli_errors(json_output=as_json), _client(server, api_key) as client:
        listing = client.models()
        if as_json:
            print_json({"server": client.server, **listing.model_dump(mode="json")})
            return
        table = Table(title=f"{client.server}{listing.source or ''}", title_justify="left")
        for column in ("model", "default", "loaded", "claimed tasks"):
            table.add_column(column)
        for m in listing.models:
            tasks = "(not stated)" if m.supported_task_types is None else ", ".join(m.supported_task_types)
            loaded = "" if m.is_loaded is None else ("yes" if m.is_loaded else "no")
            table.add_row(m.name, "yes" if m.name == listing.default_model else "", loaded, tasks)
        stdout.print(table)
        if not listing.models:
            stdout.print("the server lists no models")


def stats(server: ServerOpt = None, api_key: ApiKeyOpt = None, as_json: JsonOpt = False) -> None:
    """Job counts, queue fill and the server's average job time."""
    with cli_errors(json_output=as_json), _client(server, api_key) as client:
        info = client.stats()
        if as_json:
            print_json({"server": client.server, **info.model_dump(mode="json")})
            return
        jobs = info.jobs
        avg = "" if info.avg_job_seconds is None else f"{info.avg_job_seconds:.2f} s"
        if avg and not (jobs.succeeded or jobs.failed):
            avg += " (no job finished yet: the server's initial estimate)"  # upstream starts from a fixed guess
        stdout.print(key_value_table(f"{client.server}/v1/stats", {
            "jobs total": jobs.total, "queued": jobs.queued, "running": jobs.running,
            "succeeded": jobs.succeeded, "failed": jobs.failed,
            "queue": f"{info.queue_size if info.queue_size is not None else '?'} / "
                     f"{info.queue_maxsize if info.queue_maxsize is not None else '?'}",
            "avg job": avg,
        }))


# --------------------------------------------------------------------------- task plumbing


class _UsageError(ValueError):
    """A bad command line; `cli_errors` maps ValueError to exit 2 (and to JSON under --json)."""


def _parse_extra(pairs: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{pair!r} is not FIELD=VALUE (e.g. lm_temperature=0.7)", param_hint="--extra")
        try:
            out[name.strip()] = json.loads(text)
        except ValueError:
            out[name.strip()] = text
    return out


def _json_object(text: str | None, option: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise _UsageError(f"{option} is not JSON ({exc}): write an object, e.g. '{{\"eta\": 0.0}}'") from None
    if not isinstance(value, dict):
        raise _UsageError(f"{option} must be a JSON object, e.g. '{{\"eta\": 0.0}}' (got {text!r})")
    return value


def _check_file(path: Path | None, what: str, option: str) -> None:
    if path is None:
        return
    if not path.exists():
        raise _UsageError(f"{what} {str(path)!r} does not exist: give the path of an existing file ({option})")
    if not path.is_file():
        raise _UsageError(f"{what} {str(path)!r} is not a file: give the path of a file ({option})")
    if not os.access(path, os.R_OK):
        raise _UsageError(f"{what} {str(path)!r} is not readable: check its permissions ({option})")


def _prepare_out(out: Path) -> list[Path]:
    """Create --out now and prove a file can be written there, so a folder that cannot be used fails
    before the server does the work. Returns the folders it created (removed again if the task fails)."""
    if out.exists() and not out.is_dir():
        raise _UsageError(f"--out {str(out)!r} is a file: give a folder (it is created if missing)")
    created = [p for p in (out, *out.parents) if not p.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        _remove_empty(created)
        raise _UsageError(f"--out {str(out)!r} cannot be used: {exc.strerror or exc}; "
                          "give a folder you can write to (it is created if missing)") from None
    return created


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first
        try:
            folder.rmdir()
        except OSError:
            return


def _common_fields(
    *, prompt: str, lyrics: str, lyrics_file: Path | None, bpm: int | None, key: str | None,
    time_signature: str | None, steps: int | None, seed: int | None, model: str | None,
    thinking: bool, audio_format: str | None, batch: int | None, extra: list[str] | None,
    lm_fill: bool = False, lm_rewrite_caption: bool = False,
    guidance_variant: str | None = None, guidance_params: str | None = None,
) -> dict[str, Any]:
    if lyrics_file is not None:
        if lyrics:
            raise _UsageError("give either --lyrics or --lyrics-file, not both")
        _check_file(lyrics_file, "lyrics file", "--lyrics-file")
        lyrics = lyrics_file.read_text(encoding="utf-8")
    fields: dict[str, Any] = {
        "prompt": prompt, "lyrics": lyrics, "bpm": bpm, "key_scale": key, "time_signature": time_signature,
        "inference_steps": steps, "seed": seed, "model": model, "thinking": thinking, "audio_format": audio_format,
        "batch_size": batch, "extra": _parse_extra(extra), "lm_fill": lm_fill,
        "lm_rewrite_caption": lm_rewrite_caption, "guidance_variant": guidance_variant,
        "guidance_params": _json_object(guidance_params, "--guidance-params"),
    }
    return {k: v for k, v in fields.items() if v is not None}


def _final_paths(paths: list[Path], name: str | None) -> list[Path]:
    """Rename downloads to ``--name`` (NAME.ext for one file, NAME_i.ext for a batch)."""
    if not name:
        return paths
    renamed = []
    for i, path in enumerate(paths):
        stem = name if len(paths) == 1 else f"{name}_{i}"
        target = path.with_name(stem + path.suffix)
        os.replace(path, target)
        renamed.append(target)
    return renamed


def served_warnings(task: TaskType, request: Any, outcome: Any) -> list[str]:
    """What the server did otherwise than asked, without an error: upstream changes these silently."""
    out = []
    asked = request.model
    served = {item.dit_model for item in outcome.result.items if item.dit_model}
    # Upstream serves a model it has not loaded with its primary one.
    if asked and served and served != {asked}:
        out.append(f"asked for model {asked!r} but the server used {', '.join(sorted(served))}: it has not loaded "
                   f"{asked} (see `acekit models`)")
    # Upstream accepts these on a turbo model too, and the result is poor.
    turbo = sorted(m for m in served if contract.is_turbo_model_name(m))
    if task in contract.BASE_ONLY_TASKS and turbo:
        out.append(f"upstream marks {task.value} as base-model only but {', '.join(turbo)} served it: "
                   "pass --model with a base DiT (e.g. acestep-v15-base; see `acekit models`)")
    # Upstream's VRAM guard lowers the batch when free GPU memory is tight (memory_utils._vram_guard_reduce_batch).
    asked_batch = request.batch_size
    if asked_batch and outcome.result.items and len(outcome.result.items) < asked_batch:
        out.append(f"asked for a batch of {asked_batch} but the server returned {len(outcome.result.items)}: upstream "
                   "lowers the batch when free GPU memory is tight; ask for fewer (see `acekit plan`)")
    return out


def _describe(item: Any, index: int, batch_size: int) -> str:
    m = item.metas
    parts = []
    if m.duration is not None:
        parts.append(f"{m.duration:.1f} s")
    if m.bpm is not None:
        parts.append(f"{m.bpm:g} bpm")
    if m.keyscale:
        parts.append(m.keyscale)
    if m.timesignature:
        parts.append(contract.TIME_SIGNATURES.get(str(m.timesignature), str(m.timesignature)))
    seed = item_seed(item.seed_value, index, batch_size)
    if seed is not None:
        parts.append(f"seed {seed}")
    if item.dit_model:
        parts.append(item.dit_model)
    engine = (m.model_extra or {}).get("engine") or (item.model_extra or {}).get("engine")
    if engine:
        parts.append(f"engine: {engine}")
    return ", ".join(parts)


def _region_warnings(request: Any, src: Path | None) -> list[str]:
    """Check a repaint region against the source's length: past the end is an error for --start, a warning for --end."""
    start, end = getattr(request, "repainting_start", None), getattr(request, "repainting_end", None)
    if src is None:
        return []
    try:
        import soundfile

        length_s = soundfile.info(str(src)).duration
    except Exception:  # a format libsndfile cannot read: the server decides
        return []
    if request.task_type == TaskType.complete and request.duration_s is not None \
            and abs(request.duration_s - length_s) > 1.0:
        return [f"--duration {request.duration_s:g} s differs from SRC ({length_s:.1f} s): upstream still returns "
                f"audio as long as SRC; the value only reaches the 5 Hz LM"]
    if start is None:
        return []
    if start >= length_s:
        raise _UsageError(f"--start ({start:g} s) is at or past the end of SRC ({length_s:.1f} s): "
                          "choose a region inside the clip")
    if end is not None and end > length_s:
        if request.task_type == TaskType.repaint:
            return [f"--end ({end:g} s) is past the end of SRC ({length_s:.1f} s): the output is extended to "
                    f"{end:g} s (use --end -1 to repaint to the end without extending)"]
        return [f"--end ({end:g} s) is past the end of SRC ({length_s:.1f} s): the new stem stops where SRC does"]
    return []


def _meta_warnings(request: Any) -> list[str]:
    """Say which metas the server will choose, and why acekit did not send them."""
    from acekit.models import LM_TASKS

    if request.lm_fill:
        return []
    out = []
    for name, src in request.meta_sources().items():
        if src.source != "server" or (name == "duration_s" and request.needs_source):
            continue
        option = {"bpm": "--bpm", "key_scale": "--key", "time_signature": "--time-signature",
                  "duration_s": "--duration"}[name]
        who = ("a server with the 5 Hz LM loaded chooses it (upstream always lets its LM fill empty metas)"
               if request.task_type in LM_TASKS else "the DiT goes without it")
        if name in request.measured:  # acekit tried to measure it from SRC: say why it was not sent
            out.append(f"{name} not given and not taken from SRC ({src.note}): {who}")
        else:
            out.append(f"{name} not given: {who}; pass {option}")
    return out


def _run_task(
    task: TaskType,
    fields: dict[str, Any],
    *,
    src: Path | None = None,
    reference: Path | None = None,
    out: Path,
    name: str | None,
    server: str | None,
    api_key: str | None,
    as_json: bool,
    poll_interval_s: float | None,
    timeout_s: float,
    wait_for_server_s: float | None = None,
) -> None:
    from acekit.audiofile import check_audio_file
    from acekit.models import make_request

    with cli_errors(json_output=as_json):
        # Everything the user typed is checked here, before any connection is made.
        _check_file(src, "source audio", "SRC")
        _check_file(reference, "reference audio", "--reference")
        for path, what in ((src, "source audio (SRC)"), (reference, "reference audio (--reference)")):
            if path is not None:  # decode it here: the server would only fail the task after the upload
                check_audio_file(path, what=what)
        request = make_request(task, **fields)
        warnings = _region_warnings(request, src)
        if src is not None:
            # Metas the user left empty default to SRC's own, measured here (unless --lm-fill): see acekit.source_metas.
            from acekit.source_metas import fill_from_source

            request = fill_from_source(request, src)
        warnings += _meta_warnings(request)
        uploads = {"src_audio": src, "reference_audio": reference}
        created = _prepare_out(out)

        try:
            with _client(server, api_key) as client, TaskProgress(task.value, quiet=as_json) as progress:
                outcome = client.generate(
                    request, src_audio=src, reference_audio=reference, out_dir=out, on_progress=progress.update,
                    poll_interval_s=poll_interval_s, timeout_s=timeout_s, wait_for_server_s=wait_for_server_s,
                )
                server_url = client.server
        except BaseException:
            _remove_empty(created)  # a failed task leaves no empty folder
            raise
        paths = _final_paths(outcome.paths, name)
        files = []
        for i, (path, item) in enumerate(zip(paths, outcome.result.items)):
            card = sidecar_for(outcome, request, i, path, server=server_url, uploads=uploads)
            side = write_sidecar(card, path)
            files.append({"audio": str(path), "sidecar": str(side), "metas": card["metas"],
                          "seed": card["seed"], "dit_model": item.dit_model})

    warnings += served_warnings(task, request, outcome)
    for w in warnings:
        typer.echo(f"warning: {w}", err=True)

    timings = {"wall_s": round(outcome.wall_s, 3),
               "queue_wait_s": None if outcome.queue_wait_s is None else round(outcome.queue_wait_s, 3),
               "download_s": round(outcome.download_s, 3), "polls": outcome.polls}
    sources = {k: v.model_dump(mode="json", exclude_none=True) for k, v in request.meta_sources().items()}
    if as_json:
        print_json({"ok": True, "task_id": outcome.task_id, "task_type": task.value, "server": server_url,
                    "files": files, "timings": timings, "warnings": warnings,
                    "lm": {"mode": request.lm_mode(), "switches": request.lm_switches()}, "meta_sources": sources})
        return
    for i, (path, item) in enumerate(zip(paths, outcome.result.items)):
        stdout.print(f"{path}  ({_describe(item, i, len(paths))})")
    stdout.print(f"LM: {request.lm_mode()}")
    stdout.print("metas sent: " + ", ".join(
        f"{name} {v['value']} ({v['source']})" if v["source"] != "server" else f"{name} left to the server"
        for name, v in sources.items()))
    queued = "" if outcome.queue_wait_s is None else f", queued {outcome.queue_wait_s:.1f} s"
    stdout.print(
        f"task {outcome.task_id}: {len(paths)} file(s) + .json sidecar(s) in {out}, "
        f"{outcome.wall_s:.1f} s{queued}, download {outcome.download_s:.2f} s"
    )


# --------------------------------------------------------------------------- task commands


def generate(
    prompt: PromptOpt = "",
    lyrics: LyricsOpt = "",
    lyrics_file: LyricsFileOpt = None,
    bpm: BpmOpt = None,
    key: KeyOpt = None,
    time_signature: MeterOpt = None,
    duration: Annotated[Optional[float], typer.Option(
        "--duration", help=f"Length in seconds, {contract.DURATION_MIN_S:g}-{contract.DURATION_MAX_S:g} "
                           "(default: the server chooses).")] = None,
    steps: StepsOpt = None,
    seed: SeedOpt = None,
    model: ModelOpt = None,
    thinking: ThinkingOpt = False,
    lm_fill: LmFillOpt = False,
    lm_rewrite_caption: LmCaptionOpt = False,
    guidance_variant: GuidanceVariantOpt = None,
    guidance_params: GuidanceParamsOpt = None,
    audio_format: FormatOpt = None,
    batch: BatchOpt = None,
    out: OutOpt = Path("."),
    name: NameOpt = None,
    extra: ExtraOpt = None,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
    poll_interval_s: PollOpt = None,
    timeout_s: TimeoutOpt = 1800.0,
    wait_for_server: WaitServerOpt = None,
) -> None:
    """Text to music: generate audio from a caption, lyrics and metas (bpm, key, meter, length)."""
    with cli_errors(json_output=as_json):
        fields = _common_fields(prompt=prompt, lyrics=lyrics, lyrics_file=lyrics_file, bpm=bpm, key=key,
                                time_signature=time_signature, steps=steps, seed=seed, model=model,
                                thinking=thinking, audio_format=audio_format, batch=batch, extra=extra,
                                lm_fill=lm_fill, lm_rewrite_caption=lm_rewrite_caption,
                                guidance_variant=guidance_variant, guidance_params=guidance_params)
    if duration is not None:
        fields["duration_s"] = duration
    _run_task(TaskType.text2music, fields, out=out, name=name, server=server, api_key=api_key, as_json=as_json,
              poll_interval_s=poll_interval_s, timeout_s=timeout_s,
              wait_for_server_s=wait_for_server)


def repaint(
    src: SourceArg,
    start: Annotated[float, typer.Option("--start", help="Start of the region to regenerate, seconds.")] = 0.0,
    end: Annotated[float, typer.Option("--end", help="End of the region, seconds; -1 = to the end.")] = -1.0,
    repaint_mode: Annotated[Optional[str], typer.Option(
        "--repaint-mode", help="conservative (keeps most of SRC), balanced or aggressive (pure diffusion); server "
                               "default balanced. At upstream 53067ab mode and --repaint-strength also set the "
                               "boundary crossfades (conservative 1 s latent + 0.05 s audio, aggressive none).")] = None,
    repaint_strength: Annotated[Optional[float], typer.Option(
        "--repaint-strength", min=0.0, max=1.0,
        help="Balanced mode only: 0.0 keeps the most of SRC, 1.0 is pure diffusion (server default 0.5).")] = None,
    prompt: PromptOpt = "",
    lyrics: LyricsOpt = "",
    lyrics_file: LyricsFileOpt = None,
    bpm: BpmOpt = None,
    key: KeyOpt = None,
    time_signature: MeterOpt = None,
    steps: StepsOpt = None,
    seed: SeedOpt = None,
    model: ModelOpt = None,
    thinking: ThinkingOpt = False,
    lm_fill: LmFillOpt = False,
    lm_rewrite_caption: LmCaptionOpt = False,
    guidance_variant: GuidanceVariantOpt = None,
    guidance_params: GuidanceParamsOpt = None,
    audio_format: FormatOpt = None,
    batch: BatchOpt = None,
    out: OutOpt = Path("."),
    name: NameOpt = None,
    extra: ExtraOpt = None,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
    poll_interval_s: PollOpt = None,
    timeout_s: TimeoutOpt = 1800.0,
    wait_for_server: WaitServerOpt = None,
) -> None:
    """Regenerate --start..--end seconds of SRC and keep the rest."""
    with cli_errors(json_output=as_json):
        fields = _common_fields(prompt=prompt, lyrics=lyrics, lyrics_file=lyrics_file, bpm=bpm, key=key,
                                time_signature=time_signature, steps=steps, seed=seed, model=model,
                                thinking=thinking, audio_format=audio_format, batch=batch, extra=extra,
                                lm_fill=lm_fill, lm_rewrite_caption=lm_rewrite_caption,
                                guidance_variant=guidance_variant, guidance_params=guidance_params)
    fields.update(repainting_start=start, repainting_end=end)
    if repaint_mode is not None:
        fields["repaint_mode"] = repaint_mode
    if repaint_strength is not None:
        fields["repaint_strength"] = repaint_strength
    _run_task(TaskType.repaint, fields, src=src, out=out, name=name, server=server, api_key=api_key,
              as_json=as_json, poll_interval_s=poll_interval_s, timeout_s=timeout_s,
              wait_for_server_s=wait_for_server)


def cover(
    src: SourceArg,
    strength: Annotated[Optional[float], typer.Option(
        "--strength", help="How much of SRC to keep, 0.0-1.0 (server default 1.0; ~0.2-0.3 for style transfer).")] = None,
    reference: Annotated[Optional[Path], typer.Option(
        "--reference", help="Style/timbre reference audio to upload as well.")] = None,
    prompt: PromptOpt = "",
    lyrics: LyricsOpt = "",
    lyrics_file: LyricsFileOpt = None,
    bpm: BpmOpt = None,
    key: KeyOpt = None,
    time_signature: MeterOpt = None,
    steps: StepsOpt = None,
    seed: SeedOpt = None,
    model: ModelOpt = None,
    thinking: ThinkingOpt = False,
    lm_fill: LmFillOpt = False,
    lm_rewrite_caption: LmCaptionOpt = False,
    guidance_variant: GuidanceVariantOpt = None,
    guidance_params: GuidanceParamsOpt = None,
    audio_format: FormatOpt = None,
    batch: BatchOpt = None,
    out: OutOpt = Path("."),
    name: NameOpt = None,
    extra: ExtraOpt = None,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
    poll_interval_s: PollOpt = None,
    timeout_s: TimeoutOpt = 1800.0,
    wait_for_server: WaitServerOpt = None,
) -> None:
    """Re-render SRC in the style of --prompt (and --reference)."""
    with cli_errors(json_output=as_json):
        fields = _common_fields(prompt=prompt, lyrics=lyrics, lyrics_file=lyrics_file, bpm=bpm, key=key,
                                time_signature=time_signature, steps=steps, seed=seed, model=model,
                                thinking=thinking, audio_format=audio_format, batch=batch, extra=extra,
                                lm_fill=lm_fill, lm_rewrite_caption=lm_rewrite_caption,
                                guidance_variant=guidance_variant, guidance_params=guidance_params)
    if strength is not None:
        fields["audio_cover_strength"] = strength
    _run_task(TaskType.cover, fields, src=src, reference=reference, out=out, name=name, server=server,
              api_key=api_key, as_json=as_json, poll_interval_s=poll_interval_s, timeout_s=timeout_s,
              wait_for_server_s=wait_for_server)


def lego(
    src: SourceArg,
    track: Annotated[str, typer.Option("--track", help=f"The stem: {_TRACKS_HELP}.", show_default=False)],
    start: Annotated[Optional[float], typer.Option(
        "--start", help="Only from here, seconds (default: the whole clip).")] = None,
    end: Annotated[Optional[float], typer.Option("--end", help="Only up to here, seconds; -1 = to the end.")] = None,
    prompt: PromptOpt = "",
    lyrics: LyricsOpt = "",
    lyrics_file: LyricsFileOpt = None,
    bpm: BpmOpt = None,
    key: KeyOpt = None,
    time_signature: MeterOpt = None,
    steps: StepsOpt = None,
    seed: SeedOpt = None,
    model: ModelOpt = None,
    thinking: ThinkingOpt = False,
    lm_fill: LmFillOpt = False,
    lm_rewrite_caption: LmCaptionOpt = False,
    guidance_variant: GuidanceVariantOpt = None,
    guidance_params: GuidanceParamsOpt = None,
    audio_format: FormatOpt = None,
    batch: BatchOpt = None,
    out: OutOpt = Path("."),
    name: NameOpt = None,
    extra: ExtraOpt = None,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
    poll_interval_s: PollOpt = None,
    timeout_s: TimeoutOpt = 1800.0,
    wait_for_server: WaitServerOpt = None,
) -> None:
    """Add one stem (--track) that fits SRC, optionally only in --start..--end. Upstream says this needs a
    base (non-turbo) model: see `acekit models`."""
    with cli_errors(json_output=as_json):
        fields = _common_fields(prompt=prompt, lyrics=lyrics, lyrics_file=lyrics_file, bpm=bpm, key=key,
                                time_signature=time_signature, steps=steps, seed=seed, model=model,
                                thinking=thinking, audio_format=audio_format, batch=batch, extra=extra,
                                lm_fill=lm_fill, lm_rewrite_caption=lm_rewrite_caption,
                                guidance_variant=guidance_variant, guidance_params=guidance_params)
    fields.update(track=track, repainting_start=start, repainting_end=end)
    _run_task(TaskType.lego, fields, src=src, out=out, name=name, server=server, api_key=api_key, as_json=as_json,
              poll_interval_s=poll_interval_s, timeout_s=timeout_s,
              wait_for_server_s=wait_for_server)


def extract(
    src: SourceArg,
    track: Annotated[str, typer.Option("--track", help=f"The stem: {_TRACKS_HELP}.", show_default=False)],
    prompt: PromptOpt = "",
    lyrics: LyricsOpt = "",
    lyrics_file: LyricsFileOpt = None,
    bpm: BpmOpt = None,
    key: KeyOpt = None,
    time_signature: MeterOpt = None,
    steps: StepsOpt = None,
    seed: SeedOpt = None,
    model: ModelOpt = None,
    thinking: ThinkingOpt = False,
    lm_fill: LmFillOpt = False,
    lm_rewrite_caption: LmCaptionOpt = False,
    guidance_variant: GuidanceVariantOpt = None,
    guidance_params: GuidanceParamsOpt = None,
    audio_format: FormatOpt = None,
    batch: BatchOpt = None,
    out: OutOpt = Path("."),
    name: NameOpt = None,
    extra: ExtraOpt = None,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
    poll_interval_s: PollOpt = None,
    timeout_s: TimeoutOpt = 1800.0,
    wait_for_server: WaitServerOpt = None,
) -> None:
    """Extract one stem (--track) from SRC. Upstream says this needs a base (non-turbo) model: see `acekit models`."""
    with cli_errors(json_output=as_json):
        fields = _common_fields(prompt=prompt, lyrics=lyrics, lyrics_file=lyrics_file, bpm=bpm, key=key,
                                time_signature=time_signature, steps=steps, seed=seed, model=model,
                                thinking=thinking, audio_format=audio_format, batch=batch, extra=extra,
                                lm_fill=lm_fill, lm_rewrite_caption=lm_rewrite_caption,
                                guidance_variant=guidance_variant, guidance_params=guidance_params)
    fields["track"] = track  # the request model builds the instruction (contract.instruction_for)
    _run_task(TaskType.extract, fields, src=src, out=out, name=name, server=server, api_key=api_key, as_json=as_json,
              poll_interval_s=poll_interval_s, timeout_s=timeout_s,
              wait_for_server_s=wait_for_server)


def complete(
    src: SourceArg,
    track: Annotated[Optional[list[str]], typer.Option(
        "--track", help=f"A stem to add; repeat (or comma-separate) for several ({_TRACKS_HELP}).",
        show_default=False)] = None,
    duration: Annotated[Optional[float], typer.Option(
        "--duration", help="Sent as audio_duration (default: SRC's length, measured). It does NOT change the output's "
                           "length: upstream (53067ab) renders complete over SRC and returns audio as long as SRC; "
                           "the value only reaches the 5 Hz LM (with --thinking the LM's codes, written for this "
                           "length, replace SRC: upstream issue 1286).")] = None,
    prompt: PromptOpt = "",
    lyrics: LyricsOpt = "",
    lyrics_file: LyricsFileOpt = None,
    bpm: BpmOpt = None,
    key: KeyOpt = None,
    time_signature: MeterOpt = None,
    steps: StepsOpt = None,
    seed: SeedOpt = None,
    model: ModelOpt = None,
    thinking: ThinkingOpt = False,
    lm_fill: LmFillOpt = False,
    lm_rewrite_caption: LmCaptionOpt = False,
    guidance_variant: GuidanceVariantOpt = None,
    guidance_params: GuidanceParamsOpt = None,
    audio_format: FormatOpt = None,
    batch: BatchOpt = None,
    out: OutOpt = Path("."),
    name: NameOpt = None,
    extra: ExtraOpt = None,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
    as_json: JsonOpt = False,
    poll_interval_s: PollOpt = None,
    timeout_s: TimeoutOpt = 1800.0,
    wait_for_server: WaitServerOpt = None,
) -> None:
    """Add accompaniment stems (--track, repeatable) to SRC, e.g. a vocal -> full song. The result is as long as
    SRC (upstream ignores --duration for the length); to extend a clip, repaint past its end. Upstream says this
    needs a base model."""
    if not track:
        fail(f"complete needs at least one --track, e.g. --track drums --track bass (stems: {_TRACKS_HELP})",
             ExitCode.usage, json_output=as_json)
    with cli_errors(json_output=as_json):
        fields = _common_fields(prompt=prompt, lyrics=lyrics, lyrics_file=lyrics_file, bpm=bpm, key=key,
                                time_signature=time_signature, steps=steps, seed=seed, model=model,
                                thinking=thinking, audio_format=audio_format, batch=batch, extra=extra,
                                lm_fill=lm_fill, lm_rewrite_caption=lm_rewrite_caption,
                                guidance_variant=guidance_variant, guidance_params=guidance_params)
    # "--track drums,bass" reads like the curl kit's TRACKS argument: accept it too.
    fields["tracks"] = [t for item in track for t in item.split(",") if t.strip()]
    if duration is not None:
        fields["duration_s"] = duration
    _run_task(TaskType.complete, fields, src=src, out=out, name=name, server=server, api_key=api_key,
              as_json=as_json, poll_interval_s=poll_interval_s, timeout_s=timeout_s,
              wait_for_server_s=wait_for_server)
