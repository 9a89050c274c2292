"""The calibration renderer: valid MIDI with the truth it claims, reproducible, runnable as a command."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest

from acekit.calibration import build
from acekit.calibration import scores
from acekit.calibration.scores import (
    HOLDOUT4_PIECES,
    HOLDOUT5_PIECES,
    HOLDOUT6_PIECES,
    HOLDOUT7_PIECES,
    HOLDOUT8_PIECES,
    HOLDOUT9_PIECES,
    HOLDOUT10_PIECES,
    HOLDOUT11_PIECES,
    HOLDOUT12_PIECES,
    HOLDOUT13_PIECES,
    HOLDOUT14_PIECES,
    HOLDOUT15_PIECES,
    HOLDOUT16_PIECES,
    HOLDOUT17_PIECES,
    PieceSpec,
    ScoreError,
    derive,
)
from acekit.calibration.songs import HOLDOUT2_SONGS, HOLDOUT3_SONGS, HOLDOUT_SONGS, SONGS, TEMPO_RAMP_123, compose

#: sha256 of every song's MIDI as it was before the holdout2 generator options were added (66 songs)
#: and before the holdout3 options and render conditions (the 24 holdout2 songs)
_MIDI_SHA256 = Path(__file__).parent / "fixtures" / "calibration_midi_sha256.json"


@pytest.mark.parametrize("spec", [*SONGS, *HOLDOUT_SONGS, *HOLDOUT2_SONGS, *HOLDOUT3_SONGS, TEMPO_RAMP_123],
                         ids=lambda s: s.name)
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
    assert len(comp.beats_s) == spec.pickup_pulses + spec.bars * spec.beats_per_bar
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


def test_existing_songs_midi_is_byte_identical() -> None:
    """The generator options added for holdout2 and holdout3 default off: every song defined before
    them (all splits, tempo variants, repaint takes) composes to the same bytes, so the
    content-hashed renders and the figures measured on them are unchanged."""
    want = json.loads(_MIDI_SHA256.read_text())
    specs = {s.name: s for s in build._all_specs()}
    assert len(want) == 90 and set(want) <= set(specs) and set(want) >= {s.name for s in HOLDOUT2_SONGS}
    changed = [n for n, h in want.items() if hashlib.sha256(compose(specs[n]).midi).hexdigest() != h]
    assert not changed, f"MIDI changed for {changed}"


def test_earlier_songs_render_as_before() -> None:
    """The holdout3 render conditions default off: every song of the earlier splits (and every
    tempo variant and repaint take) renders with the same fluidsynth command line and soundfont
    as before, and its MIDI has no tuning, effect-send or volume controller."""
    later = {s.name for s in (*HOLDOUT3_SONGS, *scores.CORPUS_PIECES)}
    earlier = [s for s in build._all_specs() if s.name not in later]
    assert len(earlier) == 90
    for spec in earlier:
        assert (spec.tuning_cents, spec.effects, spec.mix) == (0.0, "none", "even"), spec.name
        assert build.render_args(spec) == build.FLUIDSYNTH_ARGS == ("-ni", "-g", "0.3", "-r", "44100"), spec.name
        assert build.render_conditions(spec) == [] and spec.soundfont != "musescore_hq", spec.name
        assert _controls(spec) == {}, spec.name


def _controls(spec) -> dict[tuple[int, str, int], int]:
    """(channel, message type, controller) -> value of the controller/pitch-bend events in the MIDI."""
    out = {}
    for track in mido.MidiFile(file=__import__("io").BytesIO(compose(spec).midi)).tracks:
        for msg in track:
            if msg.type == "control_change":
                out[(msg.channel, "cc", msg.control)] = msg.value
            elif msg.type == "pitchwheel":
                out[(msg.channel, "bend", 0)] = msg.pitch
    return out


def test_render_conditions_reach_the_midi_and_fluidsynth() -> None:
    by = {s.name: s for s in HOLDOUT3_SONGS}
    # detuning: pitch-bend range 2 semitones (RPN 0), then a bend of cents/200 of it on every pitched channel
    tuned = by["walking_jazz_flat"]
    ctl = _controls(tuned)
    for ch in (0, 1, 2):
        assert ctl[(ch, "cc", 101)] == 0 and ctl[(ch, "cc", 100)] == 0 and ctl[(ch, "cc", 6)] == 2
        assert ctl[(ch, "bend", 0)] == round(-25 / 200 * 8192)  # mido's pitch is signed (0 = none)
    assert (9, "bend", 0) not in ctl  # drums are not retuned
    # wet: full reverb and chorus sends, and a bigger room on fluidsynth's command line
    wet = by["skank_reggae_wet"]
    assert _controls(wet)[(0, "cc", 91)] == 127 and _controls(wet)[(9, "cc", 93)] == 50
    assert build.render_args(wet) == build.FLUIDSYNTH_ARGS + build.WET_ARGS
    # mix: the named part at full volume, the rest lower
    bass_up, drums_up = _controls(by["dnb_bass_up_178"]), _controls(by["train_beat_tuned"])
    assert bass_up[(1, "cc", 7)] == 127 and bass_up[(0, "cc", 7)] < 127 and bass_up[(9, "cc", 7)] < 127
    assert drums_up[(9, "cc", 7)] == 127 and drums_up[(1, "cc", 7)] < 127
    assert build.render_conditions(by["train_beat_tuned"]) == ["tuned +35 cents off A440", "drums up"]
    # a detuning of 50 cents or more would make the truth key wrong: refused
    from dataclasses import replace

    with pytest.raises(ValueError, match="under 50"):
        compose(replace(tuned, tuning_cents=50))


@pytest.mark.parametrize("spec", [*HOLDOUT2_SONGS, *HOLDOUT3_SONGS], ids=lambda s: s.name)
def test_holdout2_truth_is_consistent(spec, tmp_path) -> None:
    """Beats are the felt pulse at the song's tempo from time 0 (the pickup, if any); downbeats are
    every bar's first beat after the pickup; the last bar is a held tonic chord (holdout2 and holdout3)."""
    comp = compose(spec)
    beats, downs = np.asarray(comp.beats_s), np.asarray(comp.downbeats_s)
    period = 60 / spec.pulse_bpm
    assert beats[0] == 0 and np.allclose(np.diff(beats), period, atol=1e-5)
    assert np.allclose(downs, beats[spec.pickup_pulses::spec.beats_per_bar], atol=1e-9)
    assert len(downs) == spec.bars and comp.end_s == pytest.approx(beats[-1] + period, abs=1e-5)
    assert spec.beats_per_bar == {"4/4": 4, "3/4": 3, "2/2": 4, "6/8": 2, "9/8": 3, "12/8": 4}[spec.time_signature]
    if spec.compound:
        assert spec.pulse_bpm == pytest.approx(spec.bpm * 2 / 3)
    low = 10 if spec.split == "holdout3" else 8
    assert low <= comp.end_s + spec.lead_in_s + 0.5 <= 20  # short songs: modest render time on CI
    # ends on the tonic: the lowest note sounding in the last bar is the tonic, and the cadence
    # before it is V-I / V7-I / bVII-I / IV-i / iv-i (degrees or named chords of the progression)
    assert spec.ending == "hold"
    before = spec.progression[(spec.bars - 2) % len(spec.progression)]
    cadence = {4, "V", "V7"}  # V-I, V-i (the major V when dominant_major)
    if spec.parsed_key.mode == "major" and spec.major_scale == "mixolydian":
        cadence.add(6)  # bVII-I
    if spec.parsed_key.mode == "minor":
        cadence.add(3)  # iv-i, IV-i in dorian
        if not spec.dominant_major:
            cadence.add(6)  # bVII-i
    assert before in cadence, (spec.name, before)
    path = tmp_path / "x.mid"
    path.write_bytes(comp.midi)
    last_bar = spec.pickup_pulses * spec.pulse_ticks + (spec.bars - 1) * spec.bar_ticks
    ons = [msg.note for track in mido.MidiFile(str(path)).tracks for t, msg in _abs(track)
           if msg.type == "note_on" and msg.velocity > 0 and msg.channel != 9 and t >= last_bar]
    assert ons and min(ons) % 12 == spec.parsed_key.pitch_class
    assert {p % 12 for p in ons} <= {(spec.parsed_key.pitch_class + i) % 12
                                     for i in (0, 3 if spec.parsed_key.mode == "minor" else 4, 7)}


def test_holdout2_holds_the_hard_cases() -> None:
    """A blind test split unlike the earlier ones (docs/analysis.md): counts of the hard cases."""
    songs = HOLDOUT2_SONGS
    names = {s.name for s in songs}
    assert len(songs) >= 24 and len(names) == len(songs)
    assert not names & {s.name for s in (*SONGS, *HOLDOUT_SONGS)}
    assert {s.split for s in songs} == {"holdout2"}
    fonts = [s.soundfont for s in songs]
    assert set(fonts) == {"csound", "opl3"} and min(fonts.count("csound"), fonts.count("opl3")) >= 10
    assert not set(fonts) & {s.soundfont for s in (*SONGS, *HOLDOUT_SONGS)}  # soundfonts never used before
    meters = [s.time_signature for s in songs]
    assert all(meters.count(m) >= 2 for m in ("6/8", "9/8", "12/8", "2/2", "3/4")) and meters.count("4/4") >= 8
    keys = [s.parsed_key for s in songs]
    assert {k.pitch_class for k in keys} == set(range(12))  # every tonic
    assert all({k.mode for k in keys if k.pitch_class == pc} == {"major", "minor"} for pc in range(12))
    minor = [s for s in songs if s.parsed_key.mode == "minor"]
    assert abs(len(minor) - len(songs) / 2) <= 2
    colours = [s.minor_scale for s in minor]
    assert all(colours.count(c) >= 2 for c in ("natural", "harmonic", "dorian"))
    assert sum(s.major_scale == "mixolydian" for s in songs) >= 2
    assert any("#" in k.tonic for k in keys) and any("b" in k.tonic for k in keys)  # both spellings
    bpms = [s.bpm for s in songs]
    assert min(bpms) <= 55 and max(bpms) >= 190
    slow_drumless = [s for s in songs if s.drums is None and s.pulse_bpm <= 70]
    assert len(slow_drumless) >= 4
    assert sum(s.time_signature == "3/4" and s.bpm >= 180 for s in songs) >= 2
    assert sum(s.drums == "dnb" and s.bpm >= 170 for s in songs) >= 2
    assert {"latin", "rock", "pop", "funk"} <= {s.drums for s in songs}
    # starts off the tonic: a pickup, or a first chord other than I / i
    assert sum(s.pickup_pulses > 0 for s in songs) >= 3
    assert sum(s.progression[0] != 0 for s in songs) >= len(songs) / 2
    assert sum(any(isinstance(d, str) for d in s.progression) for s in songs) >= 6  # chromatic chords
    assert sum(s.chromatic_approach for s in songs) >= 4
    assert sum(s.chord_pattern == "sparse" for s in songs) >= 3  # melody-led over sparse chords
    # truth: only the aeolian song (no major V) is ambiguous, as every earlier natural-minor one
    assert all(not s.key_ambiguous for s in songs)


def test_holdout3_holds_the_hard_cases() -> None:
    """The third blind split (docs/analysis.md): new songs, a new soundfont, new render conditions."""
    songs = HOLDOUT3_SONGS
    names = {s.name for s in songs}
    earlier = (*SONGS, *HOLDOUT_SONGS, *HOLDOUT2_SONGS)
    assert len(songs) >= 30 and len(names) == len(songs) and not names & {s.name for s in earlier}
    assert {s.split for s in songs} == {"holdout3"}
    # no tune copied: no earlier song has the same progression in the same key, meter and tempo
    assert not {(s.progression, s.key, s.meter) for s in songs} & {(s.progression, s.key, s.meter) for s in earlier}
    assert not {(s.bpm, s.key) for s in songs} & {(s.bpm, s.key) for s in earlier}
    # render: about half on the HQ MuseScore font (no earlier clip), the rest under conditions no
    # earlier clip has (detuned 18-35 cents, wet, bass/drums up)
    hq = [s for s in songs if s.soundfont == "musescore_hq"]
    assert len(hq) >= 14 and "musescore_hq" not in {s.soundfont for s in earlier}
    assert all(build.render_conditions(s) for s in songs if s.soundfont != "musescore_hq")
    tuned = [s.tuning_cents for s in songs if s.tuning_cents]
    assert len(tuned) >= 10 and all(18 <= abs(c) <= 35 for c in tuned)
    assert any(c > 0 for c in tuned) and any(c < 0 for c in tuned)
    assert sum(s.effects == "wet" for s in songs) >= 5
    assert sum(s.mix == "bass_up" for s in songs) >= 3 and sum(s.mix == "drums_up" for s in songs) >= 3
    # the new textures
    assert {"chorale", "picking", "riff"} <= {s.chord_pattern for s in songs}
    assert sum(s.bass_pattern == "walking" for s in songs) >= 2
    meters = [s.time_signature for s in songs]
    assert all(meters.count(m) >= 2 for m in ("6/8", "9/8", "12/8", "2/2", "3/4")) and meters.count("4/4") >= 12
    keys = [s.parsed_key for s in songs]
    assert {k.pitch_class for k in keys if k.mode == "major"} == set(range(12))
    assert {k.pitch_class for k in keys if k.mode == "minor"} == set(range(12))
    minor = [s for s in songs if s.parsed_key.mode == "minor"]
    assert len(minor) == len(songs) / 2
    colours = [s.minor_scale for s in minor]
    assert all(colours.count(c) >= 3 for c in ("natural", "harmonic", "dorian"))
    assert sum(s.major_scale == "mixolydian" for s in songs) >= 2
    assert sum("#" in k.tonic for k in keys) >= 4 and sum("b" in k.tonic for k in keys) >= 4  # both spellings
    slow_drumless = [s for s in songs if s.drums is None and s.pulse_bpm <= 70]
    assert len(slow_drumless) >= 4
    assert sum(s.time_signature == "3/4" and s.bpm >= 180 for s in songs) >= 2
    assert sum(s.drums == "dnb" and s.bpm >= 170 for s in songs) >= 3
    assert {"latin", "rock", "pop", "funk", "edm", "brush"} <= {s.drums for s in songs}
    assert sum(s.pickup_pulses > 0 for s in songs) >= 5
    assert sum(s.progression[0] != 0 for s in songs) >= 0.75 * len(songs)
    assert sum(any(isinstance(d, str) for d in s.progression) for s in songs) >= 8
    # truth: ambiguous only where the harmony is (the aeolian i-bVI-bVII anthem, flagged by build.py)
    assert all(not s.key_ambiguous for s in songs)
    assert [s.name for s in minor if s.minor_scale == "natural" and not s.dominant_major] == ["anthem_aeolian_hq"]


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


def test_flac_holds_the_samples_a_pcm16_wav_held(tmp_path) -> None:
    # the set is stored as FLAC; its samples must equal those the WAV files of earlier sets held, so that
    # every figure measured on them stands (and a set cached as WAV still reads the same)
    import soundfile as sf

    rng = np.random.default_rng(7)
    y = np.concatenate([rng.uniform(-1, 1, (20000, 2)), rng.normal(0, 1e-3, (20000, 2)),
                        rng.integers(-33000, 33000, (20000, 2)) / 32768  # on and next to the 16-bit grid
                        + rng.choice([0.0, 1e-9, -1e-9, 0.5 / 32768, -0.5 / 32768], (20000, 2)),
                        [[1.0, -1.0], [1.3, -1.7], [0.5 / 32768, -0.5 / 32768]]]).astype(np.float32)
    sf.write(str(tmp_path / "old.wav"), y, build.SR, subtype="PCM_16")
    rel = build._write(tmp_path, "new", y)
    assert rel == "new.flac"
    old, _ = sf.read(str(tmp_path / "old.wav"), dtype="float32", always_2d=True)
    new, _ = sf.read(str(tmp_path / rel), dtype="float32", always_2d=True)
    assert np.array_equal(old, new)
    assert (tmp_path / rel).stat().st_size < 0.95 * (tmp_path / "old.wav").stat().st_size
    nan = y.copy()
    nan[5] = np.nan
    assert build._write(tmp_path, "nan", nan, float_wav=True) == "nan.wav"  # NaN needs a float WAV
    assert np.isnan(sf.read(str(tmp_path / "nan.wav"), dtype="float32", always_2d=True)[0][5]).all()


def test_a_full_disk_is_refused_before_rendering(tmp_path, monkeypatch) -> None:
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(build, "_check_tools", lambda: "fluidsynth")
    monkeypatch.setattr(build.shutil, "disk_usage", lambda p: usage(10**12, 10**12 - 300 * 2**20, 300 * 2**20))
    rendered = []
    monkeypatch.setattr(build, "_build", lambda *a, **k: rendered.append(1) or [])
    with pytest.raises(build.RenderError) as err:
        build.build_calibration_set(tmp_path / "cal")
    msg = str(err.value)
    assert "0.3 GB free" in msg and f"about {build.NEEDS_FREE_BYTES // 1024**3} GB" in msg and build.CACHE_ENV in msg and str(tmp_path / "cal") in msg
    assert not rendered and not list((tmp_path / "cal").iterdir())
    assert shutil is build.shutil


def test_a_disk_that_fills_while_rendering_leaves_nothing_half_written(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(build, "_check_tools", lambda: "fluidsynth")
    monkeypatch.setattr(build.recordings, "fetch_recordings", lambda cache: tmp_path / "music")

    def fill(root, *a, **k):
        (root / "half.flac").write_bytes(b"x")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(build, "_build", fill)
    with pytest.raises(build.RenderError, match="not enough free disk"):
        build.build_calibration_set(tmp_path / "cal")
    assert not list((tmp_path / "cal").iterdir())  # the half-built temp folder is gone


def test_content_hash_is_stable() -> None:
    assert build.content_hash() == build.content_hash()


def test_build_command_renders_and_reuses(tmp_path_factory) -> None:
    # same parent as the session fixture of test_analysis_calibration: whichever runs first renders
    # (fluidsynth, about 100 s of CPU with holdout3), the other finds the content-hashed set and reuses it
    out = tmp_path_factory.getbasetemp() / "calibration"
    proc = subprocess.run([sys.executable, "-m", "acekit.calibration", str(out), "--workers", "2"],
                          capture_output=True, text=True, timeout=900)  # ~100 s of CPU; minutes on a shared 2-core machine
    assert proc.returncode == 0, proc.stderr
    assert "clips (" in proc.stdout and "song" in proc.stdout
    manifests = list(out.glob("*/manifest.json"))
    assert len(manifests) == 1
    cal = build.build_calibration_set(out)  # second call: cached, no render
    files = [p for p in cal.root.iterdir() if p.name != "manifest.json"]
    assert cal.root == manifests[0].parent and sorted(p.name for p in files) == sorted(c.file for c in cal.clips)
    assert not list(out.glob(".*"))  # no half-built temp folders left behind
    # the free space the build asks for covers the finished set with room for the renders in flight
    assert sum(p.stat().st_size for p in files) < build.NEEDS_FREE_BYTES / 2


# ---- holdout4: real composed music from music21's corpus (acekit.calibration.scores) -------------

_METER_PULSES = {"4/4": 4, "3/4": 3, "2/4": 2, "2/2": 4, "6/8": 2, "9/8": 3, "12/8": 4}


@pytest.mark.parametrize("spec", scores.CORPUS_PIECES,
                         ids=lambda s: f"{s.split}-{s.name}")
def test_holdout4_truth_is_consistent(spec: PieceSpec, tmp_path) -> None:
    """The holdout2 checks, for scores: beats are the felt pulse at the piece's one tempo from time 0,
    downbeats every bar's first beat after the pickup (read from the score), the MIDI's tempo and
    meter events say the same; the key is what the truth rules read from the score, and the notes
    agree with it (mostly in its scale). Runs on holdout5's to holdout9's pieces too (same rules, same checks)."""
    comp = derive(spec)
    beats, downs = np.asarray(comp.beats_s), np.asarray(comp.downbeats_s)
    period = 60 / spec.pulse_bpm
    pick = comp.extra["pickup_pulses"]
    assert beats[0] == 0 and np.allclose(np.diff(beats), period, atol=1e-5)
    assert np.allclose(downs, beats[pick::spec.beats_per_bar], atol=1e-9)
    assert len(downs) == comp.extra["bars"] and comp.end_s == pytest.approx(beats[-1] + period, abs=1e-5)
    assert spec.beats_per_bar == _METER_PULSES[spec.time_signature]
    if spec.compound:
        assert spec.pulse_bpm == pytest.approx(spec.bpm * 2 / 3)
    # the pickup: shorter than a bar, padded to whole pulses with silence in front
    assert 0 <= comp.extra["pickup_ql"] < spec.bar_ql and 0 <= comp.extra["pad_ql"] < spec.pulse_ql
    assert pick == (comp.extra["pickup_ql"] + comp.extra["pad_ql"]) / spec.pulse_ql
    assert 8 <= comp.end_s <= scores.MAX_EXCERPT_S + period  # an excerpt from the beginning (+ the padding)
    assert comp.extra["key"] == spec.parsed_key.canonical
    path = tmp_path / "x.mid"
    path.write_bytes(comp.midi)
    mid = mido.MidiFile(str(path))
    tempos = [m.tempo for _, m in _abs(mid.tracks[0]) if m.type == "set_tempo"]
    assert tempos == [round(60_000_000 / spec.bpm)]  # one steady tempo: no ritardando, no fermata
    meter = [(m.numerator, m.denominator) for _, m in _abs(mid.tracks[0]) if m.type == "time_signature"]
    assert meter == [spec.meter]
    assert comp.end_s - 60 / spec.bpm * spec.bar_ql < mid.length <= comp.end_s + 1e-6
    ons = sorted((t, msg.note) for track in mid.tracks for t, msg in _abs(track)
                 if msg.type == "note_on" and msg.velocity > 0 and msg.channel != 9)
    first_t = ons[0][0]
    # the music starts at the pickup (after a rest the score writes there: Dichterliebe's sixteenth)
    lead_rest = 120 if spec.name == "schumann_dichterliebe_2" else 0
    assert first_t == round(comp.extra["pad_ql"] * 480) + lead_rest
    # the notes agree with the key read from the score: mostly in its scale (the mode's, for a modal
    # tune; natural minor plus the raised 6th and 7th for minor). The rag is the most chromatic: 0.82
    pc, minor = spec.parsed_key.pitch_class, spec.parsed_key.mode == "minor"
    steps = {"dorian": (0, 2, 3, 5, 7, 9, 10), "mixolydian": (0, 2, 4, 5, 7, 9, 10)}.get(
        spec.mode_name, (0, 2, 3, 5, 7, 8, 9, 10, 11) if minor else (0, 2, 4, 5, 7, 9, 11))
    in_scale = sum((n - pc) % 12 in steps for _, n in ons) / len(ons)
    assert in_scale >= 0.8, (spec.name, in_scale)


def test_holdout4_key_rules_decide_or_refuse() -> None:
    """The truth rules, on the scores themselves: a claim the score does not support is refused."""
    from dataclasses import replace

    by = {p.name: p for p in HOLDOUT4_PIECES}
    assert derive(by["chorale_bwv248_35"]).extra["key_rule"].startswith("final bass F#")  # relative minor of 3 sharps
    assert derive(by["reel_cunninghams_fancy"]).extra["key_rule"] == "K: A dorian"  # dorian -> minor
    assert derive(by["jig_barney_ofinnegan"]).extra["key_rule"] == "K: D mixolydian"  # mixolydian -> major
    with pytest.raises(ScoreError, match="the score says B minor"):
        scores._derive(replace(by["chorale_bwv108_6"], key="D major"))  # the relative major of its signature
    with pytest.raises(ScoreError, match="neither tonic"):  # ends on the dominant of its signature's keys
        scores._derive(PieceSpec("x", "chorale", "bach/bwv130.6", 72, "C major", (3, 4)))
    with pytest.raises(ScoreError, match="meter"):
        scores._derive(replace(by["jig_kitty_quinn"], meter=(3, 4)))


def _assert_rendered_variously(pieces, *, per_font: int, detuned: int, wet: int) -> None:
    """A corpus split's render conditions: every soundfont at least ``per_font`` times, at least ``detuned``
    pieces 18-35 cents off A440 both ways, at least ``wet`` wet renders, and bass-up and drums-up mixes."""
    fonts = [p.soundfont for p in pieces]
    assert set(fonts) == set(build.SOUNDFONTS) and all(fonts.count(f) >= per_font for f in build.SOUNDFONTS)
    tuned = [p.tuning_cents for p in pieces if p.tuning_cents]
    assert len(tuned) >= detuned and all(18 <= abs(c) <= 35 for c in tuned) and min(tuned) < 0 < max(tuned)
    assert sum(p.effects == "wet" for p in pieces) >= wet and {"bass_up", "drums_up"} <= {p.mix for p in pieces}


def test_holdout4_holds_the_hard_cases() -> None:
    """A blind split of music no acekit generator wrote (docs/analysis.md "The holdout4 split")."""
    pieces = HOLDOUT4_PIECES
    names = {p.name for p in pieces}
    earlier = (*SONGS, *HOLDOUT_SONGS, *HOLDOUT2_SONGS, *HOLDOUT3_SONGS)
    assert len(pieces) >= 32 and len(names) == len(pieces) and not names & {s.name for s in earlier}
    assert {p.split for p in pieces} == {"holdout4"}
    assert len({(p.source, p.number) for p in pieces}) == len(pieces)  # each score once
    # sources: chorales, fiddle tunes (two collections), chord-symbol tunes, classical/baroque, a rag
    styles = [p.style for p in pieces]
    assert styles.count("chorale") >= 10
    assert sum(p.source.startswith("oneills1850/") for p in pieces) >= 10
    assert sum(p.source.startswith("ryansMammoth/") for p in pieces) >= 3
    assert sum(p.chords for p in pieces) >= 2 and sum(not p.chords and len(p.programs) == 1 and
                                                       p.source.endswith(".abc") for p in pieces) >= 10  # melody only
    assert sum(s in ("classical", "baroque", "lied", "rag") for s in styles) >= 6
    meters = [p.time_signature for p in pieces]
    assert all(meters.count(m) >= 2 for m in ("6/8", "9/8", "12/8", "2/2", "3/4", "2/4")) and meters.count("4/4") >= 10
    keys = [p.parsed_key for p in pieces]
    assert len({k.pitch_class for k in keys}) >= 10
    minor = [p for p in pieces if p.parsed_key.mode == "minor"]
    assert abs(len(minor) - len(pieces) / 2) <= 4
    modal = {p.mode_name for p in pieces}
    assert {"dorian", "mixolydian"} <= modal
    assert sum(p.mode_name == "dorian" for p in pieces) >= 3 and sum(p.mode_name == "mixolydian" for p in pieces) >= 3
    assert sum("b" in k.tonic for k in keys) >= 6 and sum("#" in k.tonic for k in keys) >= 2  # both spellings
    sigs = {derive(p).extra["key_rule"].split(",")[1].strip() for p in pieces if "sharps" in derive(p).extra["key_rule"]}
    assert any(s.startswith("-") for s in sigs) and any(not s.startswith("-") and not s.startswith("0") for s in sigs)
    # tempo: slow drumless, fast 3/4, reels at a half note over 100, compound at a dotted quarter near 110-124
    assert sum(p.pulse_bpm <= 66 and not p.drums for p in pieces) >= 4
    assert any(p.time_signature == "3/4" and p.bpm >= 180 for p in pieces)
    assert all(p.bpm >= 200 for p in pieces if p.style == "reel" and p.time_signature == "2/2")
    assert sum(derive(p).extra["pickup_pulses"] > 0 for p in pieces) >= 15  # real anacruses
    assert sum(p.drums for p in pieces) >= 4 and sum(not p.drums for p in pieces) >= len(pieces) * 0.7
    # render: six soundfonts, each used, and the render conditions
    _assert_rendered_variously(pieces, per_font=4, detuned=6, wet=5)
    # truth: ambiguous only by the natural-minor rule (no leading tone sounded, not dorian)
    amb = [p for p in pieces if p.key_ambiguous]
    assert 1 <= len(amb) <= 6 and all(p.parsed_key.mode == "minor" and p.mode_name != "dorian" for p in amb)


# ---- holdout5: other corpus scores, built the same way (docs/analysis.md "The holdout5 split") ----

def test_holdout4_pieces_derive_as_before() -> None:
    """holdout5's rule and pieces leave holdout4 as it was: each piece's MIDI has the sha256 it had
    before holdout5 was added (tests/fixtures/holdout4_midi_sha256.json), so its renders are unchanged."""
    want = json.loads((_MIDI_SHA256.parent / "holdout4_midi_sha256.json").read_text())
    assert set(want) == {p.name for p in HOLDOUT4_PIECES}
    changed = [p.name for p in HOLDOUT4_PIECES if hashlib.sha256(derive(p).midi).hexdigest() != want[p.name]]
    assert not changed, f"MIDI changed for {changed}"


def test_holdout5_key_rules_decide_or_refuse() -> None:
    """holdout4's rules decide holdout5's keys, plus its own: an abc tune must end on its K: tonic."""
    from dataclasses import replace

    by = {p.name: p for p in HOLDOUT5_PIECES}
    assert derive(by["chopin_mazurka_op6no2"]).extra["key_rule"] == "final bass C#, 4 sharps: relative minor"
    assert derive(by["jig_gramachree_12_8"]).extra["key_rule"] == "K: D dorian, last note D"  # dorian -> minor
    assert derive(by["jig_moll_in_the_wad"]).extra["key_rule"] == "K: D mixolydian, last note D"
    assert all("last note" in derive(p).extra["key_rule"] for p in HOLDOUT5_PIECES if p.source.endswith(".abc"))
    # "I Had a Horse": K: D minor, but the tune ends on B flat. holdout4's rules took it; holdout5's refuse it
    horse = PieceSpec("x", "folk song", "essenFolksong/folkHaydn.abc", 100, "D minor", (3, 4), number=17)
    assert scores._derive(horse).extra["key_rule"] == "K: D minor"
    with pytest.raises(ScoreError, match="last melody note B- is not the K: tonic D"):
        scores._derive(replace(horse, split="holdout5"))
    with pytest.raises(ScoreError, match="the score says Eb major"):
        scores._derive(replace(by["beach_prayer_tired_child"], key="C minor"))  # its signature's relative minor
    with pytest.raises(ScoreError, match="no measures"):  # a tune music21 reads without bar lines
        scores._derive(PieceSpec("x", "folk song", "essenFolksong/folkHaydn.abc", 100, "D minor", (2, 2),
                                 number=18, split="holdout5"))
    with pytest.raises(ScoreError, match="the meter changes"):  # 3/4 to 2/4 mid-song
        scores._derive(PieceSpec("x", "folk song", "essenFolksong/folkHaydn.abc", 100, "G minor", (3, 4),
                                 number=21, split="holdout5"))


def test_holdout5_holds_the_hard_cases() -> None:
    """A second blind split of real music: none of holdout4's scores or tunes, its gaps filled."""
    pieces = HOLDOUT5_PIECES
    names = {p.name for p in pieces}
    earlier = (*SONGS, *HOLDOUT_SONGS, *HOLDOUT2_SONGS, *HOLDOUT3_SONGS, *HOLDOUT4_PIECES)
    assert 36 <= len(pieces) <= 44 and len(names) == len(pieces) and not names & {s.name for s in earlier}
    assert {p.split for p in pieces} == {"holdout5"}
    assert len({(p.source, p.number) for p in pieces}) == len(pieces)
    # no score of holdout4, and no other movement or tune number of one (O'Neill's numbers name the tune
    # across the book's files; a quartet's other movements share its folder)
    assert not {(p.source, p.number) for p in pieces} & {(p.source, p.number) for p in HOLDOUT4_PIECES}
    assert not {p.number for p in pieces if p.source.startswith("oneills1850/")} & {
        p.number for p in HOLDOUT4_PIECES if p.source.startswith("oneills1850/")}
    assert not {p.source.rsplit("/", 1)[0] for p in pieces if "/movement" in p.source} & {
        p.source.rsplit("/", 1)[0] for p in HOLDOUT4_PIECES if "/movement" in p.source}
    assert not {p.source.split("/")[0] for p in pieces} & {"corelli", "haydn", "joplin", "nottingham-dataset"}
    styles = [p.style for p in pieces]
    assert styles.count("chorale") >= 10 and styles.count("folk song") >= 8
    assert sum(p.source.startswith("essenFolksong/") for p in pieces) >= 8  # holdout4 has none
    assert sum(p.source.startswith("oneills1850/") for p in pieces) >= 10
    assert sum(p.chords for p in pieces) >= 1
    assert sum(s in ("classical", "romantic", "lied", "hymn") for s in styles) >= 5
    meters = [p.time_signature for p in pieces]
    assert all(meters.count(m) >= 2 for m in ("6/8", "9/8", "12/8", "2/2", "3/4", "2/4")) and meters.count("4/4") >= 8
    keys = [p.parsed_key for p in pieces]
    assert len({k.pitch_class for k in keys}) >= 10 and "C# minor" in {k.canonical for k in keys}
    minor = [p for p in pieces if p.parsed_key.mode == "minor"]
    assert abs(len(minor) - len(pieces) / 2) <= 4
    assert sum(p.mode_name == "dorian" for p in pieces) >= 2 and sum(p.mode_name == "mixolydian" for p in pieces) >= 3
    assert sum("b" in k.tonic for k in keys) >= 5 and sum("#" in k.tonic for k in keys) >= 2
    assert sum(p.pulse_bpm <= 66 and not p.drums for p in pieces) >= 4
    assert any(p.time_signature == "3/4" and p.bpm >= 168 for p in pieces)
    assert all(p.bpm >= 200 for p in pieces if p.style == "reel" and p.time_signature == "2/2")
    assert sum(derive(p).extra["pickup_pulses"] > 0 for p in pieces) >= 15
    assert all(13 <= derive(p).end_s <= scores.MAX_EXCERPT_S + 60 / p.pulse_bpm for p in pieces)
    assert sum(p.drums for p in pieces) >= 4 and sum(not p.drums for p in pieces) >= len(pieces) * 0.7
    _assert_rendered_variously(pieces, per_font=4, detuned=6, wet=5)
    amb = [p for p in pieces if p.key_ambiguous]
    assert amb and all(p.parsed_key.mode == "minor" and p.mode_name != "dorian" for p in amb)


def test_missing_music21_says_what_to_install(monkeypatch) -> None:
    """`acekit calibrate` needs music21 only for holdout4's scores: without it, a clear error."""
    monkeypatch.setitem(sys.modules, "music21", None)  # import music21 -> ImportError
    with pytest.raises(build.RenderError, match=r"acekit\[calibration\].*music21==10\.5\.1"):
        build._check_tools()


# ---- holdout6: other corpus scores again, a band's arrangement on some (docs/analysis.md "The holdout6 split") ----

def test_holdout5_pieces_derive_as_before() -> None:
    """holdout6's arrangement option (``harmonise``) leaves holdout5 as it was: each piece's MIDI has the
    sha256 it had before holdout6 was added (tests/fixtures/holdout5_midi_sha256.json)."""
    want = json.loads((_MIDI_SHA256.parent / "holdout5_midi_sha256.json").read_text())
    assert set(want) == {p.name for p in HOLDOUT5_PIECES}
    changed = [p.name for p in HOLDOUT5_PIECES if hashlib.sha256(derive(p).midi).hexdigest() != want[p.name]]
    assert not changed, f"MIDI changed for {changed}"


def _key_training_reserved() -> tuple[set, set]:
    """The pieces reserved for key-profile training (the rule shared with the key designer), as
    ({(source, number)} listed or by tune number, {score source} by composer index): (a) every piece in
    notes/key-sixth-pass-corpus-profiles.json "training"; (b) any abc tune whose X: number n has
    n % 7 == 1, in any collection (checked on the piece, see the test); (c) any score at index i with
    i % 7 == 1 in the sorted `music21.corpus.getComposer(composer)` paths of its composer, for Bach the
    sorted bwv list exactly as scripts/key_learn_profiles.py `candidates()` builds it."""
    import re

    import music21

    notes = Path(__file__).parents[1] / "notes" / "key-sixth-pass-corpus-profiles.json"
    listed = {(t["source"], t["number"]) for t in json.loads(notes.read_text())["training"]}
    by_index: set[str] = set()
    for p in (*HOLDOUT6_PIECES, *HOLDOUT7_PIECES, *HOLDOUT8_PIECES, *HOLDOUT9_PIECES, *HOLDOUT10_PIECES,
              *HOLDOUT11_PIECES, *HOLDOUT12_PIECES, *HOLDOUT13_PIECES, *HOLDOUT14_PIECES, *HOLDOUT15_PIECES,
              *HOLDOUT16_PIECES, *HOLDOUT17_PIECES):
        if p.source.endswith(".abc"):
            continue
        composer = p.source.split("/")[0]
        paths = sorted(str(x).split("corpus/")[-1] for x in music21.corpus.getComposer(composer))
        if composer == "bach":  # as candidates() filters them
            paths = [c for c in paths if re.match(r"bach/bwv[\d.]+(\.mxl|\.xml)?$", c) or c.startswith("bach/bwv")]
        by_index |= {c.rsplit(".", 1)[0] for i, c in enumerate(paths) if i % 7 == 1}
    return listed, by_index


def test_holdout6_holds_no_key_training_piece() -> None:
    """None of holdout6's pieces may be one that key profiles are trained on (rule in `_key_training_reserved`)."""
    listed, by_index = _key_training_reserved()
    assert len(listed) >= 200 and "bach/bwv122.6" in {s for s, _ in listed}  # the file is read, not empty
    for p in HOLDOUT6_PIECES:
        assert (p.source, p.number) not in listed, p.name
        if p.source.endswith(".abc"):
            assert p.number is not None and p.number % 7 != 1, p.name  # (b)
        else:
            assert p.source not in by_index and p.source.rsplit(".", 1)[0] not in by_index, p.name  # (c)
    # the index rule catches what it should: bwv248.23-2 (the corpus's only other 12/8 chorale) is reserved
    assert "bach/bwv248.23-2" in _bach_reserved()


def _bach_reserved() -> set[str]:
    import re

    import music21

    paths = sorted(str(x).split("corpus/")[-1] for x in music21.corpus.getComposer("bach"))
    paths = [c for c in paths if re.match(r"bach/bwv[\d.]+(\.mxl|\.xml)?$", c) or c.startswith("bach/bwv")]
    return {c.rsplit(".", 1)[0] for i, c in enumerate(paths) if i % 7 == 1}


def test_holdout6_shares_nothing_with_holdout4_or_holdout5() -> None:
    """No score, tune, or other movement/verse of one: O'Neill's numbers name a tune across the book's
    files, a quartet's movements share a folder, a cantata's chorales share a BWV number."""
    _assert_shares_nothing(HOLDOUT6_PIECES, (*HOLDOUT4_PIECES, *HOLDOUT5_PIECES))


def test_holdout7_shares_nothing_with_holdout4_to_holdout6() -> None:
    """The same rules as holdout6's, against all three earlier splits of real music."""
    _assert_shares_nothing(HOLDOUT7_PIECES, (*HOLDOUT4_PIECES, *HOLDOUT5_PIECES, *HOLDOUT6_PIECES))


def _assert_shares_nothing(pieces: tuple[PieceSpec, ...], earlier: tuple[PieceSpec, ...]) -> None:
    from dataclasses import replace

    names = {p.name for p in pieces}
    assert len(names) == len(pieces) and not names & {p.name for p in earlier}
    assert not names & {s.name for s in (*SONGS, *HOLDOUT_SONGS, *HOLDOUT2_SONGS, *HOLDOUT3_SONGS)}
    assert len({(p.source, p.number) for p in pieces}) == len(pieces)
    assert not {(p.source, p.number) for p in pieces} & {(p.source, p.number) for p in earlier}
    assert not {p.number for p in pieces if p.source.startswith("oneills1850/")} & {
        p.number for p in earlier if p.source.startswith("oneills1850/")}
    assert not {p.source.rsplit("/", 1)[0] for p in pieces if "/movement" in p.source} & {
        p.source.rsplit("/", 1)[0] for p in earlier if "/movement" in p.source}

    def bwv(p: PieceSpec) -> str:
        return p.source.split(".")[0]
    assert not {bwv(p) for p in pieces if p.source.startswith("bach/")} & {
        bwv(p) for p in earlier if p.source.startswith("bach/")}
    # a chorale tune set again under another BWV number (BWV 395 sets holdout4's BWV 244.10): the
    # soprano's first six intervals differ from every earlier chorale's
    import music21

    def opening(p: PieceSpec) -> tuple[int, ...]:
        sc = music21.corpus.parse(p.source)
        sop = [x for x in sc.parts if "sopr" in (x.partName or "").lower()] or [sc.parts[0]]
        ps = [n.pitch.ps for n in sop[0].recurse().notes if n.isNote][:7]
        return tuple(int(b - a) for a, b in zip(ps, ps[1:]))
    assert not {opening(p) for p in pieces if p.style == "chorale"} & {
        opening(p) for p in earlier if p.style == "chorale"}
    own = [opening(p) for p in pieces if p.style == "chorale"]
    assert len(set(own)) == len(own)  # nor one tune twice within the split
    bwv395 = opening(replace(pieces[0], source="bach/bwv395"))
    assert bwv395 in {opening(p) for p in HOLDOUT4_PIECES if p.style == "chorale"}  # the check would catch it
    # the same tune title in another collection is the same tune
    titles = {p.name.split("_", 1)[1] for p in earlier}
    assert not {p.name.split("_", 1)[1] for p in pieces} & titles


def test_holdout6_holds_the_hard_cases() -> None:
    """A third blind split of real music, spread as holdout5 and closer to produced music."""
    pieces = HOLDOUT6_PIECES
    assert len(pieces) == 40 and {p.split for p in pieces} == {"holdout6"}
    assert all("last note" in derive(p).extra["key_rule"] for p in pieces if p.source.endswith(".abc"))
    styles = [p.style for p in pieces]
    assert styles.count("chorale") >= 8
    # slow, sustained, drumless: chorales and slow openings and airs
    assert sum(p.pulse_bpm <= 80 and not p.drums for p in pieces) >= 10
    assert sum(p.pulse_bpm <= 66 and not p.drums for p in pieces) >= 5
    assert sum(s in ("classical", "lied", "song") for s in styles) >= 3
    # a band's arrangement (what ACE-Step produces most): melody, meter-true kit, bass and chords
    band = [p for p in pieces if p.harmonise and p.drums]
    assert len(band) >= 8 and {p.time_signature for p in band} >= {"2/2", "6/8", "9/8", "2/4", "3/4", "4/4"}
    meters = [p.time_signature for p in pieces]
    # every meter of the earlier splits but 12/8: the corpus has no 12/8 score left that is not in
    # holdout4/holdout5, reserved for key training, or refused by the last-note rule
    assert all(meters.count(m) >= 4 for m in ("6/8", "2/2", "3/4", "2/4", "4/4")) and meters.count("9/8") >= 3
    assert any(p.time_signature == "3/4" and p.bpm >= 180 and p.style == "waltz" for p in pieces)
    assert {"polka", "march", "reel", "jig", "slip jig"} <= set(styles)
    assert all(p.bpm >= 200 for p in pieces if p.style == "reel" and p.time_signature == "2/2")
    keys = [p.parsed_key for p in pieces]
    minor = [p for p in pieces if p.parsed_key.mode == "minor"]
    assert abs(len(minor) - len(pieces) / 2) <= 3 and len({k.pitch_class for k in keys}) >= 7
    assert sum(p.mode_name == "dorian" for p in pieces) >= 2 and sum(p.mode_name == "mixolydian" for p in pieces) >= 3
    sigs = [derive(p).extra["key_rule"] for p in pieces]
    assert sum(k.canonical in ("F major", "Bb major", "D minor", "G minor") for k in keys) >= 10  # flat keys
    assert sum(k.canonical in ("A major", "E major", "E minor", "B minor", "D major") for k in keys) >= 10  # sharp
    assert any("-2 sharps" in r for r in sigs) and any("4 sharps" in r for r in sigs)
    assert sum(derive(p).extra["pickup_pulses"] > 0 for p in pieces) >= 15
    assert all(10 <= derive(p).end_s <= scores.MAX_EXCERPT_S + 60 / p.pulse_bpm for p in pieces)
    _assert_rendered_variously(pieces, per_font=6, detuned=8, wet=8)
    amb = [p for p in pieces if p.key_ambiguous]
    assert amb and all(p.parsed_key.mode == "minor" and p.mode_name != "dorian" for p in amb)


def test_harmonise_reads_the_melody_not_the_key() -> None:
    """``harmonise``: one triad a bar, all of whose notes sound in the melody (the accompaniment adds no
    pitch class, so the key's truth and `key_ambiguous` read the same notes), whatever key the spec
    claims; a bass on the bar's pulses and chords between, like chord symbols; refused next to them."""
    from dataclasses import replace

    by = {p.name: p for p in HOLDOUT6_PIECES}
    spec = by["reel_big_pats"]
    plain = scores._derive(replace(spec, harmonise=False, drums=False))
    band = derive(spec)
    assert band.extra["key"] == plain.extra["key"] and band.extra["key_ambiguous"] == plain.extra["key_ambiguous"]
    assert band.beats_s == plain.beats_s and band.downbeats_s == plain.downbeats_s

    def pcs(comp, channels) -> set[int]:
        path = Path(__file__).parent / "_h6.mid"
        try:
            path.write_bytes(comp.midi)
            mid = mido.MidiFile(str(path))
        finally:
            path.unlink(missing_ok=True)
        return {m.note % 12 for t in mid.tracks for m in t if m.type == "note_on" and m.velocity and m.channel in channels}

    melody = pcs(plain, {0})
    assert pcs(band, {1, 2}) <= melody and len(pcs(band, {1, 2})) >= 3
    assert band.notes > plain.notes + 2 * plain.extra["bars"]  # a bass and chords on every bar
    with pytest.raises(ScoreError, match="exclude each other"):
        scores._derive(replace(spec, chords=True))


# ---- holdout7: built as holdout6, sharing nothing with holdout4 to holdout6 (docs/analysis.md "The holdout7 split") --

def test_holdout7_holds_no_key_training_piece() -> None:
    """None of holdout7's pieces may be one that key designs are trained on: the rule in
    `_key_training_reserved`, and every corpus piece of notes/key-seventh-pass-training.txt."""
    _assert_holds_no_key_training_piece(HOLDOUT7_PIECES)


def _assert_holds_no_key_training_piece(pieces: tuple[PieceSpec, ...]) -> None:
    listed, by_index = _key_training_reserved()
    notes = Path(__file__).parents[1] / "notes" / "key-seventh-pass-training.txt"
    seventh = {(f[0], int(f[1]) if f[1].isdigit() else None) for f in
               (line.split("\t") for line in notes.read_text().splitlines() if not line.startswith("#"))
               if len(f) >= 2}
    assert ("airdsAirs/book1.abc", 15) in seventh  # the file is read
    for p in pieces:
        assert (p.source, p.number) not in listed | seventh, p.name
        if p.source.endswith(".abc"):
            assert p.number is not None and p.number % 7 != 1, p.name  # (b)
        else:
            assert p.source not in by_index and p.source.rsplit(".", 1)[0] not in by_index, p.name  # (c)
            assert not {s for s, _ in seventh} & {p.source, p.source.rsplit(".", 1)[0]}, p.name


def test_holdout7_holds_the_hard_cases() -> None:
    """A fourth blind split of real music, spread as holdout6."""
    _assert_holds_the_hard_cases_as_holdout7(HOLDOUT7_PIECES, "holdout7", per_font=6, detuned=8, wet=8)


def _assert_holds_the_hard_cases_as_holdout7(pieces: tuple[PieceSpec, ...], split: str, *, classical: bool = True,
                                             flat3_score: bool = True, nine_eight: bool = True,
                                             sharp3_score: bool = True, **rendered: int) -> None:
    """holdout7's spread; ``rendered``: the split's minimums for `_assert_rendered_variously`; ``classical``:
    whether a classical opening is asked (holdout9: none left in the corpus, see its test); ``flat3_score``:
    whether a score read by its final bass is asked in three flats (holdout10: no chorale left, see its test);
    ``nine_eight``: whether 9/8 slip jigs are asked (holdout14: none left that passes the rules, see its test);
    ``sharp3_score``: whether a score read by its final bass is asked in three sharps (holdout17: no chorale left,
    see its test)."""
    assert 32 <= len(pieces) <= 40 and {p.split for p in pieces} == {split}
    assert all("last note" in derive(p).extra["key_rule"] for p in pieces if p.source.endswith(".abc"))
    styles = [p.style for p in pieces]
    assert styles.count("chorale") >= 8 and ("classical" in styles or not classical)
    # slow, sustained, drumless: chorales and slow openings and airs
    assert sum(p.pulse_bpm <= 80 and not p.drums for p in pieces) >= 10
    assert sum(p.pulse_bpm <= 66 and not p.drums for p in pieces) >= 5
    # a band's arrangement: melody, meter-true kit, bass and chords read from the melody
    band = [p for p in pieces if p.harmonise and p.drums]
    compound3 = {"9/8"} if nine_eight else set()
    assert len(band) >= 10 and {p.time_signature for p in band} >= {"2/2", "6/8", "2/4", "3/4", "4/4"} | compound3
    meters = [p.time_signature for p in pieces]
    # no 12/8, as holdout6: the two 12/8 tunes left in O'Neill's and Aird's books fail the last-note rule
    # (holdout8: the same two; docs/analysis.md "The holdout8 split" says where the search looked)
    assert all(meters.count(m) >= 4 for m in ("6/8", "2/2", "3/4", "2/4", "4/4", *compound3))
    assert any(p.time_signature == "3/4" and p.bpm >= 180 and p.style == "waltz" for p in pieces)
    assert {"march", "reel", "jig", "hornpipe", "waltz"} | ({"slip jig"} if nine_eight else set()) <= set(styles)
    assert all(p.bpm >= 200 for p in pieces if p.style == "reel" and p.time_signature == "2/2")
    keys = [p.parsed_key for p in pieces]
    minor = [p for p in pieces if p.parsed_key.mode == "minor"]
    assert abs(len(minor) - len(pieces) / 2) <= 3 and len({k.pitch_class for k in keys}) >= 7
    assert sum(p.mode_name == "dorian" for p in pieces) >= 2 and sum(p.mode_name == "mixolydian" for p in pieces) >= 2
    sigs = [derive(p).extra["key_rule"] for p in pieces]
    assert sum(k.canonical in ("F major", "Bb major", "Eb major", "D minor", "G minor") for k in keys) >= 10  # flat
    assert sum(k.canonical in ("A major", "E major", "E minor", "B minor", "D major") for k in keys) >= 10  # sharp
    assert (any("-3 sharps" in r for r in sigs) or not flat3_score)
    assert any(" 3 sharps" in r for r in sigs) or not sharp3_score
    assert sum(derive(p).extra["pickup_pulses"] > 0 for p in pieces) >= 15
    assert all(10 <= derive(p).end_s <= scores.MAX_EXCERPT_S + 60 / p.pulse_bpm for p in pieces)
    _assert_rendered_variously(pieces, **rendered)
    amb = [p for p in pieces if p.key_ambiguous]
    assert amb and all(p.parsed_key.mode == "minor" and p.mode_name != "dorian" for p in amb)


# ---- holdout8: built as holdout7, sharing nothing with holdout4 to holdout7 (docs/analysis.md "The holdout8 split") --

def test_holdout8_shares_nothing_with_holdout4_to_holdout7() -> None:
    """The same rules as holdout6's and holdout7's, against all four earlier splits of real music."""
    _assert_shares_nothing(HOLDOUT8_PIECES, (*HOLDOUT4_PIECES, *HOLDOUT5_PIECES, *HOLDOUT6_PIECES, *HOLDOUT7_PIECES))


def test_holdout8_holds_no_key_training_piece() -> None:
    """The same rule and lists as holdout7's: the rule, not the lists, is what excludes, so a training
    piece rendered later by the rule cannot be one of these."""
    _assert_holds_no_key_training_piece(HOLDOUT8_PIECES)


def test_holdout8_holds_the_hard_cases() -> None:
    """A fifth blind split of real music, spread as holdout7, with polkas and two openings of another kind
    (a quartet's fugal finale that opens on one viola, a piano polonaise)."""
    pieces = HOLDOUT8_PIECES
    _assert_holds_the_hard_cases_as_holdout7(pieces, "holdout8", per_font=6, detuned=10, wet=10)
    styles = [p.style for p in pieces]
    assert styles.count("polka") >= 2 and {"classical", "romantic"} <= set(styles)
    band = [p for p in pieces if p.harmonise and p.drums]
    assert {"reel", "jig", "slip jig", "polka", "march", "waltz"} <= {p.style for p in band}
    assert sum(p.mode_name in ("dorian", "mixolydian") for p in pieces) >= 5


# ---- holdout9: built as holdout8, sharing nothing with holdout4 to holdout8 (docs/analysis.md "The holdout9 split") --

def test_holdout9_shares_nothing_with_holdout4_to_holdout8() -> None:
    """The same rules as holdout6's to holdout8's, against all five earlier splits of real music: no score,
    O'Neill tune number, quartet movement folder, BWV number, chorale melody (the soprano's first six
    intervals) or tune title in common, and no chorale tune twice within the split."""
    earlier = (*HOLDOUT4_PIECES, *HOLDOUT5_PIECES, *HOLDOUT6_PIECES, *HOLDOUT7_PIECES, *HOLDOUT8_PIECES)
    _assert_shares_nothing(HOLDOUT9_PIECES, earlier)
    # a trio's movement shares its opus folder with no earlier piece's (the movement check reads "/movement")
    assert not {p.source.rsplit("/", 1)[0] for p in HOLDOUT9_PIECES if "/" in p.source and not p.number} & {
        p.source.rsplit("/", 1)[0] for p in earlier if not p.number and not p.source.startswith("bach/")} - {"bach"}


def test_holdout9_holds_no_key_training_piece() -> None:
    """The same rule and lists as holdout7's and holdout8's. The rule, not the lists, is what excludes: an
    abc tune whose X: number n has n % 7 == 1 in any collection (Essen's included), and a score at index
    i % 7 == 1 in its composer's sorted corpus paths (Clara Schumann's included, `_key_training_reserved`
    reads holdout9's composers too)."""
    _assert_holds_no_key_training_piece(HOLDOUT9_PIECES)
    listed, by_index = _key_training_reserved()
    assert "schumann_clara/polonaise_op1n1" in by_index  # index 1 of her sorted paths: the rule reads her
    assert all(p.number % 7 != 1 for p in HOLDOUT9_PIECES if p.source.startswith("essenFolksong/"))


def test_holdout9_holds_the_hard_cases() -> None:
    """A sixth blind split of real music, spread as holdout8, with German folk songs (Essen) and two
    openings of another kind (a keyboard prelude of even sixteenths, a piano trio's slow 6/8 movement).
    No classical opening: every Haydn, Mozart and Beethoven score left in the corpus is in an earlier
    split, reserved by the index rule, changes meter, or ends off its key signature's tonics."""
    pieces = HOLDOUT9_PIECES
    _assert_holds_the_hard_cases_as_holdout7(pieces, "holdout9", classical=False, per_font=6, detuned=10, wet=10)
    styles = [p.style for p in pieces]
    assert {"baroque", "romantic"} <= set(styles) and styles.count("folk song") >= 3
    assert sum(p.source.startswith("essenFolksong/") for p in pieces) >= 3
    band = [p for p in pieces if p.harmonise and p.drums]
    assert {"reel", "jig", "slip jig", "polka", "march", "waltz", "hornpipe"} <= {p.style for p in band}
    assert sum(p.mode_name in ("dorian", "mixolydian") for p in pieces) >= 5
    # slow and compound without drums: a 6/8 movement at a dotted-quarter pulse under 60
    assert any(p.compound and p.pulse_bpm < 60 and not p.drums for p in pieces)
    # cut time solo and with a band, 3/4 both slow (airs, chorales) and fast (a waltz with a kit)
    assert sum(p.time_signature == "2/2" and not p.drums for p in pieces) >= 3
    assert sum(p.time_signature == "3/4" and p.pulse_bpm <= 84 and not p.drums for p in pieces) >= 4
    # flat keys from three sources: chorales by the final bass, tunes and folk songs by K:
    keys = [p.parsed_key.canonical for p in pieces]
    assert keys.count("Eb major") >= 3 and keys.count("Bb major") >= 3


# ---- holdout10: built as holdout9, sharing nothing with holdout4 to holdout9 (docs/analysis.md "The holdout10 split")

def test_holdout10_shares_nothing_with_holdout4_to_holdout9() -> None:
    """The same rules as holdout6's to holdout9's, against all six earlier splits of real music: no score,
    O'Neill tune number, quartet movement folder, BWV number, chorale melody (the soprano's first six
    intervals) or tune title in common, and no chorale tune twice within the split."""
    earlier = (*HOLDOUT4_PIECES, *HOLDOUT5_PIECES, *HOLDOUT6_PIECES, *HOLDOUT7_PIECES, *HOLDOUT8_PIECES,
               *HOLDOUT9_PIECES)
    _assert_shares_nothing(HOLDOUT10_PIECES, earlier)
    # scores other than chorales: none (the chorales' BWV numbers are checked above)
    assert all(p.number or p.source.startswith("bach/bwv") for p in HOLDOUT10_PIECES)
    # the same tune under another number in another O'Neill file (1577-1624 repeats 1556-1624) is caught
    # by the number check: every O'Neill number of the split is new
    assert len({p.number for p in HOLDOUT10_PIECES if p.source.startswith("oneills1850/")}) == sum(
        p.source.startswith("oneills1850/") for p in HOLDOUT10_PIECES)


def _assert_key_tenth_pass_training_is_reserved_and_absent(pieces: tuple[PieceSpec, ...]) -> None:
    """The reservation rule read for the chorales and the abc tunes of ``pieces``, and the key tenth pass's
    training list (notes/key-tenth-pass-training.txt, the data of the model the key estimator uses) covered
    by that rule, none of it among ``pieces`` (holdout10 onwards)."""
    _listed, by_index = _key_training_reserved()
    bach = _bach_reserved()
    assert bach <= by_index  # the index rule is read for the chorales
    assert not {p.source for p in pieces} & bach
    assert all(p.number % 7 != 1 for p in pieces if p.source.endswith(".abc"))
    notes = Path(__file__).parents[1] / "notes" / "key-tenth-pass-training.txt"
    tenth = [(f[0], int(f[1]) if f[1].isdigit() else None) for f in
             (line.split("\t") for line in notes.read_text().splitlines() if not line.startswith("#"))
             if len(f) >= 2 and "/" in f[0]]
    assert len(tenth) == 975  # the file is read: the T10 corpus renders
    for source, number in tenth:
        if source.endswith(".abc"):
            assert number is not None and number % 7 == 1, (source, number)
        else:
            assert source in bach, source
    assert not {(s, n) for s, n in tenth} & {(p.source, p.number) for p in pieces}
    assert not {s for s, n in tenth if n is None} & {p.source for p in pieces}


def test_holdout10_holds_no_key_training_piece() -> None:
    """The same rule and lists as holdout7's to holdout9's. The rule, not the lists, is what excludes: an
    abc tune whose X: number n has n % 7 == 1 in any collection (Essen's included), and a score at index
    i % 7 == 1 in its composer's sorted corpus paths (Bach's chorales here). The key tenth pass's
    training list (notes/key-tenth-pass-training.txt) is covered by the rule: every corpus piece in it is
    reserved by it, so none can be in this split."""
    _assert_holds_no_key_training_piece(HOLDOUT10_PIECES)
    _assert_key_tenth_pass_training_is_reserved_and_absent(HOLDOUT10_PIECES)


def test_holdout10_holds_the_hard_cases() -> None:
    """A seventh blind split of real music, spread as holdout9: chorales, ten tunes with a band, solo tunes
    and airs, three German folk songs (Essen). No opening: no classical one is left (holdout9), and the
    two movements of Robert Schumann's quartet op. 41/1 that the rules accept begin with a rest, which
    test_holdout4_truth_is_consistent refuses. No chorale left (not in an earlier split, reserved, listed,
    sharing a BWV number or a melody) is in Eb major or C minor: three flats come from abc keys here."""
    pieces = HOLDOUT10_PIECES
    _assert_holds_the_hard_cases_as_holdout7(pieces, "holdout10", classical=False, flat3_score=False, per_font=6,
                                             detuned=10, wet=10)
    styles = [p.style for p in pieces]
    assert styles.count("folk song") >= 3
    assert sum(p.source.startswith("essenFolksong/") for p in pieces) >= 3
    band = [p for p in pieces if p.harmonise and p.drums]
    assert {"reel", "jig", "slip jig", "polka", "march", "waltz", "hornpipe", "air"} <= {p.style for p in band}
    assert sum(p.mode_name in ("dorian", "mixolydian") for p in pieces) >= 5
    # about half minor: 20 of 40
    assert sum(p.parsed_key.mode == "minor" for p in pieces) == 20 and len(pieces) == 40
    # slow and compound without drums: a 6/8 air at a dotted-quarter pulse of 60
    assert any(p.compound and p.pulse_bpm <= 60 and not p.drums for p in pieces)
    # cut time solo and with a band, 3/4 both slow (airs, chorales) and fast (a waltz with a kit)
    assert sum(p.time_signature == "2/2" and not p.drums for p in pieces) >= 3
    assert sum(p.time_signature == "3/4" and p.pulse_bpm <= 84 and not p.drums for p in pieces) >= 4
    # flat keys from three sources: chorales by the final bass, tunes and folk songs by K:; a minor key
    # with three flats (C minor) and a major one (Eb)
    keys = [p.parsed_key.canonical for p in pieces]
    assert keys.count("Bb major") >= 3 and {"Eb major", "C minor"} <= set(keys)


# ---- holdout11: built as holdout10, nothing of holdout4 to holdout10 (docs/analysis.md "The holdout11 split")

def test_holdout11_shares_nothing_with_holdout4_to_holdout10() -> None:
    """The same rules as holdout6's to holdout10's, against all seven earlier splits of real music: no score,
    O'Neill tune number, quartet movement folder, BWV number, chorale melody (the soprano's first six
    intervals) or tune title in common, and no chorale tune twice within the split."""
    earlier = (*HOLDOUT4_PIECES, *HOLDOUT5_PIECES, *HOLDOUT6_PIECES, *HOLDOUT7_PIECES, *HOLDOUT8_PIECES,
               *HOLDOUT9_PIECES, *HOLDOUT10_PIECES)
    _assert_shares_nothing(HOLDOUT11_PIECES, earlier)
    # scores other than chorales: none (the chorales' BWV numbers are checked above)
    assert all(p.number or p.source.startswith("bach/bwv") for p in HOLDOUT11_PIECES)
    # the same tune under another number in another O'Neill file (1577-1624 repeats 1556-1624) is caught
    # by the number check: every O'Neill number of the split is new, and none twice
    oneill = [p.number for p in HOLDOUT11_PIECES if p.source.startswith("oneills1850/")]
    assert len(set(oneill)) == len(oneill)
    # the same abc tune in two collections under one title (Aird's and O'Neill's "Green Sleeves") counts
    # once: no title twice within the split either
    titles = [p.name.split("_", 1)[1] for p in HOLDOUT11_PIECES]
    assert len(set(titles)) == len(titles)


def test_holdout11_holds_no_key_training_piece() -> None:
    """The same rule and lists as holdout7's to holdout10's. The rule, not the lists, is what excludes: an
    abc tune whose X: number n has n % 7 == 1 in any collection (Essen's included), and a score at index
    i % 7 == 1 in its composer's sorted corpus paths (Bach's chorales here). The key tenth pass's
    training list (notes/key-tenth-pass-training.txt, which the eleventh pass's model was trained on and
    the key fourteenth pass uses) is covered by the rule: every corpus piece in it is reserved by it, so
    none can be in this split."""
    _assert_holds_no_key_training_piece(HOLDOUT11_PIECES)
    _assert_key_tenth_pass_training_is_reserved_and_absent(HOLDOUT11_PIECES)


def test_holdout11_holds_the_hard_cases() -> None:
    """An eighth blind split of real music, spread as holdout10: chorales, ten tunes with a band, solo tunes,
    airs and a planxty, three German folk songs (Essen). No opening: none is left (holdout9, holdout10).
    Three flats from a chorale again (BWV 329 in Eb major, by its final bass) and from an Essen song; no
    C minor piece is left that the rules accept."""
    pieces = HOLDOUT11_PIECES
    _assert_holds_the_hard_cases_as_holdout7(pieces, "holdout11", classical=False, per_font=6, detuned=12, wet=10)
    styles = [p.style for p in pieces]
    assert styles.count("folk song") >= 3
    assert sum(p.source.startswith("essenFolksong/") for p in pieces) >= 3
    assert sum(p.source.startswith("airdsAirs/") for p in pieces) >= 6  # Aird's Scottish tunes, not only O'Neill's
    band = [p for p in pieces if p.harmonise and p.drums]
    assert {"reel", "jig", "slip jig", "polka", "march", "waltz", "hornpipe", "air"} <= {p.style for p in band}
    assert sum(p.mode_name == "dorian" for p in pieces) >= 2 and sum(p.mode_name == "mixolydian" for p in pieces) >= 2
    # about half minor: 20 of 40, a sharp minor key with three sharps (F# minor) among them
    assert sum(p.parsed_key.mode == "minor" for p in pieces) == 20 and len(pieces) == 40
    # slow and compound without drums: a 6/8 air at a dotted-quarter pulse of 60
    assert any(p.compound and p.pulse_bpm <= 60 and not p.drums for p in pieces)
    # cut time solo and with a band, 3/4 both slow (airs, chorales) and fast (a waltz with a kit)
    assert sum(p.time_signature == "2/2" and not p.drums for p in pieces) >= 3
    assert sum(p.time_signature == "3/4" and p.pulse_bpm <= 84 and not p.drums for p in pieces) >= 4
    # flat keys from three sources: chorales by the final bass, tunes and folk songs by K:; three flats
    # from a chorale (Eb major) and an Essen song, three sharps in major (A) and minor (F#)
    keys = [p.parsed_key.canonical for p in pieces]
    assert keys.count("Bb major") >= 3 and keys.count("Eb major") >= 2 and {"F# minor", "A major"} <= set(keys)
    assert any(p.style == "chorale" and p.parsed_key.canonical == "Eb major" for p in pieces)
    assert sum(p.style == "chorale" and p.meter == (3, 4) for p in pieces) >= 2


# ---- holdout12: built as holdout11, nothing of holdout4 to holdout11 (docs/analysis.md "The holdout12 split")

def _norm_title(t: str | None) -> str:
    """A tune title as every title check here compares them: lower case, "the " dropped, letters only."""
    return "".join(ch for ch in (t or "").lower().replace("the ", "") if ch.isalpha())


def _assert_shares_nothing_and_titles_new(pieces: tuple[PieceSpec, ...], earlier: tuple[PieceSpec, ...]) -> None:
    """holdout12's and holdout13's exclusions: `_assert_shares_nothing`, every score numbered or a chorale,
    and no O'Neill number, name or tune title (the score's own T: field) twice or from an earlier split."""
    _assert_shares_nothing(pieces, earlier)
    # scores other than chorales: none (the chorales' BWV numbers are checked above)
    assert all(p.number or p.source.startswith("bach/bwv") for p in pieces)
    # an O'Neill tune kept in two of the book's files (1556-1624 and 1577-1624, 0732-0758's two
    # transcriptions) has one number in both: every O'Neill number of the split is new, and none twice
    oneill = [p.number for p in pieces if p.source.startswith("oneills1850/")]
    assert len(set(oneill)) == len(oneill)
    titles = [p.name.split("_", 1)[1] for p in pieces]
    assert len(set(titles)) == len(titles)
    # the tune's own title (the T: field), not only the name given here, is new and not twice: the same
    # tune in another collection or file under its title is another setting of an earlier split's tune
    import music21

    def title(p: PieceSpec) -> str:
        sc = music21.corpus.parse(p.source, number=p.number)
        return _norm_title(sc.metadata.title)
    abc = lambda pieces: [p for p in pieces if p.source.endswith(".abc")]  # noqa: E731
    own = [title(p) for p in abc(pieces)]
    assert all(own) and len(set(own)) == len(own)
    assert not set(own) & {title(p) for p in abc(earlier)}


def test_holdout12_shares_nothing_with_holdout4_to_holdout11() -> None:
    """The same rules as holdout6's to holdout11's, against all eight earlier splits of real music: no score,
    O'Neill tune number, quartet movement folder, BWV number, chorale melody (the soprano's first six
    intervals) or tune title in common, and no chorale tune twice within the split."""
    earlier = (*HOLDOUT4_PIECES, *HOLDOUT5_PIECES, *HOLDOUT6_PIECES, *HOLDOUT7_PIECES, *HOLDOUT8_PIECES,
               *HOLDOUT9_PIECES, *HOLDOUT10_PIECES, *HOLDOUT11_PIECES)
    _assert_shares_nothing_and_titles_new(HOLDOUT12_PIECES, earlier)


def test_holdout12_holds_no_key_training_piece() -> None:
    """The same rule and lists as holdout11's: an abc tune whose X: number n has n % 7 == 1 in any collection
    (Essen's included), and a score at index i % 7 == 1 in its composer's sorted corpus paths (Bach's
    chorales here), are reserved; the key tenth pass's training list (notes/key-tenth-pass-training.txt) is
    covered by the rule (asserted), so none of it can be in this split."""
    _assert_holds_no_key_training_piece(HOLDOUT12_PIECES)
    _assert_key_tenth_pass_training_is_reserved_and_absent(HOLDOUT12_PIECES)


def test_holdout12_holds_the_hard_cases() -> None:
    """A ninth blind split of real music, spread as holdout11: chorales, ten tunes with a band, solo tunes,
    airs and a planxty, three German folk songs (Essen). No opening (none is left) and no chorale in three
    flats (none is left that the rules and exclusions accept: no chorale read by its final bass with a
    three-flat signature passes them), so three flats come from an Essen song; three and four sharps
    from chorales (A major, E major)."""
    pieces = HOLDOUT12_PIECES
    _assert_holds_the_hard_cases_as_holdout7(pieces, "holdout12", classical=False, flat3_score=False,
                                             per_font=6, detuned=12, wet=10)
    styles = [p.style for p in pieces]
    assert styles.count("folk song") >= 3 and styles.count("chorale") == 8
    assert sum(p.source.startswith("essenFolksong/") for p in pieces) >= 3
    assert sum(p.source.startswith("airdsAirs/") for p in pieces) >= 6  # Aird's Scottish tunes, not only O'Neill's
    band = [p for p in pieces if p.harmonise and p.drums]
    assert len(band) == 10
    assert {"reel", "jig", "slip jig", "polka", "march", "waltz", "hornpipe", "air"} <= {p.style for p in band}
    assert sum(p.mode_name == "dorian" for p in pieces) >= 2 and sum(p.mode_name == "mixolydian" for p in pieces) >= 2
    # about half minor: 19 of 40
    assert sum(p.parsed_key.mode == "minor" for p in pieces) == 19 and len(pieces) == 40
    # slow and compound without drums: a 6/8 air at a dotted-quarter pulse of 60
    assert any(p.compound and p.pulse_bpm <= 60 and not p.drums for p in pieces)
    # cut time solo and with a band, 3/4 both slow (airs, chorales) and fast (a waltz with a kit)
    assert sum(p.time_signature == "2/2" and not p.drums for p in pieces) >= 4
    assert sum(p.time_signature == "3/4" and p.pulse_bpm <= 84 and not p.drums for p in pieces) >= 4
    # flat keys from three sources (chorales by the final bass, tunes and folk songs by K:), three flats
    # from an Essen song; sharp keys in major and minor, three and four sharps from chorales
    keys = [p.parsed_key.canonical for p in pieces]
    assert keys.count("Bb major") >= 3 and "Eb major" in keys and {"F major", "D minor", "G minor"} <= set(keys)
    assert {"A major", "E major", "B minor", "E minor"} <= set(keys)
    sigs = [derive(p).extra["key_rule"] for p in pieces if p.style == "chorale"]
    assert any(" 3 sharps" in r for r in sigs) and any(" 4 sharps" in r for r in sigs)
    assert sum(p.style == "chorale" and p.meter == (3, 4) for p in pieces) >= 2
    meters = [p.time_signature for p in pieces]
    assert {m: meters.count(m) for m in set(meters)} == {"4/4": 11, "2/2": 7, "6/8": 8, "3/4": 6, "9/8": 4, "2/4": 4}



# ---- holdout13: built as holdout12, nothing of holdout4 to holdout12 (docs/analysis.md "The holdout13 split")

def test_holdout13_shares_nothing_with_holdout4_to_holdout12() -> None:
    """The same rules as holdout12's, against all nine earlier splits of real music: no score, O'Neill tune
    number, quartet movement folder, BWV number, chorale melody (the soprano's first six intervals) or tune
    title (as named here and as the score's own T: field) in common, and no chorale tune, O'Neill number or
    title twice within the split."""
    earlier = (*HOLDOUT4_PIECES, *HOLDOUT5_PIECES, *HOLDOUT6_PIECES, *HOLDOUT7_PIECES, *HOLDOUT8_PIECES,
               *HOLDOUT9_PIECES, *HOLDOUT10_PIECES, *HOLDOUT11_PIECES, *HOLDOUT12_PIECES)
    # every earlier corpus split is compared (holdout14 comes after it)
    assert scores.CORPUS_PIECES[:len(earlier) + len(HOLDOUT13_PIECES)] == (*earlier, *HOLDOUT13_PIECES)
    _assert_shares_nothing_and_titles_new(HOLDOUT13_PIECES, earlier)


def test_holdout13_holds_no_key_training_piece() -> None:
    """The same rule and lists as holdout12's: an abc tune whose X: number n has n % 7 == 1 in any collection
    (Essen's included), and a score at index i % 7 == 1 in its composer's sorted corpus paths (Bach's
    chorales here), are reserved; the key tenth pass's training list (notes/key-tenth-pass-training.txt) is
    covered by the rule (asserted), so none of it can be in this split."""
    _assert_holds_no_key_training_piece(HOLDOUT13_PIECES)
    _assert_key_tenth_pass_training_is_reserved_and_absent(HOLDOUT13_PIECES)


def test_holdout13_holds_the_hard_cases() -> None:
    """A tenth blind split of real music, spread as holdout12: chorales, ten tunes with a band, solo tunes,
    airs and a planxty, three German folk songs (Essen). No opening (none is left) and no chorale in three
    flats (none is left, holdout12's builder found), so three flats come from an Essen song; three sharps
    from a chorale (A major)."""
    pieces = HOLDOUT13_PIECES
    assert scores.LAST_NOTE_RULE_SPLITS >= {"holdout13"}
    _assert_holds_the_hard_cases_as_holdout7(pieces, "holdout13", classical=False, flat3_score=False,
                                             per_font=6, detuned=12, wet=10)
    styles = [p.style for p in pieces]
    assert styles.count("folk song") >= 3 and styles.count("chorale") == 8
    assert sum(p.source.startswith("essenFolksong/") for p in pieces) >= 3
    assert sum(p.source.startswith("airdsAirs/") for p in pieces) >= 6  # Aird's Scottish tunes, not only O'Neill's
    band = [p for p in pieces if p.harmonise and p.drums]
    assert len(band) == 10
    assert {"reel", "jig", "slip jig", "polka", "march", "waltz", "hornpipe", "air"} <= {p.style for p in band}
    assert sum(p.mode_name == "dorian" for p in pieces) >= 2 and sum(p.mode_name == "mixolydian" for p in pieces) >= 2
    # about half minor: 20 of 40
    assert sum(p.parsed_key.mode == "minor" for p in pieces) == 20 and len(pieces) == 40
    # slow and compound without drums: a 6/8 air at a dotted-quarter pulse of 60
    assert any(p.compound and p.pulse_bpm <= 60 and not p.drums for p in pieces)
    # cut time solo and with a band, 3/4 both slow (airs, chorales) and fast (a waltz with a kit)
    assert sum(p.time_signature == "2/2" and not p.drums for p in pieces) >= 4
    assert sum(p.time_signature == "3/4" and p.pulse_bpm <= 84 and not p.drums for p in pieces) >= 4
    # flat keys from three sources (chorales by the final bass, tunes and folk songs by K:), three flats
    # from an Essen song; sharp keys in major and minor, three sharps from a chorale
    keys = [p.parsed_key.canonical for p in pieces]
    assert keys.count("Bb major") >= 2 and "Eb major" in keys and {"F major", "D minor", "G minor"} <= set(keys)
    assert {"A major", "D major", "B minor", "E minor"} <= set(keys)
    assert sum(k in ("F major", "Bb major", "Eb major", "D minor", "G minor") for k in keys) >= 14
    sigs = [derive(p).extra["key_rule"] for p in pieces if p.style == "chorale"]
    assert any(" 3 sharps" in r for r in sigs) and any("-2 sharps" in r for r in sigs)
    assert sum(p.style == "chorale" and p.meter == (3, 4) for p in pieces) >= 2
    meters = [p.time_signature for p in pieces]
    assert {m: meters.count(m) for m in set(meters)} == {"4/4": 11, "2/2": 7, "6/8": 8, "3/4": 6, "9/8": 4, "2/4": 4}


# ---- holdout14: built as holdout13, nothing of holdout4 to holdout13 (docs/analysis.md "The holdout14 split")

def test_holdout14_shares_nothing_with_holdout4_to_holdout13() -> None:
    """The same rules as holdout13's, against all ten earlier splits of real music: no score, O'Neill tune
    number, quartet movement folder, BWV number, chorale melody (the soprano's first six intervals) or tune
    title (as named here and as the score's own T: field) in common, and no chorale tune, O'Neill number or
    title twice within the split."""
    earlier = (*HOLDOUT4_PIECES, *HOLDOUT5_PIECES, *HOLDOUT6_PIECES, *HOLDOUT7_PIECES, *HOLDOUT8_PIECES,
               *HOLDOUT9_PIECES, *HOLDOUT10_PIECES, *HOLDOUT11_PIECES, *HOLDOUT12_PIECES, *HOLDOUT13_PIECES)
    # every earlier corpus split is compared (holdout15 comes after it)
    assert scores.CORPUS_PIECES[:len(earlier) + len(HOLDOUT14_PIECES)] == (*earlier, *HOLDOUT14_PIECES)
    _assert_shares_nothing_and_titles_new(HOLDOUT14_PIECES, earlier)


def test_holdout14_holds_no_key_training_piece() -> None:
    """The same rule and lists as holdout13's: an abc tune whose X: number n has n % 7 == 1 in any collection
    (Essen's included), and a score at index i % 7 == 1 in its composer's sorted corpus paths (Bach's
    chorales here), are reserved (for the key designs and for the tempo training built on the same rule);
    the key tenth pass's training list (notes/key-tenth-pass-training.txt) is covered by the rule
    (asserted), so none of it can be in this split."""
    _assert_holds_no_key_training_piece(HOLDOUT14_PIECES)
    _assert_key_tenth_pass_training_is_reserved_and_absent(HOLDOUT14_PIECES)


def test_holdout14_holds_the_hard_cases() -> None:
    """An eleventh blind split of real music, spread as holdout13: chorales, ten tunes with a band, solo tunes
    and airs, three German folk songs (Essen). No opening and no chorale in three flats (none is left, as
    holdout12's and holdout13's builders found), so three flats come from an Essen song; three sharps from a
    chorale (A major). No 9/8: holdout13 took the last 9/8 tunes that pass the rules (every 9/8 tune left in
    O'Neill's, Aird's and the Essen books was read again: each fails the last-note rule, the meter, whole bars,
    10 s or the scale), so the band's slip jig is a strathspey in 4/4 and the solo slip jigs a reel in 2/2, a
    jig in 6/8 and an air in 3/4. One chorale in 3/4: the only one left that passes the rules (holdout13 had two)."""
    pieces = HOLDOUT14_PIECES
    assert scores.LAST_NOTE_RULE_SPLITS >= {"holdout14"}
    _assert_holds_the_hard_cases_as_holdout7(pieces, "holdout14", classical=False, flat3_score=False,
                                             nine_eight=False, per_font=6, detuned=12, wet=10)
    styles = [p.style for p in pieces]
    assert styles.count("folk song") >= 3 and styles.count("chorale") == 8
    assert sum(p.source.startswith("essenFolksong/") for p in pieces) >= 3
    assert sum(p.source.startswith("airdsAirs/") for p in pieces) >= 6  # Aird's Scottish tunes, not only O'Neill's
    band = [p for p in pieces if p.harmonise and p.drums]
    assert len(band) == 10
    assert {"reel", "jig", "strathspey", "polka", "march", "waltz", "hornpipe", "air"} <= {p.style for p in band}
    assert sum(p.mode_name == "dorian" for p in pieces) >= 2 and sum(p.mode_name == "mixolydian" for p in pieces) >= 2
    # about half minor: 20 of 40
    assert sum(p.parsed_key.mode == "minor" for p in pieces) == 20 and len(pieces) == 40
    # slow and compound without drums: a 6/8 air at a dotted-quarter pulse of 60
    assert any(p.compound and p.pulse_bpm <= 60 and not p.drums for p in pieces)
    # cut time solo and with a band, 3/4 both slow (airs, a chorale) and fast (a waltz with a kit)
    assert sum(p.time_signature == "2/2" and not p.drums for p in pieces) >= 4
    assert sum(p.time_signature == "2/2" and p.drums for p in pieces) >= 2
    assert sum(p.time_signature == "3/4" and p.pulse_bpm <= 84 and not p.drums for p in pieces) >= 4
    # flat keys from three sources (chorales by the final bass, tunes and folk songs by K:), three flats
    # from an Essen song; sharp keys in major and minor, three sharps from a chorale
    keys = [p.parsed_key.canonical for p in pieces]
    assert keys.count("Bb major") >= 1 and "Eb major" in keys and {"F major", "D minor", "G minor"} <= set(keys)
    assert {"A major", "D major", "B minor", "E minor"} <= set(keys)
    assert sum(k in ("F major", "Bb major", "Eb major", "D minor", "G minor") for k in keys) >= 14
    sigs = [derive(p).extra["key_rule"] for p in pieces if p.style == "chorale"]
    assert any(" 3 sharps" in r for r in sigs) and any("-2 sharps" in r for r in sigs)
    assert sum(p.style == "chorale" and p.meter == (3, 4) for p in pieces) >= 1
    meters = [p.time_signature for p in pieces]
    assert {m: meters.count(m) for m in set(meters)} == {"4/4": 12, "2/2": 8, "6/8": 9, "3/4": 7, "2/4": 4}

# ---- holdout15: built as holdout14, nothing of holdout4 to holdout14 (docs/analysis.md "The holdout15 split")

def test_holdout15_shares_nothing_with_holdout4_to_holdout14() -> None:
    """The same rules as holdout14's, against all eleven earlier splits of real music: no score, O'Neill tune
    number, quartet movement folder, BWV number, chorale melody (the soprano's first six intervals) or tune
    title (as named here and as the score's own T: field) in common, and no chorale tune, O'Neill number or
    title twice within the split."""
    earlier = (*HOLDOUT4_PIECES, *HOLDOUT5_PIECES, *HOLDOUT6_PIECES, *HOLDOUT7_PIECES, *HOLDOUT8_PIECES,
               *HOLDOUT9_PIECES, *HOLDOUT10_PIECES, *HOLDOUT11_PIECES, *HOLDOUT12_PIECES, *HOLDOUT13_PIECES,
               *HOLDOUT14_PIECES)
    # every earlier corpus split is compared (holdout16 comes after it)
    assert scores.CORPUS_PIECES[:len(earlier) + len(HOLDOUT15_PIECES)] == (*earlier, *HOLDOUT15_PIECES)
    _assert_shares_nothing_and_titles_new(HOLDOUT15_PIECES, earlier)


def test_holdout15_holds_no_key_training_piece() -> None:
    """The same rule and lists as holdout14's: an abc tune whose X: number n has n % 7 == 1 in any collection
    (Essen's included), and a score at index i % 7 == 1 in its composer's sorted corpus paths (Bach's
    chorales here), are reserved (for the key designs and for the tempo training built on the same rule);
    the key tenth pass's training list (notes/key-tenth-pass-training.txt) is covered by the rule
    (asserted), so none of it can be in this split."""
    _assert_holds_no_key_training_piece(HOLDOUT15_PIECES)
    _assert_key_tenth_pass_training_is_reserved_and_absent(HOLDOUT15_PIECES)


def _abc_t_fields(m21, source: str, number: int) -> list[str]:
    """Every T: field of tune X: ``number`` in the corpus file ``source``, as written there."""
    import re

    text = Path(m21.corpus.getWork(source)).read_text(errors="replace")
    for block in re.split(r"(?m)^(?=X:)", text):
        mx = re.match(r"X:\s*(\d+)", block)
        if mx and int(mx.group(1)) == number:
            return re.findall(r"(?m)^T:\s*(.*?)\s*$", block)
    raise AssertionError(f"{source}: no tune X:{number}")


def _tempo_training_titles() -> set[str]:
    """The normalised titles (every T: field, read from the corpus) of the tempo network's training pieces
    (notes/tempo-thirteenth-pass-training.txt: ``piece`` lines, "source#X: number"; Bach's chorales there
    have no number and no title)."""
    import music21

    notes = Path(__file__).parents[1] / "notes" / "tempo-thirteenth-pass-training.txt"
    rows = [line.split("\t") for line in notes.read_text().splitlines() if not line.startswith("#")]
    pieces = [r[1].split("#") for r in rows if len(r) >= 2 and r[0] == "piece"]
    abc = [(s, int(n)) for s, n in pieces if s.endswith(".abc") and n.isdigit()]
    assert len(pieces) == 963 and len(abc) == 907  # the file is read: every training piece, its abc tunes
    titles = {_norm_title(t) for s, n in abc for t in _abc_t_fields(music21, s, n)}
    titles.discard("")
    return titles


def test_holdout15_holds_no_tempo_training_title() -> None:
    """notes/holdout15-declaration.md: no tune whose title, as named here (the name after its style) or as any
    of its T: fields (and music21's title), normalised as the other title checks normalise, is the title of a
    tune the tempo network trained on (notes/tempo-thirteenth-pass-training.txt, every T: field of every
    training tune read from the corpus). The check would have caught holdout14's two such pieces."""
    import music21

    training = _tempo_training_titles()
    assert {"lochness", "pulseofmyheart"} <= training  # holdout14's reel_lochness, air_pulse_of_my_heart
    named = {p.name: _norm_title(p.name.split("_", 1)[1]) for p in HOLDOUT15_PIECES}
    assert not {n for n, t in named.items() if t in training}
    for p in HOLDOUT15_PIECES:
        if not p.source.endswith(".abc"):
            continue
        own = {_norm_title(t) for t in _abc_t_fields(music21, p.source, p.number)}
        own.add(_norm_title(music21.corpus.parse(p.source, number=p.number).metadata.title))
        assert not own & training, (p.name, own & training)
    by = {p.name: p for p in HOLDOUT14_PIECES}
    assert _norm_title(by["reel_lochness"].name.split("_", 1)[1]) in training  # as named
    assert {_norm_title(t) for t in _abc_t_fields(music21, by["air_pulse_of_my_heart"].source,
                                                   by["air_pulse_of_my_heart"].number)} & training  # as T:


def test_holdout15_holds_the_hard_cases() -> None:
    """A twelfth blind split of real music, spread as holdout14: chorales, ten tunes with a band, solo tunes
    and airs, three German folk songs (Essen). No opening and no chorale in three flats (none is left), so
    three flats come from an Essen song; three sharps from a chorale (A major). No 9/8 (none left that passes
    the rules, see holdout14's test). No chorale in 3/4 is left that passes the rules (holdout14 took the
    last), so all eight chorales are in 4/4 and 3/4 comes from airs, the waltz and an Essen song. Eight tunes
    in a church mode (two dorian, four mixolydian, one lydian, one phrygian), read apart for key
    (notes/holdout15-declaration.md). Only three 2/2 minor tunes pass the rules: a reel and a set dance
    with the band, a strathspey solo; the other 2/2 reels are major or modal."""
    pieces = HOLDOUT15_PIECES
    assert scores.LAST_NOTE_RULE_SPLITS >= {"holdout15"}
    _assert_holds_the_hard_cases_as_holdout7(pieces, "holdout15", classical=False, flat3_score=False,
                                             nine_eight=False, per_font=6, detuned=14, wet=12)
    styles = [p.style for p in pieces]
    assert styles.count("folk song") == 3 and styles.count("chorale") == 8
    assert sum(p.source.startswith("essenFolksong/") for p in pieces) == 3
    assert sum(p.source.startswith("airdsAirs/") for p in pieces) >= 6  # Aird's Scottish tunes, not only O'Neill's
    band = [p for p in pieces if p.harmonise and p.drums]
    assert len(band) == 10
    assert {"reel", "jig", "strathspey", "polka", "march", "waltz", "hornpipe", "air"} <= {p.style for p in band}
    modes = [p.mode_name for p in pieces]
    assert {m: modes.count(m) for m in set(modes) if m} == {"dorian": 2, "mixolydian": 4, "lydian": 1,
                                                           "phrygian": 1}
    assert sum(p.parsed_key.mode == "minor" for p in pieces) == 18 and len(pieces) == 40
    # slow and compound without drums: a 6/8 air at a dotted-quarter pulse of 60
    assert any(p.compound and p.pulse_bpm <= 60 and not p.drums for p in pieces)
    # cut time solo and with a band, 3/4 both slow (airs) and fast (a waltz with a kit)
    assert sum(p.time_signature == "2/2" and not p.drums for p in pieces) >= 4
    assert sum(p.time_signature == "2/2" and p.drums for p in pieces) >= 2
    assert sum(p.time_signature == "3/4" and p.pulse_bpm <= 84 and not p.drums for p in pieces) >= 4
    # flat keys from three sources (chorales by the final bass, tunes and folk songs by K:), three flats
    # from an Essen song; sharp keys in major and minor, three sharps from a chorale
    keys = [p.parsed_key.canonical for p in pieces]
    assert {"Bb major", "Eb major", "F major", "D minor", "G minor"} <= set(keys)
    assert {"A major", "D major", "E minor"} <= set(keys)
    assert sum(k in ("F major", "Bb major", "Eb major", "D minor", "G minor") for k in keys) >= 14
    sigs = [derive(p).extra["key_rule"] for p in pieces if p.style == "chorale"]
    assert any(" 3 sharps" in r for r in sigs) and any("-2 sharps" in r for r in sigs)
    assert all(p.meter == (4, 4) for p in pieces if p.style == "chorale")
    meters = [p.time_signature for p in pieces]
    assert {m: meters.count(m) for m in set(meters)} == {"4/4": 13, "2/2": 8, "6/8": 9, "3/4": 6, "2/4": 4}


# ---- holdout16: built as holdout15, nothing of holdout4 to holdout15 (docs/analysis.md "The holdout16 split")

def test_holdout16_shares_nothing_with_holdout4_to_holdout15() -> None:
    """The same rules as holdout15's, against all twelve earlier splits of real music: no score, O'Neill tune
    number, quartet movement folder, BWV number, chorale melody (the soprano's first six intervals) or tune
    title (as named here and as the score's own T: field) in common, and no chorale tune, O'Neill number or
    title twice within the split."""
    earlier = (*HOLDOUT4_PIECES, *HOLDOUT5_PIECES, *HOLDOUT6_PIECES, *HOLDOUT7_PIECES, *HOLDOUT8_PIECES,
               *HOLDOUT9_PIECES, *HOLDOUT10_PIECES, *HOLDOUT11_PIECES, *HOLDOUT12_PIECES, *HOLDOUT13_PIECES,
               *HOLDOUT14_PIECES, *HOLDOUT15_PIECES)
    # every earlier corpus split is compared (holdout17 comes after it)
    assert scores.CORPUS_PIECES[:len(earlier) + len(HOLDOUT16_PIECES)] == (*earlier, *HOLDOUT16_PIECES)
    _assert_shares_nothing_and_titles_new(HOLDOUT16_PIECES, earlier)


def test_holdout16_holds_no_key_training_piece() -> None:
    """The same rule and lists as holdout15's (abc tunes with X: number n % 7 == 1 in any collection, Essen's
    included; a score at index i % 7 == 1 in its composer's sorted corpus paths; the key tenth pass's list
    covered by the rule), and the key sixteenth pass's training list (notes/key-sixteenth-pass-training.txt,
    959 corpus pieces) is covered by the same rule (asserted) and none of it is in this split."""
    _assert_holds_no_key_training_piece(HOLDOUT16_PIECES)
    _assert_key_tenth_pass_training_is_reserved_and_absent(HOLDOUT16_PIECES)
    notes = Path(__file__).parents[1] / "notes" / "key-sixteenth-pass-training.txt"
    rows = [line.split("\t") for line in notes.read_text().splitlines() if not line.startswith("#")]
    listed = [r[1].partition("#") for r in rows if len(r) >= 2 and r[0] == "piece"]
    sixteenth = [(s, int(n) if n else None) for s, _, n in listed]
    assert len(sixteenth) == 959  # the file is read: every corpus piece of the training list
    bach = _bach_reserved()
    for s, n in sixteenth:  # reserved by the rule
        if s.endswith(".abc"):
            assert n is not None and n % 7 == 1, (s, n)
        else:
            assert s in bach, s
    assert not set(sixteenth) & {(p.source, p.number) for p in HOLDOUT16_PIECES}
    assert not {s for s, n in sixteenth if n is None} & {p.source for p in HOLDOUT16_PIECES}


def test_holdout16_holds_no_tempo_training_title() -> None:
    """notes/holdout16-declaration.md, as holdout15's test: no tune whose title, as named here (the name after
    its style) or as any of its T: fields (and music21's title), normalised as the other title checks
    normalise, is the title of a tune the tempo network trained on (notes/tempo-thirteenth-pass-training.txt)."""
    import music21

    training = _tempo_training_titles()
    assert {"lochness", "pulseofmyheart"} <= training  # the check would catch holdout14's two such pieces
    named = {p.name: _norm_title(p.name.split("_", 1)[1]) for p in HOLDOUT16_PIECES}
    assert not {n for n, t in named.items() if t in training}
    for p in HOLDOUT16_PIECES:
        if not p.source.endswith(".abc"):
            continue
        own = {_norm_title(t) for t in _abc_t_fields(music21, p.source, p.number)}
        own.add(_norm_title(music21.corpus.parse(p.source, number=p.number).metadata.title))
        assert not own & training, (p.name, own & training)


def test_holdout16_holds_the_hard_cases() -> None:
    """A sixteenth blind split of real music, spread as holdout15: eight chorales, ten tunes with a band, solo
    tunes and airs, three German folk songs (Essen). No opening and no chorale in three flats (none is left), so
    three flats come from an Essen song; three sharps from a chorale (A major). No 9/8, no 12/8, no chorale in
    3/4 (none left that passes the rules, see holdout14's and holdout15's tests). New: no minor or modal tune in
    2/2 is left that passes the rules (holdout15 used the last five), so the seven 2/2 pieces (three with the
    band, four solo) are major and the minor and modal tunes come in 4/4, 6/8, 3/4 and 2/4. Eight tunes in a
    church mode (three dorian, four mixolydian, one phrygian), read apart for key
    (notes/holdout16-declaration.md)."""
    pieces = HOLDOUT16_PIECES
    assert scores.LAST_NOTE_RULE_SPLITS >= {"holdout16"}
    _assert_holds_the_hard_cases_as_holdout7(pieces, "holdout16", classical=False, flat3_score=False,
                                             nine_eight=False, per_font=6, detuned=14, wet=12)
    styles = [p.style for p in pieces]
    assert styles.count("folk song") == 3 and styles.count("chorale") == 8
    assert sum(p.source.startswith("essenFolksong/") for p in pieces) == 3
    assert sum(p.source.startswith("airdsAirs/") for p in pieces) >= 6  # Aird's Scottish tunes, not only O'Neill's
    band = [p for p in pieces if p.harmonise and p.drums]
    assert len(band) == 10
    assert {"reel", "jig", "strathspey", "polka", "march", "waltz", "hornpipe", "air", "set dance"} <= {
        p.style for p in band}
    modes = [p.mode_name for p in pieces]
    assert {m: modes.count(m) for m in set(modes) if m} == {"dorian": 3, "mixolydian": 4, "phrygian": 1}
    assert sum(p.parsed_key.mode == "minor" for p in pieces) == 19 and len(pieces) == 40
    assert all(p.parsed_key.mode == "major" and not p.mode_name for p in pieces if p.time_signature == "2/2")
    # slow and compound without drums: 6/8 airs at a dotted-quarter pulse of 60
    assert any(p.compound and p.pulse_bpm <= 60 and not p.drums for p in pieces)
    # cut time solo and with a band, 3/4 both slow (airs) and fast (a waltz with a kit)
    assert sum(p.time_signature == "2/2" and not p.drums for p in pieces) >= 4
    assert sum(p.time_signature == "2/2" and p.drums for p in pieces) >= 3
    assert sum(p.time_signature == "3/4" and p.pulse_bpm <= 84 and not p.drums for p in pieces) >= 3
    # flat keys from three sources (chorales by the final bass, tunes and folk songs by K:), three flats
    # from an Essen song; sharp keys in major and minor, three sharps from a chorale
    keys = [p.parsed_key.canonical for p in pieces]
    assert {"Bb major", "Eb major", "F major", "D minor", "G minor"} <= set(keys)
    assert {"A major", "D major", "E minor", "B minor"} <= set(keys)
    assert sum(k in ("F major", "Bb major", "Eb major", "D minor", "G minor") for k in keys) == 11
    sigs = [derive(p).extra["key_rule"] for p in pieces if p.style == "chorale"]
    assert any(" 3 sharps" in r for r in sigs) and any("-2 sharps" in r for r in sigs)
    assert all(p.meter == (4, 4) for p in pieces if p.style == "chorale")
    meters = [p.time_signature for p in pieces]
    assert {m: meters.count(m) for m in set(meters)} == {"4/4": 14, "2/2": 7, "6/8": 10, "3/4": 5, "2/4": 4}
    # the render conditions slot by slot as holdout15's (soundfont, detuning, wet render, mix)
    def slot(p: PieceSpec) -> tuple:
        return p.soundfont, p.tuning_cents, p.effects, p.mix, p.harmonise, p.drums
    assert [slot(p) for p in pieces] == [slot(p) for p in HOLDOUT15_PIECES]


# ---- holdout17: built as holdout16, nothing of holdout4 to holdout16 (docs/analysis.md "The holdout17 split")

def test_holdout17_shares_nothing_with_holdout4_to_holdout16() -> None:
    """The same rules as holdout16's, against all thirteen earlier splits of real music: no score, O'Neill tune
    number, quartet movement folder, BWV number, chorale melody (the soprano's first six intervals) or tune
    title (as named here and as the score's own T: field) in common, and no chorale tune, O'Neill number or
    title twice within the split."""
    earlier = (*HOLDOUT4_PIECES, *HOLDOUT5_PIECES, *HOLDOUT6_PIECES, *HOLDOUT7_PIECES, *HOLDOUT8_PIECES,
               *HOLDOUT9_PIECES, *HOLDOUT10_PIECES, *HOLDOUT11_PIECES, *HOLDOUT12_PIECES, *HOLDOUT13_PIECES,
               *HOLDOUT14_PIECES, *HOLDOUT15_PIECES, *HOLDOUT16_PIECES)
    assert scores.CORPUS_PIECES == (*earlier, *HOLDOUT17_PIECES)  # every earlier corpus split is compared
    _assert_shares_nothing_and_titles_new(HOLDOUT17_PIECES, earlier)
    # no two settings of one tune under other titles (a T: field of one is another's title, or the song's
    # other name): Aird's "Hopeton House" is also "Sweet Molly", so Aird's "Sweet Mally" is not here, and
    # Boehme's "Treu und herzinniglich" is "Robin Adair", the tune of "Aileen Aroon", so it is not here either
    sources = {(p.source, p.number) for p in HOLDOUT17_PIECES}
    assert ("airdsAirs/book1.abc", 125) not in sources and ("essenFolksong/boehme20.abc", 240) not in sources
    assert ("airdsAirs/book2.abc", 287) not in sources  # Aird's setting of the Haydn song taken here


def test_holdout17_holds_no_key_training_piece() -> None:
    """The same rule and lists as holdout16's (abc tunes with X: number n % 7 == 1 in any collection, Essen's
    included; a score at index i % 7 == 1 in its composer's sorted corpus paths; the key tenth pass's list
    covered by the rule), and the key sixteenth pass's training list (notes/key-sixteenth-pass-training.txt,
    959 corpus pieces) covered by the same rule (asserted) and none of it in this split."""
    _assert_holds_no_key_training_piece(HOLDOUT17_PIECES)
    _assert_key_tenth_pass_training_is_reserved_and_absent(HOLDOUT17_PIECES)
    notes = Path(__file__).parents[1] / "notes" / "key-sixteenth-pass-training.txt"
    rows = [line.split("\t") for line in notes.read_text().splitlines() if not line.startswith("#")]
    listed = [r[1].partition("#") for r in rows if len(r) >= 2 and r[0] == "piece"]
    sixteenth = [(s, int(n) if n else None) for s, _, n in listed]
    assert len(sixteenth) == 959  # the file is read: every corpus piece of the training list
    bach = _bach_reserved()
    for s, n in sixteenth:  # reserved by the rule
        if s.endswith(".abc"):
            assert n is not None and n % 7 == 1, (s, n)
        else:
            assert s in bach, s
    assert not set(sixteenth) & {(p.source, p.number) for p in HOLDOUT17_PIECES}
    assert not {s for s, n in sixteenth if n is None} & {p.source for p in HOLDOUT17_PIECES}


def test_holdout17_holds_no_tempo_training_title() -> None:
    """notes/holdout17-declaration.md, as holdout16's test: no tune whose title, as named here (the name after
    its style) or as any of its T: fields (and music21's title), normalised as the other title checks
    normalise, is the title of a tune the tempo network trained on (notes/tempo-thirteenth-pass-training.txt)."""
    import music21

    training = _tempo_training_titles()
    assert {"lochness", "pulseofmyheart"} <= training  # the check would catch holdout14's two such pieces
    named = {p.name: _norm_title(p.name.split("_", 1)[1]) for p in HOLDOUT17_PIECES}
    assert not {n for n, t in named.items() if t in training}
    for p in HOLDOUT17_PIECES:
        if not p.source.endswith(".abc"):
            continue
        own = {_norm_title(t) for t in _abc_t_fields(music21, p.source, p.number)}
        own.add(_norm_title(music21.corpus.parse(p.source, number=p.number).metadata.title))
        assert not own & training, (p.name, own & training)


def test_holdout17_holds_the_hard_cases() -> None:
    """A fourteenth blind split of real music, spread as holdout16: eight chorales, ten tunes with a band, solo
    tunes and airs, three German folk songs (Essen). No opening, no 9/8, no 12/8 and no chorale in 3/4 (none
    left that passes the rules, see holdout14's to holdout16's tests). New: no chorale in three sharps is left
    (nor in three flats, as holdout16), so no score read by its final bass is in three sharps, and no chorale in
    D minor: the chorales are in D, G, F major and E, A (three), G minor. One minor 2/2 tune passes the rules, a
    Scottish song of the Essen folder's Haydn file (folkHaydn.abc), none of O'Neill's or Aird's (holdout15 took
    the last five); the other six 2/2 pieces are major. Eight tunes in a church mode (three dorian, five
    mixolydian; no phrygian or lydian tune is left that passes), all Aird's, in 4/4 and 6/8, read apart for key
    (notes/holdout17-declaration.md)."""
    pieces = HOLDOUT17_PIECES
    assert scores.LAST_NOTE_RULE_SPLITS >= {"holdout17"}
    _assert_holds_the_hard_cases_as_holdout7(pieces, "holdout17", classical=False, flat3_score=False,
                                             nine_eight=False, sharp3_score=False, per_font=6, detuned=14, wet=12)
    styles = [p.style for p in pieces]
    assert styles.count("folk song") == 3 and styles.count("chorale") == 8
    assert sum(p.source.startswith("essenFolksong/") and p.style == "folk song" for p in pieces) == 3
    assert sum(p.source.startswith("airdsAirs/") for p in pieces) >= 6  # Aird's Scottish tunes, not only O'Neill's
    band = [p for p in pieces if p.harmonise and p.drums]
    assert len(band) == 10
    assert {"reel", "jig", "polka", "waltz", "hornpipe", "air", "set dance"} <= {p.style for p in band}
    modes = [p.mode_name for p in pieces]
    assert {m: modes.count(m) for m in set(modes) if m} == {"dorian": 3, "mixolydian": 5}
    assert all(p.source.startswith("airdsAirs/") for p in pieces if p.mode_name)
    assert sum(p.parsed_key.mode == "minor" for p in pieces) == 19 and len(pieces) == 40
    cut = [p for p in pieces if p.time_signature == "2/2"]
    assert [p.name for p in cut if p.parsed_key.mode == "minor" or p.mode_name] == ["air_fy_gar_rub_her_oer_wi_strae"]
    # slow and compound without drums: a 6/8 air at a dotted-quarter pulse of 60
    assert any(p.compound and p.pulse_bpm <= 60 and not p.drums for p in pieces)
    # cut time solo and with a band, 3/4 both slow (airs) and fast (a waltz with a kit)
    assert sum(p.time_signature == "2/2" and not p.drums for p in pieces) >= 4
    assert sum(p.time_signature == "2/2" and p.drums for p in pieces) >= 3
    assert sum(p.time_signature == "3/4" and p.pulse_bpm <= 84 and not p.drums for p in pieces) >= 3
    # flat keys from three sources (chorales by the final bass, tunes and folk songs by K:), three flats
    # from an Essen song; sharp keys in major and minor
    keys = [p.parsed_key.canonical for p in pieces]
    assert {"Bb major", "Eb major", "F major", "D minor", "G minor"} <= set(keys)
    assert {"A major", "D major", "E minor"} <= set(keys)
    assert sum(k in ("F major", "Bb major", "Eb major", "D minor", "G minor") for k in keys) == 10
    sigs = [derive(p).extra["key_rule"] for p in pieces if p.style == "chorale"]
    assert not any(" 3 sharps" in r or "-3 sharps" in r for r in sigs) and any("-2 sharps" in r for r in sigs)
    assert all(p.meter == (4, 4) for p in pieces if p.style == "chorale")
    meters = [p.time_signature for p in pieces]
    assert {m: meters.count(m) for m in set(meters)} == {"4/4": 14, "2/2": 7, "6/8": 10, "3/4": 5, "2/4": 4}
    # the render conditions slot by slot as holdout16's (soundfont, detuning, wet render, mix)
    def slot(p: PieceSpec) -> tuple:
        return p.soundfont, p.tuning_cents, p.effects, p.mix, p.harmonise, p.drums
    assert [slot(p) for p in pieces] == [slot(p) for p in HOLDOUT16_PIECES]


# ---- recordings: real produced music from Debian game-data packages (docs/analysis.md) -----------

def test_recordings_fetch_failure_says_what_to_run(tmp_path) -> None:
    from acekit.calibration import recordings

    with pytest.raises(recordings.RecordingError, match=r"apt-get download extremetuxracer-data.*install-system-deps"):
        recordings.fetch_recordings(tmp_path, apt_get="false")  # a download that fails
    with pytest.raises(recordings.RecordingError, match=r"not found.*apt-get download"):
        recordings.fetch_recordings(tmp_path, apt_get="/nonexistent/apt-get")


def test_recordings_fetch_unpacks_only_the_music(tmp_path) -> None:
    """A stand-in apt-get that "downloads" a .deb built here: only the tracks' files and the
    copyright file come out, and a file that is not the pinned one is refused."""
    import shutil as sh

    from acekit.calibration import recordings

    if sh.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb (Debian) not available")
    track = recordings.TRACKS[0]
    pkgroot = tmp_path / "pkg"
    (pkgroot / "DEBIAN").mkdir(parents=True)
    (pkgroot / "DEBIAN" / "control").write_text(
        f"Package: {track.package}\nVersion: 1\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n")
    for rel in (track.path, "usr/share/games/etr/other.bin", f"usr/share/doc/{track.package}/copyright"):
        (pkgroot / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkgroot / rel).write_bytes(b"not the real music")
    deb = tmp_path / f"{track.package}_1_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(pkgroot), str(deb)], check=True,
                   capture_output=True)
    fake = tmp_path / "apt-get"
    fake.write_text(f"#!/bin/sh\ncp {deb} ./\"$3\"_1_all.deb\n")  # apt-get download -q PKG
    fake.chmod(0o755)
    cache = tmp_path / "cache"
    with pytest.raises(recordings.RecordingError, match="sha256 differs|holds no"):
        recordings.fetch_recordings(cache, apt_get=str(fake))
    music = recordings.music_dir(cache)
    assert (music / track.path).read_bytes() == b"not the real music"
    assert (music / "usr/share/doc" / track.package / "copyright").is_file()
    assert not (music / "usr/share/games/etr/other.bin").exists()


def test_clipped_master_rule() -> None:
    from acekit.calibration.recordings import clipped_runs

    sr = 44100
    t = np.arange(sr) / sr
    y = 0.9995 * np.sin(2 * np.pi * 1000 * t)  # a 1 kHz peak stays >= 0.999 for under 4 samples
    assert clipped_runs(np.stack([y, y], axis=1)) == 0
    flat = np.clip(1.2 * y, -1, 1)  # flat tops: clipped
    assert clipped_runs(np.stack([flat, y], axis=1)) >= 1000


def test_section_rise_finds_where_the_music_comes_in() -> None:
    from acekit.calibration.recordings import section_rise_s

    sr = 8000
    rng = np.random.default_rng(0)
    y = rng.standard_normal((sr * 30, 2)) * 0.01
    y[int(17.3 * sr):] *= 10  # drums come in at 17.3 s
    assert section_rise_s(y, sr, lo_s=5, hi_s=25) == pytest.approx(17.3, abs=0.06)


def test_recordings_are_in_the_content_hash(monkeypatch) -> None:
    from acekit.calibration import recordings

    before = build.content_hash()
    monkeypatch.setattr(recordings, "REGION_S", (6.0, 12.0))
    assert build.content_hash() != before
