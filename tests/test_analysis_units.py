"""Analyser building blocks: MIREX scoring, tempo relations, parsing of requests, the flat record."""

from __future__ import annotations

import itertools

import mir_eval
import numpy as np
import pytest

from acekit.analysis import AudioLoadError, Thresholds, analyze_audio, analyze_clip, analyze_health, mirex_key_score
from acekit.analysis.clip import beats_per_bar_of, check_region
from acekit.analysis.tempo import tempo_relation
from acekit.keys import SHARP_NAMES, KeyParseError


def test_mirex_score_matches_mir_eval_on_all_key_pairs() -> None:
    keys = [f"{n} {m}" for n, m in itertools.product(SHARP_NAMES, ("major", "minor"))]
    for ref, est in itertools.product(keys, keys):
        assert mirex_key_score(ref, est) == pytest.approx(mir_eval.key.weighted_score(ref, est)), (ref, est)


def test_mirex_score_reads_user_spellings() -> None:
    assert mirex_key_score("A minor", "C major") == 0.3
    assert mirex_key_score("Am", "a:min") == 1.0
    assert mirex_key_score("F#m", "Gb minor") == 1.0  # enharmonic
    assert mirex_key_score("C major", "G major") == 0.5
    assert mirex_key_score("A Minor", "A major") == 0.2
    with pytest.raises(KeyParseError):
        mirex_key_score("H minor", "C major")


@pytest.mark.parametrize(("bpm", "target", "relation"), [
    (120.0, 120.0, "match"), (124.5, 120.0, "match"), (240.0, 120.0, "double"), (60.5, 120.0, "half"),
    (180.0, 120.0, "three_halves"), (80.0, 120.0, "two_thirds"), (130.0, 120.0, "off"), (0.0, 120.0, "off"),
])
def test_tempo_relation(bpm: float, target: float, relation: str) -> None:
    assert tempo_relation(bpm, target) == relation


@pytest.mark.parametrize(("ts", "beats"), [("4", 4), ("4/4", 4), ("3", 3), ("3/4", 3), ("6", 3), ("6/8", 3),
                                           ("2", 2), (None, None), (4, 4)])
def test_beats_per_bar(ts: object, beats: int | None) -> None:
    assert beats_per_bar_of(ts) == beats


def test_bad_requests_say_what_to_do(tmp_path) -> None:
    with pytest.raises(ValueError, match="time signature"):
        beats_per_bar_of("four")
    with pytest.raises(ValueError, match="inside the clip"):
        check_region((8.0, 40.0), 20.0)
    with pytest.raises(ValueError, match="END > START"):
        check_region((8.0, 8.0), 20.0)
    assert check_region((8, -1), 20.0) == (8.0, 20.0)  # ACE-Step's repainting_end=-1: to the end
    with pytest.raises(AudioLoadError, match="check the path"):
        analyze_clip(tmp_path / "missing.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(AudioLoadError, match="convert"):
        analyze_clip(bad)
    with pytest.raises(KeyParseError):
        analyze_clip(bad, key="Q major")  # the key is checked before the audio is decoded
    with pytest.raises(ValueError, match="bpm"):
        analyze_audio(np.zeros(44100, dtype=np.float32), 44100, bpm=-3)


def test_health_guards_silence_and_short_clips() -> None:
    sr = 44100
    silent = analyze_health(np.zeros(sr * 3), sr)
    assert silent.silent and silent.integrated_lufs is None and silent.sample_peak_dbfs is None
    short = analyze_health(0.1 * np.ones(sr // 10), sr)  # 100 ms: too short to gate, but not silent
    assert short.integrated_lufs is None and not short.silent


def test_flat_record_uses_the_names_the_report_reads() -> None:
    # a noise clip: every section runs; the names are what acekit.report and the matrix store read
    rng = np.random.default_rng(0)
    y = (0.05 * rng.standard_normal(44100 * 6)).astype(np.float32)
    res = analyze_audio(y, 44100, bpm=120, key="A minor", duration_s=6, region_s=(2.0, 4.0), source=y)
    flat = res.flat()
    for name in ("tempo.bpm", "tempo.error_pct", "tempo.relation", "beat_grid.median_abs_offset_ms",
                 "beat_grid.share_within_tol", "beat_grid.drift_ms_per_bar", "beat_grid.phase_s", "key.key",
                 "key.mirex_score", "key.strength", "boundaries.max_click_z", "preservation.outside.mel_distance_db",
                 "health.duration_s", "health.integrated_lufs", "health.clipping_share", "health.silence_share"):
        assert name in flat, name
    assert all(not isinstance(v, (dict, np.generic)) for v in flat.values())
    assert set(res.passed) == {"tempo", "beat_grid", "key", "boundaries", "preservation", "health"}
    assert res.passed["preservation"]  # identical source
    assert res.thresholds == Thresholds()


def test_roc_auc_and_precision_recall_match_their_definitions() -> None:
    from acekit.calibration.scoring import accuracy, precision_recall, roc_auc

    assert roc_auc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert roc_auc([0.1, 0.9], [True, False]) == 0.0
    assert roc_auc([0.5, 0.5, 0.5], [True, False, False]) == 0.5  # ties count one half
    # 3 positives x 2 negatives: pairs won 5 of 6
    assert roc_auc([0.9, 0.4, 0.8, 0.5, 0.1], [True, True, True, False, False]) == pytest.approx(5 / 6)
    assert precision_recall([True, True, False, False], [True, False, True, False]) == (0.5, 0.5)
    assert precision_recall([False, False], [True, False]) == (1.0, 0.0)
    assert accuracy([True, False, True], [True, True, True]) == pytest.approx(2 / 3)
    for bad in (lambda: roc_auc([0.1, 0.2], [True, True]), lambda: roc_auc([0.1], [True, False]),
                lambda: roc_auc([float("nan"), 0.2], [True, False]), lambda: roc_auc([0.1, 0.2], [1, 0]),
                lambda: precision_recall([True], [False]), lambda: precision_recall([0.5], [True])):
        with pytest.raises(ValueError):
            bad()


def test_boundaries_against_the_source_on_synthetic_edits() -> None:
    """A steady chord: a click or a dropout at the edge is flagged, the same chord passed through is
    not, and a change that the source itself has at the edge (a note entering) cancels out."""
    from acekit.analysis import analyze_boundaries

    sr = 22050
    t = np.arange(8 * sr) / sr
    chord = 0.2 * (np.sin(2 * np.pi * 220 * t) + np.sin(2 * np.pi * 277 * t)).astype(np.float32)
    src = chord.copy()
    src[4 * sr:] += 0.3 * np.sin(2 * np.pi * 660 * t[4 * sr:]).astype(np.float32)  # the music changes at 4 s
    same = analyze_boundaries(src, sr, boundaries_s=[4.0], source=src)
    assert same.source_compared and not same.boundaries[0].flagged
    assert analyze_boundaries(src, sr, boundaries_s=[4.0]).source_compared is False  # older, self-referenced
    clicked = src.copy()
    clicked[4 * sr] -= 0.5
    assert analyze_boundaries(clicked, sr, boundaries_s=[4.0], source=src).boundaries[0].reasons == ["click"]
    dropped = src.copy()
    dropped[4 * sr - 441: 4 * sr + 441] = 0.0
    got = analyze_boundaries(dropped, sr, boundaries_s=[4.0], source=src).boundaries[0]
    assert got.flagged and "dropout" in got.reasons and got.dropout_db > 40
    louder = src.copy()
    louder[4 * sr:] *= 2.0
    got = analyze_boundaries(louder, sr, boundaries_s=[4.0], source=src).boundaries[0]
    assert "level" in got.reasons and got.level_step_db == pytest.approx(6.0, abs=0.3)
    with pytest.raises(ValueError, match="source is empty"):
        analyze_boundaries(src, sr, boundaries_s=[4.0], source=np.zeros(0, dtype=np.float32))


def test_preservation_reports_the_worst_window() -> None:
    from acekit.analysis import analyze_preservation
    from acekit.analysis.clip import preserved_outside

    sr = 22050
    rng = np.random.default_rng(0)
    src = (0.1 * rng.standard_normal(20 * sr)).astype(np.float32)
    out = src.copy()
    out[15 * sr: 16 * sr] = (0.1 * rng.standard_normal(sr)).astype(np.float32)  # same level, other signal
    res = analyze_preservation(out, sr, src, region_s=(5.0, 9.0))
    o = res.outside
    assert o.worst_snr_db < 3 and 14.0 <= o.worst_snr_window_s <= 15.5
    assert o.snr_db > 5  # the mean over the outside dilutes it
    assert not preserved_outside(res)
    assert preserved_outside(analyze_preservation(src, sr, src, region_s=(5.0, 9.0)))
