"""The analysers against the rendered calibration set (MIDI -> fluidsynth -> WAV, known truth).

The set is rendered once per session under pytest's base temp dir (content-hash cached, so the
CLI tests reuse it) and every clip is analysed once; the tests then assert the accuracy targets
of issue 3 (octave-tolerant tempo >= 95 %, key MIREX mean >= 0.8, hard splice separated from
crossfade ...). Needs fluidsynth and the GM soundfont (scripts/install-system-deps.sh).

Floors are asserted on every split. Tempo verdicts: the seventh-pass design's figures, less a small
margin (docs/analysis.md "Tempo verdicts, seventh pass"; the first seven splits were its dev data,
holdout7's is its one evaluation, holdout8's its builder's one measurement). Key: each
split's shipped-estimator figure less a small margin; ``holdout4`` (real composed music from
music21's corpus) has had its key floor since the fifth key pass's one evaluation on it, ``holdout5``
(other corpus scores, built the same way for the designs made after holdout4 was spent) since the
sixth key pass's. ``holdout6`` (other corpus scores again, blind for the sixth tempo and seventh
key passes): tempo and key floors a little under the shipped estimators' one measurement when the
split was built (reported to the lead only, not quoted in docs); the seventh key pass then evaluated
both its frozen design and the shipped estimator once on it (docs/analysis.md "Key, seventh pass",
not shipped), so its key figure is quoted there. ``holdout7`` (other corpus scores again, built as
holdout6 after it was spent): tempo and key floors a little under the shipped estimators' one
measurement when the split was built (reported to the lead only, not quoted in docs). ``holdout8``
(built as holdout7, sharing nothing with it), ``holdout9`` (built as holdout8, sharing nothing
with holdout4 to holdout8), ``holdout10`` (built as holdout9, sharing nothing with holdout4 to
holdout9), ``holdout11`` (built as holdout10, sharing nothing with holdout4 to holdout10),
``holdout12`` (built as holdout11, sharing nothing with holdout4 to holdout11), ``holdout13`` (built
as holdout12, sharing nothing with holdout4 to holdout12), ``holdout14`` (built as holdout13, sharing
nothing with holdout4 to holdout13), ``holdout15`` (built as holdout14, sharing nothing with holdout4 to
holdout14), ``holdout16`` (built as holdout15, sharing nothing with holdout4 to holdout15) and ``holdout17``
(built as holdout16, sharing nothing with holdout4 to holdout16): the same, from each builder's one
measurement. Health floors are full on every split.

Beat grid: its thresholds were chosen on ``calibrate``; it was measured once on ``holdout`` to
``holdout8`` (notes/beat-grid-blind.md, docs/analysis.md "Beat grid on unseen music") and on
``holdout9`` to ``holdout17`` by their builders, and
test_beat_grid_on_unseen_music keeps floors that one more miss than that measurement breaks.

``recordings`` (real produced recordings from Debian game-data packages, docs/analysis.md "The
recordings split") is a blind test of the boundary, preservation and health verdicts: its tests
were committed before any analyser ran on it ("recordings: split frozen before evaluation"), and it
has no tempo or key truth, so the tempo and key tests skip it.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import mir_eval
import numpy as np
import pytest

from acekit.analysis import (
    Thresholds,
    analyze_audio,
    analyze_beat_grid,
    analyze_boundaries,
    analyze_clip,
    analyze_health,
    check_health,
    analyze_preservation,
    analyze_tempo,
    load_audio,
    mirex_key_score,
    track_beats,
)
from acekit.analysis.audio import as_mono, finite
from acekit.analysis.beatgrid import TRACKER_LAG_MS
from acekit.analysis.key import analyze_key_by_profiles
from acekit.calibration import CalibrationSet, build_calibration_set
from acekit.calibration.manifest import NO_SONG_SPLITS, SPLITS
from acekit.calibration.scorecard import from_calibration, tempo_judgements
from acekit.calibration.scores import (
    CORPUS_PIECES,
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
)
from acekit.calibration.songs import HOLDOUT2_SONGS, HOLDOUT3_SONGS, HOLDOUT_SONGS


def calibration_parent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "calibration"


@pytest.fixture(scope="session")
def calibration(tmp_path_factory: pytest.TempPathFactory) -> CalibrationSet:
    return build_calibration_set(calibration_parent(tmp_path_factory), workers=2)


class _PerClip(dict):
    """A song / tempo-variant clip's result, computed on first use and kept for the session: the same
    values as computing every clip up front, but a run selecting one split (``-k holdout10``) pays only
    for that split's clips. Other ids are refused as a plain dict would."""

    def __init__(self, ids: set[str], compute) -> None:
        super().__init__()
        self._ids, self._compute = ids, compute

    def __missing__(self, cid: str):
        if cid not in self._ids:
            raise KeyError(cid)
        self[cid] = value = self._compute(cid)
        return value


@pytest.fixture(scope="session")
def tracked(calibration: CalibrationSet) -> dict:
    """Audio and one beat-tracker run per song and tempo-variant clip."""
    def run(cid: str):
        y, sr = load_audio(calibration.path(calibration.get(cid)), mono=False)
        return y, sr, track_beats(y.mean(axis=1), sr)
    return _PerClip({c.id for c in calibration.of_kind("song", "tempo")}, run)


@pytest.fixture(scope="session")
def song_results(calibration: CalibrationSet, tracked: dict) -> dict:
    """Every analyser on every song and tempo-variant clip, with the request its truth implies."""
    def run(cid: str):
        t = calibration.get(cid).truth
        y, sr, bt = tracked[cid]
        return analyze_audio(y, sr, bpm=t.bpm_requested, key=t.key, time_signature=t.time_signature,
                             duration_s=t.duration_s, beat_track=bt)
    return _PerClip({c.id for c in calibration.of_kind("song", "tempo")}, run)


NO_TEMPO_KEY_TRUTH = ("the recordings split is real produced music (Debian game-data packages) with no tempo or key "
                      "truth: it tests the boundary, preservation and health verdicts only (docs/analysis.md)")


def _needs_songs(split: str) -> None:
    if split in NO_SONG_SPLITS:
        pytest.skip(NO_TEMPO_KEY_TRUTH)


# ---- the set itself ---------------------------------------------------------------------------

def test_calibration_set_covers_what_issue_3_asks(calibration: CalibrationSet) -> None:
    songs = calibration.of_kind("song")
    for split in SPLITS:  # issue 11: every split holds every hard case
        if split in NO_SONG_SPLITS:  # no songs (test_recordings_split_holds_what_docs_say)
            continue
        part = calibration.of_kind("song", split=split)
        meters = {"6/8", "9/8", "12/8", "2/2", "3/4", "4/4"}
        if split in ("holdout6", "holdout7", "holdout8", "holdout9", "holdout10", "holdout11",
                     "holdout12", "holdout13", "holdout14", "holdout15", "holdout16",
                     "holdout17"):  # no 12/8 left
            meters -= {"12/8"}
        # no 9/8 left either: holdout13 took the last that passes the rules
        if split in ("holdout14", "holdout15", "holdout16", "holdout17"):
            meters -= {"9/8"}
        assert meters <= {c.truth.time_signature for c in part}
        assert any(c.truth.bpm_true <= 66 for c in part)  # slow (and without drums, see songs.py)
        assert any(c.truth.time_signature == "3/4" and c.truth.bpm_true >= 180 for c in part)
        assert sum(c.truth.key.endswith("minor") for c in part) >= 5 and any(c.truth.key_ambiguous for c in part)
        assert {"dc_offset", "antiphase", "clipping", "silence", "nan"} <= {
            c.truth.health_problem for c in calibration.of_kind("health", split=split)}
    # held-out clips never share a soundfont or a song with what thresholds were tuned on
    cal_sf = {c.soundfont for c in calibration.of_kind("song", split="calibrate")}
    hold = calibration.of_kind("song", "health", split="holdout")
    assert cal_sf == {"fluidr3"} and not cal_sf & {c.soundfont for c in hold}
    cal_ids = {c.id for c in calibration.of_kind("song", split="calibrate")}
    assert not {c.derived_from for c in hold} & cal_ids
    # the second held-out split: its own songs and soundfonts, shared with neither earlier split
    hold2 = calibration.of_kind("song", "health", split="holdout2")
    assert {c.soundfont for c in hold2} == {"csound", "opl3"}
    assert not {c.soundfont for c in hold2} & (cal_sf | {c.soundfont for c in hold})
    assert {c.id if c.kind == "song" else c.derived_from for c in hold2} <= {s.name for s in HOLDOUT2_SONGS}
    assert len(calibration.of_kind("song", split="holdout2")) == len(HOLDOUT2_SONGS)
    assert not calibration.of_kind("repaint", "source", "edit", "tempo", "preservation", split="holdout2")
    # the third: its own songs; half on a font no other clip uses, the rest under render conditions
    # (detuned, wet, bass/drums up) no other clip has
    hold3 = calibration.of_kind("song", "health", split="holdout3")
    assert {c.id if c.kind == "song" else c.derived_from for c in hold3} <= {s.name for s in HOLDOUT3_SONGS}
    assert len(calibration.of_kind("song", split="holdout3")) == len(HOLDOUT3_SONGS)
    others = [c for c in calibration.clips if c.split not in {"holdout3", *(p.split for p in CORPUS_PIECES)}]
    assert not any(c.render for c in others) and not any(c.truth.tuning_cents for c in others)
    assert "musescore_hq" not in {c.soundfont for c in others}
    assert all(c.soundfont == "musescore_hq" or c.render for c in hold3)
    assert not calibration.of_kind("repaint", "source", "edit", "tempo", "preservation", split="holdout3")
    # the fourth: real composed music (scores from music21's corpus), on every soundfont
    hold4 = calibration.of_kind("song", "health", split="holdout4")
    assert {c.id if c.kind == "song" else c.derived_from for c in hold4} <= {p.name for p in HOLDOUT4_PIECES}
    assert len(calibration.of_kind("song", split="holdout4")) == len(HOLDOUT4_PIECES)
    assert {c.soundfont for c in hold4} == {c.soundfont for c in calibration.clips if c.soundfont}
    assert not calibration.of_kind("repaint", "source", "edit", "tempo", "preservation", split="holdout4")
    # the fifth: other corpus scores than the fourth's, on every soundfont
    hold5 = calibration.of_kind("song", "health", split="holdout5")
    assert {c.id if c.kind == "song" else c.derived_from for c in hold5} <= {p.name for p in HOLDOUT5_PIECES}
    assert len(calibration.of_kind("song", split="holdout5")) == len(HOLDOUT5_PIECES)
    assert len(calibration.of_kind("health", split="holdout5")) == 7
    assert {c.soundfont for c in hold5} == {c.soundfont for c in calibration.clips if c.soundfont}
    assert not {c.score for c in hold5 if c.kind == "song"} & {c.score for c in hold4 if c.kind == "song"}
    assert not calibration.of_kind("repaint", "source", "edit", "tempo", "preservation", split="holdout5")
    # the sixth to the twelfth: each other corpus scores than every earlier one's, on every soundfont,
    # with seven health cases
    earlier_scores = {c.score for c in (*hold4, *hold5) if c.kind == "song"}
    for split, pieces in (("holdout6", HOLDOUT6_PIECES), ("holdout7", HOLDOUT7_PIECES), ("holdout8", HOLDOUT8_PIECES),
                          ("holdout9", HOLDOUT9_PIECES), ("holdout10", HOLDOUT10_PIECES),
                          ("holdout11", HOLDOUT11_PIECES), ("holdout12", HOLDOUT12_PIECES),
                          ("holdout13", HOLDOUT13_PIECES), ("holdout14", HOLDOUT14_PIECES),
                          ("holdout15", HOLDOUT15_PIECES), ("holdout16", HOLDOUT16_PIECES),
                          ("holdout17", HOLDOUT17_PIECES)):
        held = calibration.of_kind("song", "health", split=split)
        assert {c.id if c.kind == "song" else c.derived_from for c in held} <= {p.name for p in pieces}
        assert len(calibration.of_kind("song", split=split)) == len(pieces)
        assert len(calibration.of_kind("health", split=split)) == 7
        assert {c.soundfont for c in held} == {c.soundfont for c in calibration.clips if c.soundfont}
        assert not {c.score for c in held if c.kind == "song"} & earlier_scores
        assert not calibration.of_kind("repaint", "source", "edit", "tempo", "preservation", split=split)
        earlier_scores |= {c.score for c in held if c.kind == "song"}
    assert len({c.style for c in songs}) >= 8
    bpms = [c.truth.bpm_true for c in songs]
    assert min(bpms) <= 70 and max(bpms) >= 170
    assert {"3/4", "6/8", "4/4"} <= {c.truth.time_signature for c in songs}
    modes = [c.truth.key.split()[1] for c in songs]
    assert modes.count("major") >= 4 and modes.count("minor") >= 4
    assert any(c.truth.key_ambiguous for c in songs)
    edits = {c.truth.edit for c in calibration.of_kind("edit")}
    assert {"hard_splice", "crossfade_splice", "level_jump", "lowpass_region", "untouched"} <= edits
    for c in calibration.clips:
        y, sr = load_audio(calibration.path(c))
        assert sr == 44100 and abs(y.size / sr - c.truth.duration_s) < 0.01
        if c.kind == "song":  # real music, not a tone: loud enough and not clipped
            assert 0.05 < float(np.max(np.abs(y))) < 0.99


# ---- tempo and beats ----------------------------------------------------------------------------

def _tempo_cases(calibration: CalibrationSet, tracked: dict, split: str) -> list[tuple[str, float, str, str]]:
    """(clip, requested bpm, expected verdict, got verdict): each song at its own tempo (pass) and
    at 1.1x, 0.9x and 0.75x of it (fail: no metrical relation), meter-aware."""
    out = []
    for c in calibration.of_kind("song", split=split):
        y, sr, bt = tracked[c.id]
        for j in tempo_judgements(y.mean(axis=1), sr, c.truth.bpm_requested, c.truth.time_signature, bt):
            out.append((c.id, j.requested_bpm, j.expected, j.verdict))
    return out


def _tempo_figures(cases: list[tuple[str, float, str, str]]) -> tuple[float, float, float]:
    n = len(cases)
    right = sum(want == got for _, _, want, got in cases) / n
    wrong = sum(got not in (want, "unreliable") for _, _, want, got in cases) / n
    unsure = sum(got == "unreliable" for *_, got in cases) / n
    return right, wrong, unsure


@pytest.mark.slow
@pytest.mark.parametrize("split", SPLITS)
def test_tempo_verdict_meter_aware(calibration: CalibrationSet, tracked: dict, split: str) -> None:
    """Issue 11 item 3: compound meters judged on the dotted quarter, 2/2 on the half (or quarter);
    octave readings resolved by onset periodicity or marked unreliable, never a wrong verdict."""
    _needs_songs(split)
    cases = _tempo_cases(calibration, tracked, split)
    right, wrong, unsure = _tempo_figures(cases)
    print(f"tempo verdicts ({split}, {len(cases)} judgements): right {right:.1%}, wrong {wrong:.1%}, "
          f"unreliable {unsure:.1%}: {[(c, round(b), g) for c, b, w, g in cases if g != w]}")
    # Floors on "right" a little under the seventh-pass design's figures (docs/analysis.md "Tempo verdicts, seventh
    # pass"; the seven earlier splits were its dev data): calibrate 98.9 %, holdout 98.4 %, holdout2 99.0 %, holdout3
    # 94.5 %, holdout4 93.8 %, holdout5 93.1 %, holdout6 97.5 % (sixth pass: 98.9, 98.4, 97.9, 93.0, 92.5, 91.9,
    # 95.0 %). No decided verdict is wrong on any of them (holdout5's two cut-time reels read "two_thirds" of the
    # quarter: unreliable). holdout7 (blind for the seventh pass, evaluated once after it was frozen): 94.7 % (sixth
    # pass on the same clips: 93.4 %), no wrong verdict under either design. holdout8 (built as holdout7, blind
    # for the seventh pass and the designs after it): a little under the seventh pass's figure there, measured
    # once when the split was rebased onto it (reported to the lead only, not quoted in docs). holdout9 (built as
    # holdout8, blind for the designs after it): a little under the shipped design's one measurement when the split
    # was built (reported to the lead only). holdout10 (built as holdout9, blind for the designs after it),
    # holdout11 (built as holdout10, blind for the designs after it), holdout12 (built as holdout11, blind for
    # the designs after it), holdout13 (built as holdout12, blind for the designs after it) and holdout14 (built as
    # holdout13, blind for the designs after it): the same, from each builder's one measurement. No decided verdict
    # may be wrong, except on holdout9, holdout12 and holdout13 no more wrong ones than that measurement saw.
    # Eighth pass (docs/analysis.md "Tempo verdicts, eighth pass"; the eight splits above holdout8 its dev data):
    # holdout5 94.4 %, holdout6 98.8 %, holdout7 96.1 %, the others as above; still no wrong verdict. holdout8 (blind
    # for the eighth pass, evaluated once after it was frozen): 95.6 % (seventh pass on the same clips: 95.0 %).
    # Fourteenth pass (the pulse network's N+c on unreliable verdicts; docs/analysis.md "Tempo verdicts, fourteenth
    # pass"): holdout13 96.2 % and holdout14 94.4 % (all 40 pieces), its one blind evaluation; the floors there keep
    # one more miss passing and two failing. Elsewhere the floors stay (N+c only turns "unreliable" into "pass").
    # holdout15 (built as holdout14 to measure the shipped designs once, notes/holdout15-declaration.md): the
    # fourteenth pass's one measurement when the split was built, its floor likewise (one more miss passes, two fail).
    # holdout16 (built as holdout15, notes/holdout16-declaration.md): the same, from its builder's one measurement.
    # holdout17 (built as holdout16, notes/holdout17-declaration.md): the same, from its builder's one measurement.
    assert wrong * len(cases) <= {"holdout9": 1, "holdout12": 3, "holdout13": 1}.get(split, 0)
    assert right >= {"calibrate": 0.98, "holdout": 0.98, "holdout2": 0.98, "holdout3": 0.94, "holdout4": 0.93,
                     "holdout5": 0.94, "holdout6": 0.98, "holdout7": 0.95,
                     "holdout8": 0.95, "holdout9": 0.94, "holdout10": 0.92, "holdout11": 0.91,
                     "holdout12": 0.88, "holdout13": 0.953, "holdout14": 0.935, "holdout15": 0.94,
                     "holdout16": 0.96, "holdout17": 0.955}[split]
    if split in ("holdout3", "holdout5"):
        return  # holdout3's 9/8 nocturne is read at 3:2, holdout5's two reels at 2/3 of the quarter ("unreliable")
    # every compound-meter and cut-time clip passes at its own tempo (was "two_thirds" before); on
    # holdout8 to holdout17 no more read "unreliable" (or wrong) there than when the splits were built
    missed = [c.id for c in calibration.of_kind("song", split=split)
              if c.truth.time_signature in ("6/8", "9/8", "12/8", "2/2")
              and (c.id, c.truth.bpm_requested, "pass", "pass") not in cases]
    assert len(missed) <= {"holdout8": 1, "holdout9": 3, "holdout10": 3, "holdout11": 1,
                           "holdout12": 3, "holdout13": 4, "holdout14": 2, "holdout15": 2,
                           "holdout16": 1, "holdout17": 3}.get(split, 0), missed


@pytest.mark.slow
def test_tempo_result_says_which_pulse(song_results: dict) -> None:
    r = song_results["folk_six_eight"].tempo
    assert r.pulse == "dotted_quarter" and r.pulse_bpm == pytest.approx(80) and r.verdict == "pass"
    assert song_results["folk_six_eight"].passed["tempo"]
    assert song_results["march_2_2"].tempo.pulse == "half"
    # slow drumless music read at double tempo is unreliable, neither passed nor failed
    noct = song_results["nocturne_60"]
    assert noct.tempo.relation == "double" and noct.tempo.verdict == "unreliable"
    assert "tempo" in noct.unreliable and "tempo" not in noct.passed
    # a fast 3/4 tracked at two quarters: its bar, a lag only 3/4 at the request explains, decides
    waltz = song_results["waltz_fast_192"].tempo
    assert waltz.relation == "half" and waltz.verdict == "pass" and "meter explains" in waltz.reason
    assert waltz.salience_request_only >= Thresholds().tempo_salience_pass_ratio * waltz.salience_tracked
    # drum'n'bass read at half, both readings equally periodic in the onsets: the harmonic rhythm
    # (chords change once a bar of the request, not every half bar) decides it
    dnb = song_results["dnb_170"].tempo
    assert dnb.relation == "half" and dnb.verdict == "pass" and "chords change" in dnb.reason
    assert dnb.harmony_margin >= Thresholds().tempo_harmony_pass_margin
    assert dnb.harmony_request_bar >= Thresholds().tempo_min_bar_harmony


@pytest.mark.slow
def test_unsure_tracker_fails_off_requests_the_onsets_contradict(calibration: CalibrationSet, tracked: dict) -> None:
    """The sustained organ chorale is tracked with low confidence; its onsets still pulse at the
    tracked (true) tempo and not at 1.1x, 0.9x or 0.75x of it, so those requests fail."""
    y, sr, bt = tracked["chorale_66"]
    assert bt.confidence < Thresholds().tempo_min_confidence
    for factor in (1.1, 0.9, 0.75):
        r = analyze_tempo(y.mean(axis=1), sr, target_bpm=66 * factor, beat_track=bt)
        assert r.relation == "off" and r.verdict == "fail", (factor, r)
        assert r.salience_tracked >= Thresholds().tempo_min_pulse_salience and "onsets pulse at its tempo" in r.reason


@pytest.mark.slow
def test_beat_tracker_against_midi_truth(calibration: CalibrationSet, tracked: dict) -> None:
    scores, lags = [], []
    for c in calibration.of_kind("song", split="calibrate"):
        if c.truth.time_signature in ("2/2", "12/8") or c.truth.bpm_true >= 170 or c.truth.bpm_true <= 60:
            continue  # trackers follow another metrical level there: the tempo verdict covers those
        est = np.asarray(tracked[c.id][2].beats_s)
        ref = np.asarray(c.truth.beats_s)
        d = est[:, None] - ref[None, :]
        nearest = d[np.arange(est.size), np.argmin(np.abs(d), axis=1)]
        lags.append(1000 * float(np.median(nearest[np.abs(nearest) < 0.07])))
        scores.append(mir_eval.beat.f_measure(mir_eval.beat.trim_beats(ref), mir_eval.beat.trim_beats(est)))
    print(f"beat F-measure mean {statistics.fmean(scores):.3f}, per clip {np.round(scores, 2).tolist()}")
    assert statistics.fmean(scores) >= 0.75
    assert statistics.median(scores) >= 0.9
    # the lag constant subtracted from the reported grid phase is what the tracker shows here
    print(f"tracker lag median {statistics.median(lags):.1f} ms (per clip {np.round(lags, 1).tolist()})")
    assert abs(statistics.median(lags) - TRACKER_LAG_MS) < 10


@pytest.mark.slow
def test_beat_grid_passes_in_tempo_songs_and_fails_drift(calibration: CalibrationSet, song_results: dict) -> None:
    for c in calibration.of_kind("song", split="calibrate"):
        g = song_results[c.id].beat_grid
        if "beat_grid" in song_results[c.id].unreliable:  # no steady pulse (sustained organ chorale)
            assert song_results[c.id].tempo.confidence < Thresholds().tempo_min_confidence
            continue
        assert g.share_within_tol >= 0.9, (c.id, g)
        assert song_results[c.id].passed["beat_grid"], (c.id, g)
    slow = song_results["pop_116_for_120"]
    # 116 for 120 is within the 4 % tempo rule, yet its beats walk off the grid
    assert abs(slow.tempo.bpm - 120) / 120 < 0.04
    assert not slow.passed["beat_grid"]
    assert slow.beat_grid.share_within_tol < 0.4 and slow.beat_grid.drift_ms_per_bar > 30
    assert slow.beat_grid.implied_bpm == pytest.approx(116, abs=1.5)
    for ramp_id, end in (("pop_ramp_120_123", 123), ("pop_ramp_120_126", 126)):
        r = song_results[ramp_id]
        assert not r.passed["beat_grid"], ramp_id
        assert r.beat_grid.drift_ms_per_bar < -10  # faster than the grid: beats come early
        assert 120 < r.beat_grid.implied_bpm < end + 1


def test_beat_grid_on_true_beats(calibration: CalibrationSet) -> None:
    """The grid fit itself, on the MIDI truth (no tracker): exact for songs, drifting for 116."""
    for c in calibration.of_kind("song"):
        g = analyze_beat_grid(np.zeros(1), 44100, bpm=c.truth.pulse_bpm, beats_s=c.truth.beats_s,
                              beats_per_bar=c.truth.beats_per_bar, tracker_lag_ms=0)
        assert g.median_abs_offset_ms < 1 and g.share_within_tol == 1.0 and abs(g.drift_ms_per_bar) < 0.5
        period = 60 / c.truth.pulse_bpm
        lead = c.truth.beats_s[0] % period
        off = abs(g.phase_s - lead) % period
        assert min(off, period - off) < 0.002, (c.id, g.phase_s, lead)  # a 0.37 s lead-in is found, not assumed 0
    t = calibration.get("pop_116_for_120").truth
    g = analyze_beat_grid(np.zeros(1), 44100, bpm=120, beats_s=t.beats_s, tracker_lag_ms=0)
    assert g.drift_ms_per_bar == pytest.approx(4 * (60 / 116 - 60 / 120) * 1000, rel=0.05)
    assert g.share_within_tol < 0.35


#: Beat grid on unseen music (notes/beat-grid-blind.md, docs/analysis.md "Beat grid on unseen music"):
#: measured once; per split (own tempo passed, off requests failed, metrical passed): decided verdicts
#: right / wrong, clips unreliable. The floors below sit a little under these and allow no more wrong.
BEAT_GRID_MEASURED = {
    # generated songs (never used to tune the grid, acekit's own generator)
    "holdout": ((15, 0), (120, 0), (56, 4), 1),
    "holdout2": ((22, 0), (176, 0), (82, 6), 2),
    "holdout3": ((28, 1), (232, 0), (106, 10), 3),
    # real composed music (music21 corpus), blind for the grid
    "holdout4": ((29, 0), (231, 1), (108, 8), 11),
    "holdout5": ((27, 0), (215, 1), (95, 13), 13),
    "holdout6": ((33, 2), (279, 1), (121, 19), 5),
    "holdout7": ((29, 1), (238, 2), (108, 12), 8),
    # measured once by the lead after holdout8 landed (no beat-grid design looked at it)
    "holdout8": ((29, 0), (232, 0), (109, 7), 11),
    # measured once by its builder when the split was built (no beat-grid design looked at it)
    "holdout9": ((31, 0), (248, 0), (115, 9), 9),
    # measured once by its builder when the split was built (no beat-grid design looked at it)
    "holdout10": ((31, 1), (256, 0), (114, 14), 8),
    # measured once by its builder when the split was built (no beat-grid design looked at it)
    "holdout11": ((27, 1), (223, 1), (100, 12), 12),
    # measured once by its builder when the split was built (no beat-grid design looked at it)
    "holdout12": ((29, 0), (232, 0), (107, 9), 11),
    # measured once by its builder when the split was built (no beat-grid design looked at it)
    "holdout13": ((31, 0), (248, 0), (114, 10), 9),
    # measured once by its builder when the split was built (no beat-grid design looked at it)
    "holdout14": ((32, 0), (256, 0), (121, 7), 8),
    # measured once by its builder when the split was built (no beat-grid design looked at it)
    "holdout15": ((31, 1), (256, 0), (116, 12), 8),
    # measured once by its builder when the split was built (no beat-grid design looked at it)
    "holdout16": ((29, 0), (232, 0), (109, 7), 11),
    # measured once by its builder when the split was built (no beat-grid design looked at it)
    "holdout17": ((31, 2), (263, 1), (120, 12), 7),
}


@pytest.mark.slow
@pytest.mark.parametrize("split", list(BEAT_GRID_MEASURED))
def test_beat_grid_on_unseen_music(calibration: CalibrationSet, tracked: dict, split: str) -> None:
    """Each song judged at its own tempo (should pass), at 1-3 % and 10 % off (should fail: the
    beats walk off the grid; 1-3 % is inside the tempo check's 4 %) and at x2, x1/2, x3/2, x2/3
    (pass by the grid's design, reported apart), from one tracker run per clip."""
    from acekit.calibration.scoring import beat_grid_judgements, verdict_tally

    rows = []
    for c in calibration.of_kind("song", split=split):
        _, _, bt = tracked[c.id]
        for j in beat_grid_judgements(bt.beats_s, bt.confidence, c.truth.bpm_requested, c.truth.time_signature):
            rows.append({"clip": c.id, **j})
    groups = {"own": ("own",), "off": ("near_off", "far_off"), "metrical": ("metrical",)}
    tally = {g: verdict_tally([r for r in rows if r["type"] in types]) for g, types in groups.items()}
    unsure = len({r["clip"] for r in rows if r["got"] is None})
    wrong = [(r["clip"], r["factor"], r["share"], r["drift_pct"], r["k"]) for r in rows
             if r["got"] is not None and r["got"] != r["want"]]
    print(f"beat grid ({split}, {len({r['clip'] for r in rows})} clips, {unsure} unreliable): "
          + ", ".join(f"{g} {t['right']}/{t['right'] + t['wrong']} right" for g, t in tally.items())
          + f"; wrong (clip, factor, share, drift %, k): {wrong}")
    measured = BEAT_GRID_MEASURED[split]
    for g, (right, n_wrong) in zip(groups, measured[:3]):
        t = tally[g]
        assert t["wrong"] <= n_wrong, (g, t)
        # a little under the measured share right: one more miss than measured fails it
        assert t["share_right"] >= right / (right + n_wrong) - 0.5 / (right + n_wrong), (g, t)
    # unreliable is not a way out: at most one clip more than measured
    assert unsure <= measured[3] + 1
    # the own-tempo misses are trackers that barely cleared the unreliable line (0.31-0.38), except on
    # holdout11 and holdout17 no more confident ones than their builders' one measurement saw
    confident = [clip for clip, factor, *_ in wrong if factor == 1.0 and tracked[clip][2].confidence >= 0.4]
    assert len(confident) <= {"holdout11": 1, "holdout17": 1}.get(split, 0), confident


# ---- key ---------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("split", SPLITS)
def test_key_mirex(calibration: CalibrationSet, song_results: dict, split: str) -> None:
    """Issue 11 item 4. The estimator (seventeenth pass: the eleventh pass's learned key model and the sixteenth
    pass's key network read together; the KK+T profiles the model reads were chosen over EDMA on the calibrate
    split), flagged by the fourteenth pass's rule; wrong
    keys must mostly be flagged ambiguous (then the check is unreliable)."""
    _needs_songs(split)
    songs = calibration.of_kind("song", "tempo", split=split)
    res = {c.id: song_results[c.id].key for c in songs}
    minor = [c for c in songs if c.truth.key.endswith("minor")]
    mirex = statistics.fmean(res[c.id].mirex_score for c in songs)
    mirex_minor = statistics.fmean(res[c.id].mirex_score for c in minor)
    edma = statistics.fmean(mirex_key_score(c.truth.key, res[c.id].second_opinion) for c in songs)
    edma_minor = statistics.fmean(mirex_key_score(c.truth.key, res[c.id].second_opinion) for c in minor)
    wrong = [(c.id, res[c.id].key, res[c.id].margin, res[c.id].ambiguous) for c in songs if res[c.id].mirex_score < 1]
    confident_wrong = [w for w in wrong if not w[3]]
    print(f"key ({split}, {len(songs)} clips, {len(minor)} minor): MIREX {mirex:.3f}, minor {mirex_minor:.3f}; "
          f"EDMA alone {edma:.3f}, minor {edma_minor:.3f}; wrong (clip, estimate, margin, flagged): {wrong}; "
          f"right but flagged: {sum(r.ambiguous and r.mirex_score == 1 for r in res.values())}")
    # the profile estimator (the fourth pass's, shipped until the fourteenth) on the same clips: the
    # second opinion the flag reads
    prof = {cid: r.by_profiles for cid, r in res.items()}
    print(f"key by profiles ({split}): MIREX {statistics.fmean(prof[c.id].mirex_score for c in songs):.3f}, minor "
          f"{statistics.fmean(prof[c.id].mirex_score for c in minor):.3f}; wrong (clip, estimate, margin, flagged): "
          f"{[(c.id, prof[c.id].key, prof[c.id].margin, prof[c.id].ambiguous) for c in songs if prof[c.id].mirex_score < 1]}"
          f"; right but flagged: {sum(r.ambiguous and r.mirex_score == 1 for r in prof.values())}")
    # Floors a little under what the estimator reaches, so that any regression fails; wrong keys left
    # unflagged at exactly its count. The estimator is the seventeenth pass's (docs/analysis.md, "Key,
    # seventeenth pass": the eleventh pass's logit model and the sixteenth pass's key network read together,
    # flagged by the fourteenth pass's rule); every split but holdout16 is dev for it (notes/key-seventeenth-pass-dev.md
    # has each figure, and the fourteenth pass's on the same clips); holdout16 is its one blind split, evaluated once
    # after its freeze (0.770 / 0.674 / 3 of 40; the fourteenth pass 0.670 / 0.605 / 3). Its wrong keys left
    # unflagged are, by construction, among the profile estimator's on the same clips. A regression check, not a
    # target: issue 11 asks 0.90.
    floors = {  # split: (MIREX, minor MIREX, wrong keys left unflagged); measured in the comment
        "calibrate": (0.95, 0.92, 1),  # 0.972 / 0.942 / 1 of 25
        "holdout": (0.78, 0.77, 2),  # 0.800 / 0.787 / 2 of 16
        "holdout2": (0.86, 0.98, 0),  # 0.875 / 1.000 / 0 of 24
        "holdout3": (0.81, 0.98, 1),  # 0.828 / 1.000 / 1 of 32
        "holdout4": (0.73, 0.69, 4),  # real music: 0.745 / 0.712 / 4 of 40
        "holdout5": (0.77, 0.74, 2),  # 0.788 / 0.760 / 2
        "holdout6": (0.73, 0.74, 1),  # 0.748 / 0.759 / 1
        "holdout7": (0.83, 0.85, 1),  # 0.850 / 0.871 / 1 of 38
        "holdout8": (0.86, 0.89, 3),  # 0.880 / 0.914 / 3
        "holdout9": (0.75, 0.82, 3),  # 0.765 / 0.838 / 3
        "holdout10": (0.86, 0.83, 0),  # 0.878 / 0.855 / 0
        "holdout11": (0.85, 0.80, 1),  # 0.868 / 0.820 / 1
        "holdout12": (0.83, 0.81, 1),  # 0.845 / 0.832 / 1
        "holdout13": (0.80, 0.78, 2),  # 0.818 / 0.805 / 2
        "holdout14": (0.84, 0.86, 1),  # 0.863 / 0.880 / 1
        "holdout15": (0.79, 0.69, 1),  # 0.807 / 0.711 / 1
        "holdout16": (0.75, 0.65, 3),  # blind: 0.770 / 0.674 / 3 (scripts/holdout16_key_by_mode.py reads it apart)
        # built as holdout16 and measured once by its builder on the shipped (seventeenth pass) estimator; blind
        # for the key eighteenth pass (notes/holdout17-declaration.md): 0.785 / 0.768 / 0 of 40, aggregate only
        # (scripts/holdout17_key_by_mode.py reads it apart)
        "holdout17": (0.76, 0.74, 0),
    }
    if split == "calibrate":  # the estimator beats EDMA, overall and on minor keys, where its parts were chosen
        assert mirex >= edma and mirex_minor >= edma_minor
    if split in floors:
        low, low_minor, unflagged = floors[split]
        assert mirex >= low and mirex_minor >= low_minor and len(confident_wrong) <= unflagged, (mirex, mirex_minor)
    for c in songs:
        k = res[c.id]
        assert 0 < k.strength <= 1 and k.runner_up and k.margin >= 0
        if not k.ambiguous:  # unflagged only where the profile estimator reads the same key unflagged
            assert (k.by_profiles.key, k.by_profiles.ambiguous) == (k.key, False), (c.id, k)
        if k.mirex_score < 1:  # a wrong key is never judged a pass
            assert not song_results[c.id].passed.get("key", False)
            assert ("key" in song_results[c.id].unreliable) is k.ambiguous


@pytest.mark.slow
@pytest.mark.parametrize("split", ["calibrate", "holdout9"])
def test_an_unflagged_key_is_the_profile_estimators_unflagged_key(calibration: CalibrationSet, tracked: dict,
                                                                  song_results: dict, split: str) -> None:
    """Fourteenth pass, by construction (notes/key-fourteenth-pass.md): a key `analyze_key` leaves
    unflagged is one the profile estimator (the fourth pass's, shipped until then) reads alike and
    leaves unflagged, so no wrong key is left unflagged that it would not have left unflagged too.
    Checked on real clips against the profile estimator run on its own (`analyze_key_by_profiles`, as
    `analyze_audio` would have judged the key before), not the copy `analyze_key` carries. A
    generated split and a real-music one (holdout9: the model's most wrong keys unflagged before)."""
    th = Thresholds()
    seen = 0
    for c in calibration.of_kind("song", "tempo", split=split):
        r = song_results[c.id]
        y, sr, _ = tracked[c.id]
        mono = np.ascontiguousarray(y[:, 0]) if r.analysed_channel == "left" else as_mono(y)
        alone = analyze_key_by_profiles(finite(mono), sr, target_key=c.truth.key,
                                        ambiguous_strength=th.ambiguous_strength,
                                        ambiguous_margin=th.key_ambiguous_margin, min_duration_s=th.key_min_duration_s)
        assert r.key.by_profiles == alone, c.id
        if not r.key.ambiguous:
            seen += 1
            assert (alone.key, alone.ambiguous) == (r.key.key, False), (c.id, r.key, alone)
        elif alone.ambiguous:
            assert r.key.ambiguity.startswith(("no pitched", "too short", "weak", "the profile estimator flags")), r.key
        elif alone.key != r.key.key:
            assert r.key.ambiguity == f"estimators disagree (the profile estimator reads {alone.key}, unflagged)"
    assert seen  # the split holds unflagged keys: the check above ran


@pytest.mark.slow
@pytest.mark.parametrize("split", ["calibrate", "holdout"])
def test_short_clips_get_no_confident_key(calibration: CalibrationSet, tracked: dict, split: str) -> None:
    """Issue 11 item 4: 0.3 s and 1.5 s clips got a confident key; now they are unreliable."""
    per: dict[float, list[float]] = {}
    for c in calibration.of_kind("song", split=split):
        y, sr, _ = tracked[c.id]
        for seconds in (0.3, 1.5, 6.0):
            part = y[int(2 * sr): int((2 + seconds) * sr)]
            r = analyze_audio(part, sr, key=c.truth.key)
            per.setdefault(seconds, []).append(r.key.mirex_score)
            if seconds < 3:
                assert r.key.ambiguous and r.key.too_short and "key" in r.unreliable and "key" not in r.passed
    print(f"key on excerpts ({split}): " + ", ".join(f"{s:g} s MIREX {statistics.fmean(v):.2f}"
                                                     for s, v in per.items()))


# ---- boundaries --------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def boundary_results(calibration: CalibrationSet) -> dict:
    out = {}
    for c in calibration.of_kind("edit"):
        y, sr = load_audio(calibration.path(c))
        out[c.id] = analyze_boundaries(y, sr, boundaries_s=c.truth.boundaries_s)
    return out


@pytest.mark.slow
def test_boundaries_flag_edits_and_spare_crossfades(calibration: CalibrationSet, boundary_results: dict) -> None:
    for c in calibration.of_kind("edit"):
        got = [b.flagged for b in boundary_results[c.id].boundaries]
        assert got == c.truth.boundary_should_flag, (c.id, boundary_results[c.id])


@pytest.mark.slow
def test_hard_splice_separated_from_crossfade(calibration: CalibrationSet, boundary_results: dict) -> None:
    by_edit: dict[str, list[float]] = {}
    for c in calibration.of_kind("edit"):
        for b in boundary_results[c.id].boundaries:
            by_edit.setdefault(c.truth.edit, []).append(b.click_z)
    hard, soft = by_edit["hard_splice"], by_edit["crossfade_splice"] + by_edit["untouched"]
    print(f"click z: hard splices {sorted(hard)}; crossfades/untouched max {max(soft):.2f}")
    assert min(hard) > max(soft) + 2
    steps = {e: [b.step_z for c in calibration.of_kind("edit") if c.truth.edit == e
                 for b in boundary_results[c.id].boundaries] for e in ("level_jump", "lowpass_region", "untouched")}
    assert min(steps["level_jump"]) > max(steps["untouched"]) + 1
    assert min(steps["lowpass_region"]) > max(steps["untouched"])
    for c in calibration.of_kind("edit"):
        if c.truth.edit == "level_jump":
            assert all(b.level_step_db > 4 for b in boundary_results[c.id].boundaries)


# ---- preservation ------------------------------------------------------------------------------

@pytest.mark.slow
def test_preservation_separates_untouched_from_regenerated(calibration: CalibrationSet) -> None:
    res = {}
    limit = Thresholds().preservation_max_mel_db
    for c in calibration.of_kind("preservation"):
        y, sr = load_audio(calibration.path(c))
        src, _ = load_audio(calibration.path(c.truth.source_clip))
        res[c.id] = analyze_preservation(y, sr, src, region_s=c.truth.region_s)
        assert (res[c.id].outside.mel_distance_db <= limit) is c.truth.preserved, (c.id, res[c.id])
    kept = res["pop_120__repaint_preserved"]
    regen = res["pop_120__repaint_regenerated"]
    assert kept.outside.mel_distance_db < 1.0 < 5.0 < regen.outside.mel_distance_db
    assert kept.outside.snr_db > 20 > 0 > regen.outside.snr_db
    assert kept.inside.mel_distance_db > 5.0  # the region itself did change
    assert kept.lag_s == pytest.approx(300 / 44100, abs=2 / 44100)  # the codec-like delay was aligned away


def test_preservation_aligns_a_shifted_copy(calibration: CalibrationSet) -> None:
    y, sr = load_audio(calibration.path("funk_tight"))
    shifted = np.concatenate([np.zeros(441, dtype=np.float32), y])[: y.size]
    r = analyze_preservation(shifted, sr, y, region_s=(6.0, 9.0))
    assert r.lag_s == pytest.approx(0.01, abs=1e-4)
    assert r.outside.mel_distance_db < 0.1 and r.inside.mel_distance_db < 0.1


# ---- repaint boundaries and preservation against the source (issue 11) -------------------------
# Thresholds were chosen on split == "calibrate"; the issue's targets are asserted on "holdout"
# (other songs and arrangements rendered with TimGM6mb, docs/analysis.md).

@pytest.fixture(scope="session")
def repaint_results(calibration: CalibrationSet) -> dict:
    """clip id -> (clip, BoundaryResult, PreservationResult), each judged against its source."""
    out = {}
    sources: dict[str, np.ndarray] = {}
    for c in calibration.of_kind("repaint"):
        y, sr = load_audio(calibration.path(c))
        if c.truth.source_clip not in sources:
            sources[c.truth.source_clip] = load_audio(calibration.path(c.truth.source_clip))[0]
        src = sources[c.truth.source_clip]
        out[c.id] = (c, analyze_boundaries(y, sr, boundaries_s=c.truth.boundaries_s, source=src),
                     analyze_preservation(y, sr, src, region_s=c.truth.region_s))
    return out


def _edges(repaint_results: dict, split: str) -> tuple[list[float], list[bool], list[bool]]:
    scores, flagged, truth = [], [], []
    for c, bounds, _ in repaint_results.values():
        if c.split != split:
            continue
        assert bounds.source_compared and len(bounds.boundaries) == 2, c.id
        for b, t in zip(bounds.boundaries, c.truth.boundary_should_flag):
            scores.append(b.artifact_score)
            flagged.append(b.flagged)
            truth.append(t)
    return scores, flagged, truth


def test_repaint_set_is_split_and_covers_issue_11(calibration: CalibrationSet) -> None:
    reps = calibration.of_kind("repaint")
    for split in ("calibrate", "holdout"):
        edits = {c.truth.edit for c in reps if c.split == split}
        assert {"hard_cut", "spike", "dropout", "revoiced", "crossfade", "untouched", "outside_span",
                "outside_swap"} <= edits, split
        styles = {c.style for c in reps if c.split == split}
        assert {"strings", "flute"} <= styles, split  # sustained instruments
    held = {c.derived_from for c in reps if c.split == "holdout"}
    tuned = {c.derived_from for c in reps if c.split == "calibrate"}
    assert held and not held & tuned  # no song is in both splits
    # outside the repaint set, only the held-out songs (tempo, key) and the health cases made from
    # them are held out, all rendered with another soundfont than FluidR3
    held_songs = {s.name for s in HOLDOUT_SONGS}
    for c in calibration.clips:
        if c.kind not in ("repaint", "source") and c.split == "holdout":
            assert (c.id if c.kind == "song" else c.derived_from) in held_songs, c.id
            assert c.soundfont in ("timgm6mb", "musescore"), c.id


def test_recordings_split_holds_what_docs_say(calibration: CalibrationSet) -> None:
    """Real produced recordings: one excerpt per track of three Debian game-data packages, the nine
    repaint edits of the generated set from each, the health problems, and no song (no tempo or key truth)."""
    from acekit.calibration import recordings

    assert not calibration.of_kind("song", "tempo", "edit", "preservation", split="recordings")
    sources = calibration.of_kind("source", split="recordings")
    reps = calibration.of_kind("repaint", split="recordings")
    assert len(sources) == len(recordings.TRACKS) == 12 and len(reps) == 9 * len(sources)
    assert {c.recording.package for c in sources} == set(recordings.PACKAGES)
    assert {c.recording.placement for c in sources} == {"section", "plain"}
    for c in sources:
        r = c.recording
        assert c.truth.duration_s == pytest.approx(recordings.EXCERPT_S, abs=0.01)
        assert abs(r.take_lag_s) >= recordings.MIN_TAKE_LAG_S and r.take_copy_corr < recordings.MAX_TAKE_COPY_CORRELATION
        assert r.revoiced_from != c.id.removeprefix("rec_") and r.licence.startswith("GPL-2")
        assert c.truth.healthy is (True if r.clipped_runs == 0 else None)  # the clipped-master rule
        edits = sorted(x.truth.edit for x in reps if x.derived_from == c.id)
        assert edits == sorted(build_edits()), c.id
    assert sum(bool(c.truth.healthy) for c in sources) >= 8
    health = calibration.of_kind("health", split="recordings")
    assert {c.truth.health_problem for c in health} == {"clipping", "silence", "nan", "dc_offset", "antiphase"}
    assert all(calibration.get(c.derived_from).truth.healthy for c in health)  # built from unclipped excerpts
    # same edit vocabulary and truth as the generated repaint set
    gen = {c.truth.edit: (c.truth.boundary_should_flag, c.truth.preserved) for c in calibration.of_kind("repaint")
           if c.split == "calibrate"}
    for c in reps:
        assert (c.truth.boundary_should_flag, c.truth.preserved) == gen[c.truth.edit], c.id


def build_edits() -> tuple[str, ...]:
    from acekit.calibration.build import _REPAINT_EDITS

    return _REPAINT_EDITS


def _missed_edges(repaint_results: dict, split: str) -> list[tuple]:
    """(clip, edge s, artifact score, reasons, truth) of every edge whose verdict is wrong."""
    return [(c.id, b.time_s, None if b.artifact_score is None else round(b.artifact_score, 3), b.reasons, t)
            for c, bounds, _ in repaint_results.values() if c.split == split
            for b, t in zip(bounds.boundaries, c.truth.boundary_should_flag) if b.flagged != t]


@pytest.mark.slow
@pytest.mark.parametrize("split", ["calibrate", "holdout", "recordings"])
def test_boundary_artifacts_against_the_source(repaint_results: dict, split: str) -> None:
    from acekit.calibration.scoring import precision_recall, roc_auc

    scores, flagged, truth = _edges(repaint_results, split)
    auc = roc_auc(scores, truth)
    precision, recall = precision_recall(flagged, truth)
    print(f"{split}: {len(truth)} edges ({sum(truth)} artifacts): AUC {auc:.3f}, precision {precision:.3f}, "
          f"recall {recall:.3f}; missed (clip, edge s, score, reasons, truth): {_missed_edges(repaint_results, split)}")
    if split in ("holdout", "recordings"):  # issue 11's targets, on music no threshold was tuned on
        # recordings: real produced music, frozen before its one evaluation (docs/analysis.md "The
        # recordings split"): AUC 0.988, precision 0.864, recall 0.990, the targets met
        assert auc >= 0.95 and precision >= 0.85 and recall >= 0.85
    else:  # the thresholds were chosen here: they must at least separate what they were chosen on
        assert auc >= 0.95 and precision >= 0.85 and recall >= 0.85


@pytest.mark.slow
def test_boundary_cases_named_in_issue_11(repaint_results: dict) -> None:
    for c, bounds, _ in repaint_results.values():
        if c.split == "recordings":
            continue  # judged on the issue's targets; every missed edge is printed by the test above
        edges = bounds.boundaries
        if c.truth.edit in ("untouched", "untouched_exact"):
            # output equals the source: drums coming in / a phrase resuming at the edge is not an artifact
            assert not any(b.flagged for b in edges), (c.id, edges)
        elif c.truth.edit == "spike":
            assert all("click" in b.reasons for b in edges), (c.id, edges)  # drum-heavy mixes too
        elif c.truth.edit == "dropout":
            assert all("dropout" in b.reasons for b in edges), (c.id, edges)
        elif c.truth.edit == "hard_cut" and c.style in ("strings", "flute"):
            assert all("click" in b.reasons for b in edges), (c.id, edges)  # sustained-instrument splices
        elif c.truth.edit == "crossfade":
            assert not any("click" in b.reasons or "dropout" in b.reasons for b in edges), (c.id, edges)


def test_edit_clips_judged_against_their_source(calibration: CalibrationSet) -> None:
    """The older edit clips (same timeline as their song) read the same way with the source."""
    for c in calibration.of_kind("edit"):
        if c.truth.edit not in ("level_jump", "lowpass_region", "untouched"):
            continue  # jump-ahead splices have no same-moment source
        y, sr = load_audio(calibration.path(c))
        src, _ = load_audio(calibration.path(c.derived_from))
        got = analyze_boundaries(y, sr, boundaries_s=c.truth.boundaries_s, source=src)
        assert [b.flagged for b in got.boundaries] == c.truth.boundary_should_flag, (c.id, got)
        if c.truth.edit == "level_jump":
            assert all(b.level_step_db > 4 for b in got.boundaries)


@pytest.mark.slow
@pytest.mark.parametrize("split", ["calibrate", "holdout", "recordings"])
def test_windowed_preservation_verdicts(calibration: CalibrationSet, repaint_results: dict, split: str) -> None:
    from acekit.analysis.clip import preserved_outside
    from acekit.calibration.scoring import accuracy

    got, truth, mean_only, missed = [], [], [], []
    limit = Thresholds().preservation_max_mel_db
    for c, _, pres in repaint_results.values():
        if c.split != split:
            continue
        got.append(preserved_outside(pres))
        truth.append(bool(c.truth.preserved))
        mean_only.append(pres.outside.mel_distance_db <= limit)
        if got[-1] != truth[-1]:
            o = pres.outside
            missed.append((c.id, truth[-1], o.mel_distance_db, o.worst_mel_distance_db, o.worst_snr_db))
        if split == "recordings":
            continue  # judged on the issue's target only (blind); misses printed below
        if c.truth.edit in ("outside_span", "outside_swap"):
            # the changed 2 s span is the worst window; the mean over the outside hides it
            sa = pres.outside.worst_mel_window_s
            assert pres.outside.worst_mel_distance_db > 3 and pres.outside.worst_snr_db < 3, (c.id, pres)
            assert sa is not None and pres.outside.worst_snr_window_s is not None
    acc, acc_mean = accuracy(got, truth), accuracy(mean_only, truth)
    print(f"{split}: {len(truth)} clips ({truth.count(False)} changed outside): windowed accuracy {acc:.3f}, "
          f"mean-only {acc_mean:.3f}; missed (clip, preserved, mean mel dB, worst window mel dB, worst window SNR): "
          f"{missed}")
    # issue 11's target; recordings (frozen before its one evaluation, docs/analysis.md): 0.991
    assert acc >= 0.97
    if split != "recordings":
        assert acc_mean < acc  # what the windows add


# ---- health ------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("split", SPLITS)
def test_health_on_constructed_cases(calibration: CalibrationSet, split: str) -> None:
    res = {c.id: analyze_clip(calibration.path(c), bpm=c.truth.bpm_requested, key=c.truth.key,
                              time_signature=c.truth.time_signature)
           for c in calibration.of_kind("health", split=split)}
    songs = calibration.of_kind("song", split=split)
    if split == "recordings":  # every excerpt the clipped-master rule passes must be judged healthy
        songs = [c for c in calibration.of_kind("source", split=split) if c.truth.healthy]
        assert len(songs) >= 8
    # the songs need only the health verdict: check_health is analyze_audio's health path without tempo and key
    # (test_check_health_is_analyze_audios_health_verdict), a few seconds per song fewer
    goods = [check_health(*load_audio(calibration.path(c), mono=False)[:2], duration_s=c.truth.duration_s)
             for c in songs]
    print(f"health ({split}): cases flagged {sum(not r.passed['health'] for r in res.values())} / {len(res)} "
          f"{[cid for cid, r in res.items() if r.passed['health']]}, songs healthy "
          f"{sum(ok for _, ok in goods)} / {len(goods)}; songs |DC| max "
          f"{max(abs(h.dc_offset) for h, _ in goods):.5f}, L/R correlation "
          f"{min(h.stereo_correlation for h, _ in goods):+.2f}..{max(h.stereo_correlation for h, _ in goods):+.2f}")
    # every split, the blind ones too: no health threshold was changed after holdout2, holdout3,
    # holdout4 to holdout10 and recordings were built, and each case was right on them at their
    # one evaluation (issue 11: every case right; recordings: 7 of 7 flagged, 10 of 10 excerpts healthy)
    for cid, r in res.items():
        assert not r.passed["health"], cid
    assert all(ok for _, ok in goods), [(c.id, h) for c, (h, ok) in zip(songs, goods) if not ok]
    for cid, r in res.items():
        problem = calibration.get(cid).truth.health_problem
        if problem == "dc_offset":
            assert abs(r.health.dc_offset) >= 0.09 and not r.health.antiphase
        if problem == "antiphase":
            # detected, and every analyser read one channel instead of the cancelled mean
            assert r.health.antiphase and r.health.stereo_correlation < -0.99 and r.analysed_channel == "left"
            assert r.health.silence_share < 0.1 and not r.health.silent
            if calibration.get(cid).truth.bpm_requested is None:
                continue  # recordings: no tempo or key truth
            # music, not dither: the song's tempo and a key the song supports (or flagged ambiguous)
            assert r.tempo.verdict in ("pass", "unreliable") and r.key.key is not None, (cid, r.tempo)
            assert r.key.mirex_score >= 0.5 or r.key.ambiguous, (cid, r.key)
    if split != "calibrate":
        return
    good = analyze_clip(calibration.path("pop_piano"), duration_s=calibration.get("pop_piano").truth.duration_s)
    assert good.passed["health"] and -40 < good.health.integrated_lufs < -10
    assert good.health.clipping_share == 0 and good.health.silence_share < 0.1
    clipped = res["pop_piano__clipped"].health
    assert clipped.clipping_share > 1e-3 and clipped.true_peak_dbfs > 0
    assert clipped.integrated_lufs > good.health.integrated_lufs + 10
    dies = res["pop_piano__dies_to_silence"].health
    assert dies.silence_share == pytest.approx(0.6, abs=0.05) and not dies.silent
    silent = res["digital_silence"].health
    assert silent.silent and silent.integrated_lufs is None and silent.silence_share == 1.0  # no -inf
    assert res["digital_silence"].key.key is None and res["digital_silence"].tempo.bpm == 0
    nan = res["pop_piano__nan"].health
    assert nan.has_nonfinite and nan.nonfinite_samples == pytest.approx(0.2 * 44100 * 2, rel=0.01)
    assert nan.integrated_lufs is not None  # the rest is still measured
    assert res["funk_tight__dc_offset"].health.dc_offset == pytest.approx(0.3, abs=0.01)


def test_loudness_follows_gain_and_duration_is_checked(calibration: CalibrationSet) -> None:
    y, sr = load_audio(calibration.path("edm_128"), mono=False)
    a = analyze_health(y.mean(axis=1), sr, stereo=y)
    b = analyze_health((y * 0.5).mean(axis=1), sr, stereo=y * 0.5)
    assert b.integrated_lufs == pytest.approx(a.integrated_lufs - 6.02, abs=0.05)
    c = analyze_health(y.mean(axis=1), sr, expected_duration_s=30.0)
    assert c.duration_error_s == pytest.approx(y.shape[0] / sr - 30.0, abs=1e-3)


# ---- the scorecard (acekit scorecard) reads what these tests read -------------------------------

@pytest.mark.slow
def test_scorecard_judges_a_split_as_these_tests_do(calibration: CalibrationSet, tracked: dict, song_results: dict,
                                                   repaint_results: dict) -> None:
    """`acekit scorecard --split holdout` gives the verdicts these tests assert on, clip by clip, so a user's own
    labelled set is judged the way acekit's figures are."""
    from typer.testing import CliRunner

    from acekit.analysis.clip import preserved_outside
    from acekit.calibration.scorecard import Scorecard
    from acekit.cli.main import app

    res = CliRunner().invoke(app, ["scorecard", "--split", "holdout", "--set-dir", str(calibration.root.parent),
                                   "--workers", "2", "--json"])
    assert res.exit_code == 0, res.output
    card = Scorecard.model_validate_json(res.stdout)
    assert not card.failed and set(card.figures) == {"all"}
    assert len(card.clips) == len(from_calibration(calibration, ["holdout"]))
    by_id = {c.id: c for c in card.clips}
    # tempo: the same four judgements per song, the same verdicts
    assert sorted((c, round(b, 3), w, g) for c, b, w, g in _tempo_cases(calibration, tracked, "holdout")) == sorted(
        (c.id, round(j.requested_bpm, 3), j.expected, j.verdict) for c in card.clips for j in c.tempo)
    # key: every song and tempo variant, the same reading and flag
    keyed = calibration.of_kind("song", "tempo", split="holdout")
    assert {c.id for c in card.clips if c.key_mirex is not None} == {c.id for c in keyed}
    for c in keyed:
        k = song_results[c.id].key
        assert (by_id[c.id].key_estimate, by_id[c.id].key_mirex, by_id[c.id].key_flagged) == (
            k.key, k.mirex_score, k.ambiguous), c.id
    # health: every case found, every song healthy (test_health_on_constructed_cases)
    cases = calibration.of_kind("health", split="holdout")
    assert cases and all(by_id[c.id].health_passed is False for c in cases)
    assert all(by_id[c.id].health_passed for c in calibration.of_kind("song", split="holdout"))
    # repaints: the preservation verdict, and each edge's flag where the edit sits on the region's edge
    for c, bounds, pres in repaint_results.values():
        if c.split != "holdout":
            continue
        assert by_id[c.id].preserved_verdict is preserved_outside(pres), c.id
        if c.truth.boundaries_s == list(c.truth.region_s):
            assert [e.flagged for e in by_id[c.id].edges] == [b.flagged for b in bounds.boundaries], c.id
    figures = {f.name: f for f in card.figures["all"]}
    print("scorecard (holdout):", {n: (f.value, f.n, f.met) for n, f in figures.items()})
    assert figures["boundary_auc"].n == 72 and figures["boundary_recall"].n == 32  # every edge, hard cuts too
    for name in ("tempo_right", "health_right", "boundary_auc", "boundary_precision", "boundary_recall",
                 "preservation_accuracy"):
        assert figures[name].met, figures[name]  # issue 11's targets hold on holdout (the tests above)
    assert figures["key_mirex"].met is False  # 0.800 on holdout: item 4 is not met, and the scorecard says so
