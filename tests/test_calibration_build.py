"""The calibration renderer: valid MIDI with the truth it claims, reproducible, runnable as a command."""

from __future__ import annotations

import subprocess
import sys

import mido
import numpy as np
import pytest

from acekit.calibration import build
from acekit.calibration.songs import HOLDOUT_SONGS, SONGS, TEMPO_RAMP_123, compose


@pytest.mark.parametrize("spec", [*SONGS, *HOLDOUT_SONGS, TEMPO_RAMP_123], ids=lambda s: s.name)
def test_midi_is_valid_and_beats_match_its_tempo_map(spec, tmp_path) -> None:
    comp = compose(spec)
    path = tmp_path / "x.mid"
    path.write_bytes(comp.midi)
    mid = mido.MidiFile(str(path))  # parses: the hand-written SMF writer is valid
    assert mid.ticks_per_beat == 480
    # mido integrates the same tempo events fluidsynth plays: the last note ends in the last bar
    assert comp.end_s - 60 / spec.bpm * spec.bar_ticks / 480 < mid.length <= comp.end_s + 1e-6
    # beat times (the felt pulse: dotted quarters in 6/8, 9/8, 12/8) from mido's tempo map equal the truth
    tempo_events = [(abs_t, msg.tempo) for abs_t, msg in _abs(mid.tracks[0]) if msg.type == "set_tempo"]
    for i in (0, len(comp.beats_s) // 2, len(comp.beats_s) - 1):
        assert _tick_to_s(i * spec.pulse_ticks, tempo_events) == pytest.approx(comp.beats_s[i], abs=1e-6)
    assert len(comp.beats_s) == spec.bars * spec.beats_per_bar
    if spec.compound:
        assert spec.pulse_bpm == pytest.approx(spec.bpm * 2 / 3)
    meter = next(m for _, m in _abs(mid.tracks[0]) if m.type == "time_signature")
    assert (meter.numerator, meter.denominator) == spec.meter
    assert compose(spec).midi == comp.midi  # reproducible across calls (no salted hash())


def _abs(track):
    t = 0
    for msg in track:
        t += msg.time
        yield t, msg


def _tick_to_s(tick: int, tempos: list[tuple[int, int]]) -> float:
    s, last_tick, us = 0.0, 0, 500000
    for t, tempo in tempos:
        if t >= tick:
            break
        s += (t - last_tick) * us / 480 / 1e6
        last_tick, us = t, tempo
    return s + (tick - last_tick) * us / 480 / 1e6


def test_ramp_truth_speeds_up() -> None:
    beats = np.asarray(compose(TEMPO_RAMP_123).beats_s)
    ibi = np.diff(beats)
    assert ibi[0] == pytest.approx(0.5, abs=1e-3) and ibi[-1] == pytest.approx(60 / 123, abs=2e-3)
    assert np.all(np.diff(ibi) <= 1e-9)


def test_audible_cut_picks_a_real_discontinuity() -> None:
    sr = 1000
    t = np.arange(sr * 2) / sr
    y = np.sin(2 * np.pi * 3 * t)[:, None]
    cut = build.audible_cut(y, sr, cut_s=0.5, jump_s=0.1, search_s=0.05)
    c = int(round(cut * sr))
    step = abs(y[c + 100, 0] - y[c - 1, 0])
    others = [abs(y[i + 100, 0] - y[i - 1, 0]) for i in range(450, 551)]
    assert step == pytest.approx(max(others)) and 0.45 <= cut <= 0.55


def test_content_hash_is_stable() -> None:
    assert build.content_hash() == build.content_hash()


def test_build_command_renders_and_reuses(tmp_path_factory) -> None:
    # same parent as the session fixture of test_analysis_calibration: whichever runs first renders
    # (fluidsynth, ~10 s on 2 cores), the other finds the content-hashed set and reuses it
    out = tmp_path_factory.getbasetemp() / "calibration"
    proc = subprocess.run([sys.executable, "-m", "acekit.calibration", str(out), "--workers", "2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "clips (" in proc.stdout and "song" in proc.stdout
    manifests = list(out.glob("*/manifest.json"))
    assert len(manifests) == 1
    cal = build.build_calibration_set(out)  # second call: cached, no render
    assert cal.root == manifests[0].parent and len(list(cal.root.glob("*.wav"))) == len(cal.clips)
    assert not list(out.glob(".*"))  # no half-built temp folders left behind
