"""Analysis speed: seconds of audio analysed per CPU second (× real time per core), per analyser.

Renders a few calibration songs (MIDI -> fluidsynth, styles and tempi of the calibration set)
and a repaint pair, then times each analyser on each clip, ``--repeat`` times (the best run
counts, so one-off costs — essentia's import, the first call's setup — are reported apart).
CPU time is the process's (all threads), so "× real time per core" = audio seconds / CPU
seconds; wall time is printed alongside.

Usage::

    .venv/bin/python -m benchmarks.analysis_speed
    .venv/bin/python -m benchmarks.analysis_speed --clips 6 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_CLIPS = ("pop_120", "rock_guitar", "waltz_strings", "dnb_170")


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def render(names: list[str], out: Path) -> dict[str, Path]:
    """Render the named calibration songs to WAV with fluidsynth (plus the 'regenerated' take)."""
    from acekit.calibration.build import _check_tools, render_midi
    from acekit.calibration.songs import REGENERATED, SONGS, compose

    exe = _check_tools()
    by = {s.name: s for s in (*SONGS, REGENERATED)}
    paths = {}
    for name in [*names, REGENERATED.name]:
        p = out / f"{name}.wav"
        render_midi(compose(by[name]).midi, p, fluidsynth=exe)
        paths[name] = p
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.analysis_speed", description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=len(DEFAULT_CLIPS), help="how many songs (up to 13)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per analyser and clip; the fastest counts")
    parser.add_argument("--blas-threads", action="store_true",
                        help="leave numpy/scipy's thread pools as they are (acekit's analysis processes use one thread)")
    args = parser.parse_args(argv)

    from acekit.analysis import (
        analyze_beat_grid,
        analyze_boundaries,
        analyze_clip,
        analyze_health,
        analyze_key,
        analyze_preservation,
        analyze_tempo,
        load_audio,
        track_beats,
    )
    from acekit.analysis.audio import essentia_standard, one_math_thread
    from acekit.calibration.songs import SONGS

    if not args.blas_threads:
        one_math_thread()  # as the matrix's analysis workers and `acekit analyze` run

    specs = {s.name: s for s in SONGS}
    names = list(DEFAULT_CLIPS) + [s.name for s in SONGS if s.name not in DEFAULT_CLIPS]
    names = names[: max(1, min(args.clips, len(names)))]
    _, imp_cpu, imp_wall = _timed(essentia_standard)
    print(f"cores: {os.cpu_count()}; essentia import {imp_wall:.2f} s wall (one-off); numpy/scipy thread pools: "
          f"{'as they are' if args.blas_threads else 'one thread, as acekit analysis processes run'}")
    with tempfile.TemporaryDirectory(prefix="acekit-bench-") as td:
        paths, _, render_wall = _timed(lambda: render(names, Path(td)))
        print(f"rendered {len(paths)} clips with fluidsynth in {render_wall:.1f} s wall")
        cpu: dict[str, float] = {}
        wall: dict[str, float] = {}
        audio_s = 0.0
        first_call: dict[str, float] = {}
        source, _ = load_audio(paths["pop_120_regenerated"])
        for name in names:
            y, sr = load_audio(paths[name])
            dur = y.size / sr
            audio_s += dur
            n = min(y.size, source.size)
            region = (dur * 0.4, dur * 0.6)
            bt = track_beats(y, sr)
            steps: dict[str, Callable[[], Any]] = {
                "load (soundfile+soxr)": lambda: load_audio(paths[name]),
                "beats+tempo (essentia RhythmExtractor2013)": lambda: analyze_tempo(y, sr, target_bpm=120),
                # at the song's own tempo: dnb_170 is tracked at half, so its onset periodicity is measured
                "tempo verdict at the song's tempo (given beats)": lambda: analyze_tempo(
                    y, sr, target_bpm=specs[name].bpm, time_signature=specs[name].time_signature, beat_track=bt),
                "beat grid (fit, given beats)": lambda: analyze_beat_grid(y, sr, bpm=120, beat_track=bt),
                "key (acekit analyze_key: learned model + key network; KK+T profiles + EDMA 2nd opinion)": lambda: analyze_key(
                    y, sr, target_key="C major"),
                "boundaries (click + 2 s steps)": lambda: analyze_boundaries(y, sr, boundaries_s=list(region)),
                "boundaries against the source (align + click/dropout/steps)": lambda: analyze_boundaries(
                    y[:n], sr, boundaries_s=list(region), source=source[:n]),
                "preservation (align + log-mel)": lambda: analyze_preservation(y[:n], sr, source[:n], region_s=region),
                "health (pyloudnorm, true peak)": lambda: analyze_health(y, sr),
                "analyze_clip (all of it, from file)": lambda: analyze_clip(
                    paths[name], bpm=120, key="C major", source=paths["pop_120_regenerated"], region_s=region),
            }
            for label, fn in steps.items():
                best_c, best_w = np.inf, np.inf
                for i in range(max(1, args.repeat)):
                    _, c, w = _timed(fn)
                    if i == 0 and label not in first_call:
                        first_call[label] = w
                    best_c, best_w = min(best_c, c), min(best_w, w)
                cpu[label] = cpu.get(label, 0.0) + best_c
                wall[label] = wall.get(label, 0.0) + best_w
    print(f"{audio_s:.1f} s of audio in {len(names)} clips ({', '.join(names)})")
    print(f"{'analyser':45s} {'CPU s':>7s} {'wall s':>7s} {'x real time/core':>17s} {'x real time (wall)':>19s}")
    for label in cpu:
        c, w = cpu[label], wall[label]
        print(f"{label:45s} {c:7.2f} {w:7.2f} {audio_s / max(c, 1e-9):17.1f} {audio_s / max(w, 1e-9):19.1f}")
    slow_first = {k: v for k, v in first_call.items() if v > 2 * wall[k] / len(names) + 0.2}
    if slow_first:
        print("first-call overheads: " + ", ".join(f"{k} {v:.2f} s" for k, v in slow_first.items()))


if __name__ == "__main__":
    main()
