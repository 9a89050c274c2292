"""``acekit analyze``, ``acekit calibrate`` and ``acekit scorecard``: thin layers over
`acekit.analysis.analyze_clip`, `acekit.calibration.build_calibration_set` and
`acekit.calibration.scorecard`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from acekit.cli.output import ExitCode, cli_errors, fail, print_json, stdout

#: `acekit analyze` measures; a failed check is a finding, not an error, so it still exits 0.
ANALYZE_EXIT_CODES = (
    "Exit codes: 0 measured (also when a check fails: read the result column or 'passed' in --json); "
    "2 usage error (missing or unreadable file, bad key, bpm or time signature, region outside the clip)."
)

SCORECARD_EXIT_CODES = (
    "Exit codes: 0 judged (also when a target is missed, unless --strict); 1 with --strict, a target missed in "
    "any group; 2 usage error (bad truth file, unreadable audio: every clip that could not be judged is listed); "
    "130 interrupted (with --out, rerun to resume)."
)


def register(app: typer.Typer) -> None:
    app.command("analyze", epilog=ANALYZE_EXIT_CODES)(analyze)
    app.command("calibrate")(calibrate)
    app.command("scorecard", epilog=SCORECARD_EXIT_CODES)(scorecard)


def parse_region(text: str) -> tuple[float, float]:
    """``"8:16"`` or ``"8.5-16"`` -> (8.0, 16.0); ValueError saying the accepted form otherwise."""
    for sep in (":", "-", ","):
        if sep in text.strip().lstrip("-"):
            a, _, b = text.strip().partition(sep)
            try:
                start, end = float(a), float(b)
            except ValueError:
                break
            if not end > start >= 0:
                raise ValueError(f"--region {text!r}: need START:END seconds with END > START >= 0, e.g. 8:16")
            return start, end
    raise ValueError(f"cannot read --region {text!r}: write START:END in seconds, e.g. 8:16")


def analyze(
    clips: list[Path] = typer.Argument(..., help="Audio file(s) to judge (WAV/FLAC/OGG/MP3); many in one call "
                                                 "share one start-up."),
    bpm: Optional[float] = typer.Option(None, "--bpm", help="Requested tempo (quarter notes per minute)."),
    key: Optional[str] = typer.Option(None, "--key", help='Requested key: "A minor", "Am", "F#m", "Gb major" ...'),
    time_signature: Optional[str] = typer.Option(
        None, "--time-signature",
        help="Meter of the request: 4, 3, 6 (6/8), 2 (2/4) or 4/4, 3/4, 2/2, 6/8, 9/8, 12/8. The tempo check "
             "expects the dotted quarter (2/3 of --bpm) in 6/8, 9/8, 12/8 and the half or quarter in 2/2."),
    duration: Optional[float] = typer.Option(None, "--duration", help="Requested duration in seconds."),
    source: Optional[Path] = typer.Option(None, "--source", help="Repaint source: compare outside --region with it."),
    region: Optional[str] = typer.Option(None, "--region", help="Repainted region START:END in seconds, e.g. 8:16."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object per clip (a list for several) "
                                                        "instead of tables."),
) -> None:
    """Measure tempo, beat grid, key, repaint boundaries/preservation and health of one or more clips.

    The options apply to every clip. With several clips, one that cannot be read is reported and
    the others are still measured (exit 2 at the end).
    """
    from acekit.analysis import analyze_clip
    from acekit.analysis.audio import one_math_thread

    one_math_thread()  # one clip at a time: extra BLAS threads only spin
    if source is not None and region is None:
        fail("--source needs --region START:END (the repainted seconds) to know what to compare", ExitCode.usage)
    with cli_errors():
        region_s = parse_region(region) if region is not None else None
        if bpm is not None and not bpm > 0:
            raise ValueError(f"--bpm must be positive, got {bpm:g}")
        from acekit.analysis.clip import beats_per_bar_of
        from acekit.keys import parse_key

        if key is not None:
            parse_key(key)  # a bad request is one usage error, not one per clip
        beats_per_bar_of(time_signature)

    def one(clip: Path):  # noqa: ANN202 - ClipAnalysis, imported lazily
        return analyze_clip(clip, bpm=bpm, key=key, time_signature=time_signature, duration_s=duration,
                            source=source, region_s=region_s)

    if len(clips) == 1:
        with cli_errors():
            result = one(clips[0])
        if json_out:
            print_json(result)
        else:
            for table in tables(result):
                stdout.print(table)
        return
    results: list = []
    failed = 0
    for clip in clips:
        try:
            result = one(clip)
        except ValueError as exc:  # unreadable file, bad request values: report it, measure the rest
            failed += 1
            typer.echo(f"error: {clip}: {exc}", err=True)
            results.append({"path": str(clip), "error": str(exc)})
            continue
        if json_out:
            results.append(result.model_dump(mode="json"))
        else:
            for table in tables(result):
                stdout.print(table)
    if json_out:
        print_json(results)
    if failed:
        raise typer.Exit(ExitCode.usage)


def _f(v: float | None, fmt: str = "{:.2f}", unit: str = "") -> str:
    return "–" if v is None else fmt.format(v) + unit


def _at(t: float | None) -> str:
    return "" if t is None else f" at {t:.1f} s"


def _ok(passed: dict[str, bool], name: str, unreliable: list[str] | None = None) -> str:
    if unreliable and name in unreliable:
        return "[yellow]unreliable[/yellow]"
    if name not in passed:
        return ""
    return "[green]pass[/green]" if passed[name] else "[red]FAIL[/red]"


def tables(res) -> list[Table]:  # noqa: ANN001 - ClipAnalysis, imported lazily (essentia is slow to load)
    """Rich tables for a `ClipAnalysis`: one summary row per check, then boundary and region details."""
    p = res.passed
    t = Table(title=f"{res.path or 'clip'}  ({res.duration_s:.2f} s)", title_justify="left")
    t.add_column("check", style="bold", overflow="fold")
    t.add_column("figures", overflow="fold")
    t.add_column("result")
    u = res.unreliable
    tm = res.tempo
    if tm is not None:
        want = ""
        if tm.target_bpm is not None:
            pulse = tm.pulse.replace("_", " ") if tm.pulse else "quarter"
            want = f" (asked {tm.target_bpm:g} quarter-note BPM in {tm.time_signature}: expect the {pulse} at " \
                   f"{_f(tm.pulse_bpm, '{:g}')}, {_f(tm.error_pct, '{:+.1f}', ' %')}"
            want += "" if tm.relation is None else f", {tm.relation})"
        why = f"; {tm.reason}" if tm.reason and tm.relation not in (None, "match") else ""
        t.add_row("tempo", f"{tm.bpm:.1f} BPM{want}, confidence {tm.confidence:.2f}{why}", _ok(p, "tempo", u))
    g = res.beat_grid
    if g is not None:
        t.add_row(
            "beat grid",
            f"phase {g.phase_s:.3f} s, median |offset| {_f(g.median_abs_offset_ms, '{:.1f}', ' ms')}, "
            f"{_f(None if g.share_within_tol is None else 100 * g.share_within_tol, '{:.0f}', ' %')} within "
            f"±{g.tolerance_ms:g} ms, drift {_f(g.drift_ms_per_bar, '{:+.1f}', ' ms/bar')} "
            f"({_f(g.drift_pct, '{:+.2f}', ' %')}, implies {_f(g.implied_bpm, '{:.1f}')} BPM)",
            _ok(p, "beat_grid"),
        )
    k = res.key
    kt = f"{k.key or 'none (silent)'}, strength {k.strength:.2f}"
    if k.ambiguous:
        kt += f" (ambiguous: {k.ambiguity})"
    if k.target_key:
        kt += f"; asked {k.target_key}: MIREX {k.mirex_score:.1f} ({k.relation})"
    t.add_row("key", kt, _ok(p, "key", u))
    pr = res.preservation
    if pr is not None:
        t.add_row(
            "preservation",
            f"outside region: log-mel distance {_f(pr.outside.mel_distance_db, '{:.2f}', ' dB')} "
            f"(worst 1 s {_f(pr.outside.worst_mel_distance_db, '{:.2f}', ' dB')}"
            f"{_at(pr.outside.worst_mel_window_s)}), "
            f"SNR {_f(pr.outside.snr_db, '{:.1f}', ' dB')} (worst 1 s {_f(pr.outside.worst_snr_db, '{:.1f}', ' dB')}"
            f"{_at(pr.outside.worst_snr_window_s)}); "
            f"inside: {_f(pr.inside.mel_distance_db, '{:.2f}', ' dB')}; lag {1000 * pr.lag_s:.1f} ms",
            _ok(p, "preservation"),
        )
    b = res.boundaries
    if b is not None and b.source_compared:
        why = sorted({r for c in b.boundaries for r in c.reasons})
        t.add_row("boundaries", f"{b.flagged} of {len(b.boundaries)} flagged against the source"
                  f"{' (' + ', '.join(why) + ')' if why else ''}, max artifact score "
                  f"{_f(b.max_artifact_score, '{:.2f}')} (flagged above 1)", _ok(p, "boundaries"))
    elif b is not None:
        t.add_row("boundaries", f"{b.flagged} of {len(b.boundaries)} flagged (no source: z-scores within the clip), "
                  f"max click z {_f(b.max_click_z, '{:.1f}')}, max step z {_f(b.max_step_z, '{:.1f}')}",
                  _ok(p, "boundaries"))
    h = res.health
    dur = f"{h.duration_s:.2f} s"
    if h.expected_duration_s is not None:
        dur += f" (asked {h.expected_duration_s:g} s)"
    t.add_row(
        "health",
        f"{_f(h.integrated_lufs, '{:.1f}', ' LUFS') if not h.silent else 'silent'}, true peak "
        f"{_f(h.true_peak_dbfs, '{:.1f}', ' dBTP')}, clipped {100 * h.clipping_share:.3f} %, "
        f"silence {100 * h.silence_share:.1f} %, DC {h.dc_offset:+.3f}, {dur}"
        + (f", {h.nonfinite_samples} NaN/inf samples" if h.has_nonfinite else "")
        + (f", ANTIPHASE stereo (L/R correlation {h.stereo_correlation:+.2f}): analysed the {res.analysed_channel} "
           "channel" if h.antiphase else ""),
        _ok(p, "health"),
    )
    out = [t]
    if b is not None and b.boundaries and b.source_compared:
        bt = Table(title="repaint boundaries (the output's change at each edge beyond the source's)",
                   title_justify="left")
        for col in ("time s", "click excess", "dropout dB", "level step dB", "timbre step dB", "score", "flagged"):
            bt.add_column(col, justify="right", overflow="fold")
        for c in b.boundaries:
            bt.add_row(f"{c.time_s:.2f}", _f(c.click_excess, "{:.2f}"), _f(c.dropout_db, "{:.1f}"),
                       _f(c.level_step_db, "{:.1f}"), _f(c.timbre_step_db, "{:.1f}"), _f(c.artifact_score, "{:.2f}"),
                       f"[red]yes: {', '.join(c.reasons)}[/red]" if c.flagged else "no")
        out.append(bt)
    elif b is not None and b.boundaries:
        bt = Table(title="repaint boundaries (z-scores against the rest of the clip)", title_justify="left")
        for col in ("time s", "click z", "level step dB", "level z", "timbre step dB", "timbre z", "flagged"):
            bt.add_column(col, justify="right", overflow="fold")
        for c in b.boundaries:
            bt.add_row(f"{c.time_s:.2f}", _f(c.click_z, "{:.1f}"), _f(c.level_step_db, "{:.1f}"), _f(c.level_z, "{:.1f}"),
                       _f(c.timbre_step_db, "{:.1f}"), _f(c.timbre_z, "{:.1f}"),
                       "[red]yes[/red]" if c.flagged else "no")
        out.append(bt)
    return out


def calibrate(
    out_dir: Optional[Path] = typer.Argument(None, help="Parent folder for the set (default: the user cache)."),
    workers: int = typer.Option(4, "--workers", min=1, max=32, help="Parallel fluidsynth renders."),
    json_out: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
) -> None:
    """Render the calibration set (MIDI -> fluidsynth -> WAV, plus splice/crossfade/level edits) with its truth.

    Thresholds are tuned on the ``calibrate`` split (FluidR3) only; the ``holdout`` split (other
    songs, other soundfonts) tests them; ``holdout2`` (new songs, two more soundfonts) and ``holdout3``
    (new songs, MuseScore General HQ, detuned/wet/rebalanced renders), ``holdout4`` to
    ``holdout17`` (real composed music from music21's corpus, needs ``acekit[calibration]``) are kept blind for
    estimators designed after the earlier splits were looked at. ``recordings`` (real produced music
    from Debian game-data packages, fetched with ``apt-get download``) tests the repaint-boundary,
    preservation and health verdicts."""
    from acekit.calibration.build import RenderError, build_calibration_set

    try:
        cal = build_calibration_set(out_dir, workers=workers)
    except RenderError as exc:
        fail(str(exc), ExitCode.usage)
    if json_out:
        print_json(cal)
        return
    t = Table(title=f"calibration set {cal.content_hash}: {cal.root}", title_justify="left")
    for col in ("clip", "kind", "split", "soundfont", "style", "bpm", "meter", "key", "truth"):
        t.add_column(col, overflow="fold")
    for c in cal.clips:
        tr = c.truth
        note = tr.edit or tr.health_problem or ("ramp to %g" % tr.bpm_end if tr.bpm_end else "")
        if tr.preserved is not None:
            note = f"region {tr.region_s[0]:g}-{tr.region_s[1]:g} s {'preserved' if tr.preserved else 'regenerated'}"
            if c.kind == "repaint":
                edges = "edges are artifacts" if any(tr.boundary_should_flag) else "clean edges"
                note = f"{tr.edit}: {edges}, outside {'preserved' if tr.preserved else 'changed'}"
        if tr.bpm_true and tr.bpm_requested and tr.bpm_true != tr.bpm_requested:
            note = f"rendered {tr.bpm_true:g} BPM"
        if c.render:  # holdout3's render conditions: detuned, wet, bass/drums up
            note = "; ".join(filter(None, (note, *c.render)))
        if c.score:  # holdout4/5: the corpus score it was arranged from
            note = "; ".join(filter(None, (f"score {c.score}", note)))
        if c.recording:  # recordings: the released track the excerpt was cut from
            where = f"{c.recording.package}: {c.recording.file.rsplit('/', 1)[-1]} at {c.recording.start_s:g} s"
            note = "; ".join(filter(None, (where, note)))
        t.add_row(c.id, c.kind, c.split, c.soundfont or "", c.style,
                  "" if tr.bpm_requested is None else f"{tr.bpm_requested:g}",
                  tr.time_signature or "", tr.key or "", note)
    stdout.print(t)


def scorecard(
    truth: Optional[Path] = typer.Argument(
        None, help="CSV of labelled clips (columns: file, id, split, bpm, time_signature, key, duration_s, health, "
                   "source, region, preserved, artifact_start, artifact_end; see docs/analysis.md)."),
    split: list[str] = typer.Option(
        [], "--split", help="Judge these splits of acekit's calibration set instead of a CSV (repeatable), e.g. "
                            "--split holdout17; the set is rendered first if it is not cached."),
    set_dir: Optional[Path] = typer.Option(None, "--set-dir", help="Parent folder of the calibration set "
                                                                  "(default: the user cache)."),
    workers: int = typer.Option(1, "--workers", min=1, max=32, help="Clips judged in parallel (processes)."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when any of issue 11's targets is missed."),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Also write the scorecard JSON here (atomically). Each clip's result is kept in "
                                  "OUT.clips.jsonl as it lands: a rerun (after an interruption, or with clips added "
                                  "to the CSV) judges only clips whose labels, files or analysers changed."),
    json_out: bool = typer.Option(False, "--json", help="Print the scorecard (figures and every clip) as JSON."),
) -> None:
    """Judge the analysers on labelled music: each verdict against its label, beside issue 11's targets.

    Give your own labelled clips as a CSV (music acekit has never seen: the fair test of a verdict),
    or --split to re-measure acekit's calibration splits. A clip that cannot be read is listed with
    its reason; the others are still judged.
    """
    from acekit.calibration.scorecard import TruthFileError, from_calibration, read_truth_csv
    from acekit.calibration.scorecard import scorecard as judge_all

    if (truth is None) == (not split):
        fail("give either a truth CSV or --split NAME (a calibration split), not both or neither", ExitCode.usage,
             json_output=json_out)
    if truth is not None:
        try:
            clips = read_truth_csv(truth)
        except TruthFileError as exc:
            fail(str(exc), ExitCode.usage, json_output=json_out)
    else:
        from acekit.calibration.build import RenderError, build_calibration_set
        from acekit.calibration.manifest import SPLITS

        unknown = [s for s in split if s not in SPLITS]
        if unknown:
            fail(f"unknown split(s) {unknown}; the calibration splits are: {', '.join(SPLITS)}", ExitCode.usage,
                 json_output=json_out)
        try:
            cal = build_calibration_set(set_dir, workers=max(workers, 2))
        except RenderError as exc:
            fail(str(exc), ExitCode.usage, json_output=json_out)
        clips = from_calibration(cal, split)
        if not clips:
            fail(f"the split(s) {split} hold no labelled clips", ExitCode.usage, json_output=json_out)

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from acekit.cli.output import stderr

    with Progress(TextColumn("judging"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=stderr,
                  transient=True, disable=json_out or not stderr.is_terminal) as bar:
        task = bar.add_task("clips", total=len(clips))
        progress = None if out is None else out.with_name(out.name + ".clips.jsonl")
        try:
            card = judge_all(clips, workers=workers, on_clip=lambda _: bar.advance(task), progress=progress)
        except KeyboardInterrupt:
            where = f"; rerun the same command to resume from {progress}" if progress else " (--out keeps progress)"
            typer.echo(f"error: interrupted{where}", err=True)
            raise typer.Exit(130) from None  # the shell's code for Ctrl-C
    if out is not None:
        import os

        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(card.model_dump_json(indent=1), encoding="utf-8")
        os.replace(tmp, out)  # a reader never sees half a scorecard
        typer.echo(f"scorecard: {out}", err=True)
    if json_out:
        print_json(card)
    else:
        for group, figures in card.figures.items():
            n = sum(group in ("all", c.split) for c in card.clips)
            t = Table(title=f"scorecard: {group} ({n} clips)", title_justify="left")
            for col in ("figure", "value", "n", "target", "met", "note"):
                t.add_column(col, overflow="fold")
            for f in figures:
                met = "" if f.met is None else ("[green]yes[/green]" if f.met else "[red]no[/red]")
                t.add_row(f.name, _f(f.value, "{:.3f}"), str(f.n), _f(f.target, "{:g}", ""), met, f.note)
            stdout.print(t)
        wrong = [(c.id, c.key_truth, c.key_estimate, "flagged" if c.key_flagged else "UNFLAGGED")
                 for c in card.clips if c.key_mirex is not None and c.key_mirex < 1]
        if wrong:
            stdout.print("keys not exact (clip, label, read, flag): " + "; ".join(" ".join(map(str, w)) for w in wrong))
    for c in card.failed:  # stderr in both modes: --json's stdout stays one document
        typer.echo(f"error: {c.id} ({c.file}): {c.error}", err=True)
    if card.failed:
        raise typer.Exit(ExitCode.usage)
    missed = card.missed_targets()
    if strict and missed:
        typer.echo("targets missed: " + "; ".join(f"{g}: {f.name} {f.value:.3f} < {f.target:g}" for g, f in missed),
                   err=True)
        raise typer.Exit(1)
