"""Key: essentia's HPCP chroma, a scale from the pitch-class profile, then the tonic among the
keys sharing that scale from tonic evidence; scored against the request the MIREX way.

Stage one is the Krumhansl-Schmuckler estimate acekit used before (mean HPCP correlated with the
Krumhansl-Kessler 1982 and Temperley 2007 profiles, averaged) plus the diatonic collection that
holds most of the chroma. A global profile cannot tell apart keys that share a scale (a dorian
tune and the major key of its IV, a V-heavy tune and its dominant, a vi-heavy tune and its
relative minor), so stage two chooses the tonic among the collection's I, ii (dorian minor),
V (mixolydian major) and vi (minor) and the profiles' best key, by the profile correlation
plus tonic evidence from a chord sequence read off the same chroma (one triad per second):
how often the key's major V (with its leading tone) sounds, alone and together with the tonic
chord, and how often the harmony resolves V -> I or IV -> I (iv -> i). This assumes tonal
harmony in which dominants resolve to the tonic; it uses no position in the clip (neither the
first nor the last chord), so music that starts or stops elsewhere is read the same way.
Weights and thresholds were chosen on the dev splits (calibrate and the old holdout, whole clips,
8 s excerpts and progression-rotated variants), and then evaluated once on unseen songs
(``holdout2``): docs/analysis.md has the figures and how data was held out.

The runner-up key is kept: a close call (runner-up within `AMBIGUOUS_MARGIN`; every candidate
shares the scale, so any runner-up is a plausible reading), a clip too short to hold a key, or a
weak profile fit is flagged ``ambiguous``; a wrong key that is flagged makes the key check
unreliable, not failed. essentia's ``KeyExtractor(profileType="edma")`` is reported as a second
opinion; on dev its disagreement flagged far more right keys than wrong ones, so it no longer flags.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel

from acekit.analysis.audio import ANALYSIS_SR, as_mono, essentia_algorithm, essentia_standard, finite, resample
from acekit.keys import Key, parse_key

#: Score margin (best - runner-up among the candidate tonics) under which the estimate is a close
#: call. Dev splits (whole clips, original and rotated progressions): 0.20 left 5 of 12 wrong keys
#: unflagged (the i-VI-III-VII tunes read as their relative major, margin >= 0.43, are not
#: catchable by margin) and flagged 18 of 67 right ones; on 8 s excerpts 19 of 58 and 57 of 218.
AMBIGUOUS_MARGIN = 0.2
#: Clips shorter than this hold too few chords for a key: the key check is unreliable whatever the
#: estimate. Calibrate split: MIREX of 0.3 s excerpts 0.30, 1.5 s 0.43, 6 s 0.77, whole clips
#: 0.91 (printed by tests/test_analysis_calibration.py).
MIN_KEY_DURATION_S = 3.0
#: Strength (the best key's mean correlation) under which the estimate is ambiguous (noise,
#: drones). Calibrate split: songs 0.61-0.94.
AMBIGUOUS_STRENGTH = 0.5

#: Key profiles, tonic first (C major / C minor).
PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    # Krumhansl & Kessler (1982), probe-tone ratings
    "krumhansl": ((6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
                  (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)),
    # Temperley (2007), Kostka-Payne corpus
    "temperley": ((5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0),
                  (5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0)),
}
#: Tonic evidence (`tonic_evidence`): chords are read per ``CHORD_SEGMENT_S`` of chroma, and
#: a segment whose best triad correlates under ``CHORD_MIN_FIT`` holds no chord.
CHORD_SEGMENT_S = 1.0
CHORD_MIN_FIT = 0.3
#: Weights of the tonic evidence added to the profile correlation (docs/analysis.md, chosen on
#: the dev splits: a plateau, neighbours within 0.01).
TONIC_WEIGHTS = {"dominant": 0.25, "dominant_with_tonic": 0.25, "cadence": 0.5}
_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


class KeyResult(BaseModel):
    key: str | None  # canonical, e.g. "A minor"; None on silence
    strength: float  # the best key's mean profile correlation, -1..1 (used as confidence)
    ambiguous: bool  # close call between related keys, too short, or weak
    runner_up: str | None = None  # the second-best key
    second_opinion: str | None = None  # essentia KeyExtractor(profileType="edma")
    margin: float | None = None  # best - runner-up score (profile correlation + tonic evidence)
    ambiguity: str | None = None  # why ambiguous: "too short", "close call with the relative key" ...
    too_short: bool = False  # shorter than the minimum duration (or no pitched content): no key to judge
    target_key: str | None = None
    mirex_score: float | None = None
    relation: str | None = None  # same | fifth | relative | parallel | other


def mirex_key_score(ref: Key | str, est: Key | str) -> float:
    """MIREX key score of ``est`` against ``ref``: 1.0 same key, 0.5 a perfect fifth *above* in the
    same mode, 0.3 relative major/minor, 0.2 parallel major/minor, else 0.

    The rule of MIREX Audio Key Detection (as in ``mir_eval.key.weighted_score``), on pitch
    classes, so enharmonic spellings (F# / Gb) score as the same key.
    """
    ref, est = parse_key(ref), parse_key(est)
    return _SCORES[key_relation(ref, est)]


_SCORES = {"same": 1.0, "fifth": 0.5, "relative": 0.3, "parallel": 0.2, "other": 0.0}


def key_relation(ref: Key, est: Key) -> str:
    """``same``, ``fifth`` (est a fifth above ref, same mode), ``relative``, ``parallel`` or ``other``."""
    d = (est.pitch_class - ref.pitch_class) % 12
    if ref.mode == est.mode:
        return "same" if d == 0 else "fifth" if d == 7 else "other"
    if d == 0:
        return "parallel"
    if (ref.mode == "major" and d == 9) or (ref.mode == "minor" and d == 3):
        return "relative"
    return "other"


def chroma_frames(y: np.ndarray, sr: int) -> np.ndarray:
    """12-bin HPCP per frame of ``y`` (essentia SpectralPeaks + HPCP, 4096-sample frames, hop 2048
    at 44.1 kHz), shape ``(frames, 12)``, index 0 = C. No frames when ``y`` is silent or shorter than one frame.
    """
    y = finite(as_mono(y))
    if sr != ANALYSIS_SR:
        y = resample(y, sr, ANALYSIS_SR)
    if y.size < 4096 or float(np.max(np.abs(y), initial=0.0)) < 1e-5:
        return np.zeros((0, 12))
    window = essentia_algorithm("Windowing", type="blackmanharris62")
    spectrum = essentia_algorithm("Spectrum")
    peaks = essentia_algorithm("SpectralPeaks", orderBy="magnitude", magnitudeThreshold=1e-5, minFrequency=40,
                               maxFrequency=5000, maxPeaks=60, sampleRate=ANALYSIS_SR)
    hpcp = essentia_algorithm("HPCP", size=12, referenceFrequency=440, harmonics=4, bandPreset=False, minFrequency=40,
                              maxFrequency=5000, weightType="cosine", nonLinear=False, windowSize=1.0,
                              sampleRate=ANALYSIS_SR)
    frames = [hpcp(*peaks(spectrum(window(f))))
              for f in essentia_standard().FrameGenerator(np.ascontiguousarray(y, dtype=np.float32), frameSize=4096,
                                                          hopSize=2048, startFromZero=True)]
    return np.roll(np.asarray(frames, dtype=np.float64), -3, axis=1)  # essentia's bin 0 is A (440 Hz): rotate to C


def chroma(y: np.ndarray, sr: int) -> np.ndarray:
    """Mean 12-bin HPCP of ``y`` (`chroma_frames`), index 0 = C; zeros when there are no frames."""
    frames = chroma_frames(y, sr)
    return frames.mean(axis=0) if len(frames) else np.zeros(12)


def key_correlations(pcp: np.ndarray, profiles: tuple[str, ...] = ("krumhansl", "temperley")) -> np.ndarray:
    """Mean Pearson correlation of a 12-bin pitch-class profile (index 0 = C) with each key's
    profile: shape ``(24,)``, majors C..B then minors C..B.

    The Krumhansl-Schmuckler key-finding algorithm (Krumhansl 1990, "Cognitive Foundations of
    Musical Pitch"), averaged over ``profiles`` (names in `PROFILES`).
    """
    pcp = np.asarray(pcp, dtype=np.float64)
    if pcp.shape != (12,):
        raise ValueError(f"pcp must have 12 bins, got shape {pcp.shape}")
    if not np.isfinite(pcp).all() or np.ptp(pcp) == 0:
        return np.zeros(24)
    out = np.zeros(24)
    for name in profiles:
        for m, prof in enumerate(PROFILES[name]):
            for t in range(12):
                out[m * 12 + t] += np.corrcoef(pcp, np.roll(np.asarray(prof), t))[0, 1]
    return out / len(profiles)


def _key_of(index: int) -> Key:
    return parse_key(f"{_NAMES[index % 12]} {'major' if index < 12 else 'minor'}")


_MAJOR_SCALE = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=bool)


def scale_of(pcp: np.ndarray) -> int:
    """The diatonic collection that holds most of ``pcp``'s weight, as the pitch class of its major
    tonic (0 = the white keys). Stage one of `key_scores`: the scale, before the tonic."""
    pcp = np.asarray(pcp, dtype=np.float64)
    return int(np.argmax([pcp[np.roll(_MAJOR_SCALE, r)].sum() for r in range(12)]))


def tonic_candidates(pcp: np.ndarray, corr: np.ndarray) -> list[int]:
    """Key indices (majors 0-11, minors 12-23) that can be the tonic of ``pcp``'s collection:
    its major key (I), the minor keys on ii (dorian) and vi (aeolian, or harmonic minor, whose
    raised 7th is one note outside), the major key on V (mixolydian), plus the profiles' best key."""
    c = scale_of(pcp)
    return sorted({c, 12 + (c + 2) % 12, (c + 7) % 12, 12 + (c + 9) % 12, int(np.argmax(corr))})


def _triad_templates() -> np.ndarray:
    t = np.zeros((24, 12))
    for r in range(12):
        t[r, [r, (r + 4) % 12, (r + 7) % 12]] = 1  # major
        t[12 + r, [r, (r + 3) % 12, (r + 7) % 12]] = 1  # minor
    t -= t.mean(axis=1, keepdims=True)
    return t / np.linalg.norm(t, axis=1, keepdims=True)


_TRIADS = _triad_templates()


def chord_sequence(frames: np.ndarray, *, frame_rate: float = ANALYSIS_SR / 2048,
                   segment_s: float = CHORD_SEGMENT_S, min_fit: float = CHORD_MIN_FIT) -> list[int]:
    """One triad per ``segment_s`` of chroma frames (index like keys: majors 0-11, minors 12-23),
    -1 where no triad correlates at least ``min_fit`` with the segment's mean chroma."""
    n = max(1, int(round(segment_s * frame_rate)))
    out = []
    for i in range(0, len(frames), n):
        h = frames[i:i + n].mean(axis=0)
        h = h - h.mean()
        norm = np.linalg.norm(h)
        if norm < 1e-9:
            out.append(-1)
            continue
        fit = _TRIADS @ (h / norm)
        best = int(np.argmax(fit))
        out.append(best if fit[best] >= min_fit else -1)
    return out


def tonic_evidence(chords: list[int]) -> np.ndarray:
    """Per key (24): the weighted tonic evidence of `TONIC_WEIGHTS` from a chord sequence.

    ``dominant``: share of chord segments on the key's major V (with its leading tone);
    ``dominant_with_tonic``: sqrt(V share x I share), dominant evidence only where the tonic chord
    sounds too; ``cadence``: share of chord changes that resolve V -> I or IV -> I (iv -> i in minor).
    """
    sure = [c for c in chords if c >= 0]
    if not sure:
        return np.zeros(24)
    share = np.bincount(sure, minlength=24) / len(sure)
    changes = [c for i, c in enumerate(sure) if i == 0 or c != sure[i - 1]]
    moves = np.zeros((24, 24))
    for a, b in zip(changes, changes[1:]):
        moves[a, b] += 1
    moves /= max(1.0, moves.sum())
    out = np.zeros(24)
    for k in range(24):
        t, minor = k % 12, k >= 12
        dom, sub = (t + 7) % 12, (t + 5) % 12 + (12 if minor else 0)
        out[k] = (TONIC_WEIGHTS["dominant"] * share[dom]
                  + TONIC_WEIGHTS["dominant_with_tonic"] * np.sqrt(share[dom] * share[k])
                  + TONIC_WEIGHTS["cadence"] * (moves[dom, k] + moves[sub, k]))
    return out


def key_scores(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(scores, correlations), both shape (24,): profile correlation of the mean chroma plus tonic
    evidence, for the `tonic_candidates` only (``-inf`` elsewhere); zeros when there is no pitch."""
    if len(frames) == 0:
        return np.zeros(24), np.zeros(24)
    pcp = frames.mean(axis=0)
    corr = key_correlations(pcp)
    if not corr.any():
        return np.zeros(24), corr
    scores = np.full(24, -np.inf)
    cands = tonic_candidates(pcp, corr)
    scores[cands] = corr[cands] + tonic_evidence(chord_sequence(frames))[cands]
    return scores, corr


def estimate_key(y: np.ndarray, sr: int) -> tuple[Key | None, float]:
    """(key, strength) of `key_scores`: strength is the chosen key's profile correlation; (None, 0) on silence."""
    key, strength, _runner, _margin = _estimate(y, sr)
    return key, strength


def _estimate(y: np.ndarray, sr: int) -> tuple[Key | None, float, Key | None, float]:
    scores, corr = key_scores(chroma_frames(y, sr))
    if not corr.any():
        return None, 0.0, None, 0.0
    order = np.argsort(-scores)
    best, runner = int(order[0]), int(order[1])
    return _key_of(best), float(corr[best]), _key_of(runner), float(scores[best] - scores[runner])


def _edma(y: np.ndarray, sr: int) -> Key | None:
    """essentia ``KeyExtractor(profileType="edma")``: acekit's first estimator, kept as a second opinion."""
    y = finite(as_mono(y))
    if sr != ANALYSIS_SR:
        y = resample(y, sr, ANALYSIS_SR)
    if y.size < 4096 or float(np.max(np.abs(y), initial=0.0)) < 1e-5:
        return None
    tonic, scale, _strength = essentia_algorithm("KeyExtractor", profileType="edma", sampleRate=ANALYSIS_SR)(
        np.ascontiguousarray(y, dtype=np.float32))
    return parse_key(f"{tonic} {scale}")


def analyze_key(
    y: np.ndarray, sr: int, *, target_key: Key | str | None = None, ambiguous_strength: float = AMBIGUOUS_STRENGTH,
    ambiguous_margin: float = AMBIGUOUS_MARGIN, min_duration_s: float = MIN_KEY_DURATION_S,
) -> KeyResult:
    """Estimate the key of ``y``; with ``target_key`` add the MIREX score and the relation's name.

    ``ambiguous`` (with the reason in ``ambiguity``) when the clip is shorter than
    ``min_duration_s``, the strength is under ``ambiguous_strength``, or the runner-up (a key
    sharing the scale) scores within ``ambiguous_margin``. ``second_opinion`` is EDMA's reading.
    """
    key, strength, runner, margin = _estimate(y, sr)
    duration = np.asarray(y).shape[0] / sr
    other = _edma(y, sr) if key is not None else None
    why = None
    if key is None:
        why = "no pitched content"
    elif duration < min_duration_s:
        why = f"too short ({duration:.1f} s < {min_duration_s:g} s)"
    elif strength < ambiguous_strength:
        why = f"weak ({strength:.2f} < {ambiguous_strength})"
    elif runner is not None and margin < ambiguous_margin:
        rel = key_relation(key, runner)
        if rel == "other" and key_relation(runner, key) == "fifth":
            rel = "fifth"  # the estimate is the runner-up's dominant
        # every candidate shares the estimate's scale, so any runner-up is a plausible reading
        what = f"the {rel} key" if rel != "other" else "the key sharing its scale"
        why = f"close call with {what} {runner.canonical} (margin {margin:.3f})"
    res = KeyResult(
        key=key.canonical if key else None, strength=round(strength, 4), ambiguous=why is not None,
        runner_up=runner.canonical if runner else None, second_opinion=other.canonical if other else None,
        margin=round(margin, 4) if key else None, ambiguity=why,
        too_short=key is None or duration < min_duration_s,
    )
    if target_key is not None:
        target = parse_key(target_key)
        res.target_key = target.canonical
        if key is None:
            res.mirex_score, res.relation = 0.0, "other"
        else:
            res.relation = key_relation(target, key)
            res.mirex_score = _SCORES[res.relation]
    return res
