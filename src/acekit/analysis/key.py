"""Key: essentia's HPCP chroma correlated with two key profiles, scored against the request the
MIREX way.

Why not essentia's ``KeyExtractor(profileType="edma")`` alone (acekit's first estimator): on the
calibrate split it scored MIREX 0.85 overall and 0.73 on minor keys, reading dorian and minor
tunes as the minor key a fifth below or the relative major. Averaging the Pearson correlations of
the mean HPCP with the Krumhansl-Kessler (1982) and Temperley (2007) profiles over all 24 keys
scored 0.91 overall and 0.82 on minor keys on the same clips (Krumhansl alone 0.86, Temperley
alone 0.85; adding Aarden-Essen or Bellman did not help). On the held-out split: 0.76 / 0.66
against EDMA's 0.73 / 0.73 (docs/analysis.md): minor keys are not fixed there.
Cleaner chroma did not help there: RMS-weighted frames (calibrate 0.95 / 0.90), other HPCP
settings, bass-start tonic evidence and essentia's other profiles are compared in
docs/analysis.md; the weighting left the held-out figures unchanged and was not kept.

Fourth pass (docs/analysis.md, "Key, fourth pass"): the chroma is read on the music's own tuning
(a render or recording off A440 smeared each pitch class over two bins; EDMA gets the same
reference) and from the harmonic part of its spectra (median-filter harmonic/percussive
separation: drum hits pull a global chroma). Chosen over essentia's other profiles, majority
votes of estimators and the unchanged chroma by the best worst split of three dev splits.

Ninth pass (docs/analysis.md, "Key, ninth pass"): a global profile sees the diatonic collection,
not the tonic, so most wrong keys were the right collection read from the wrong tonic (relative
major/minor, a modal tune read as the key whose scale it uses, dominant for tonic). The key is
now chosen among the six keys of the profile's best key's diatonic neighbourhood (`neighbourhood`)
by the profile correlation plus the opening's tonic evidence (`key_scores`: the share of the key's
tonic in the first second with sound): chosen leave-one-split-out on seven dev splits (four of
generated songs, three of real composed music) over ending, lowest-note, held-note and
phrase-end cues, learned and gated variants (notes/key-ninth-pass.md).

The runner-up key is kept: a close call between related keys (relative, fifth, parallel), a
clip too short to hold a key, or disagreement with the EDMA estimate (kept as a second opinion:
on acekit's reference engine it read 15 of 16 A-minor clips right where the profiles read 13)
is flagged ``ambiguous``; a wrong key that is flagged makes the key check unreliable, not failed.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel

from acekit.analysis.audio import ANALYSIS_SR, as_mono, essentia_algorithm, essentia_standard, finite, resample
from acekit.keys import Key, parse_key

#: Combined-correlation margin (best - runner-up) under which a runner-up in a related key makes
#: the estimate ambiguous. Fourth pass (docs/analysis.md, "Key, fourth pass"): chosen on the three
#: dev splits (whole clips and +-40 cent detuned variants) as the margin that leaves fewest wrong
#: keys unflagged while flagging at most half of the right ones in every split (0.20 flags 18 of
#: 33 right holdout clips); leave-one-split-out picked 0.15, 0.15 and 0.07.
AMBIGUOUS_MARGIN = 0.15
#: Ninth pass (notes/key-ninth-pass.md): the opening's window (seconds after the first frame with
#: sound) and the weight of its tonic share (`key_scores`) added to the profile correlation; chosen
#: leave-one-split-out on the seven dev splits (1 s and 0.3 in six folds, 1 s and 0.2 in one), the
#: margin above (on the combined score) by the fourth pass's flag rule (0.15 in every fold).
OPENING_S = 1.0
OPENING_WEIGHT = 0.3
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
_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


class KeyResult(BaseModel):
    key: str | None  # canonical, e.g. "A minor"; None on silence
    strength: float  # the best key's mean profile correlation, -1..1 (used as confidence)
    ambiguous: bool  # close call between related keys, too short, or weak
    runner_up: str | None = None  # the second-best key
    second_opinion: str | None = None  # essentia KeyExtractor(profileType="edma")
    margin: float | None = None  # the key's score - the runner-up's (`key_scores`)
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


def tuning_cents(frequencies: list[np.ndarray], magnitudes: list[np.ndarray]) -> float:
    """Deviation of the music's tuning from A440 in cents, in [-50, 50), from spectral peaks
    (essentia ``TuningFrequency``, whose histogram spans -35..65 cents: wrapped here, because a
    tuning 60 cents sharp is the same grid as one 40 cents flat, and reading it as sharp would put
    every pitch class one semitone off)."""
    tf = essentia_algorithm("TuningFrequency")
    hz = 440.0
    for f, m in zip(frequencies, magnitudes, strict=True):
        hz, _cents = tf(f, m)
    cents = 1200 * np.log2(float(hz) / 440.0)
    return float((cents + 50) % 100 - 50)


def _prepared(y: np.ndarray, sr: int) -> np.ndarray | None:
    y = finite(as_mono(y))
    if sr != ANALYSIS_SR:
        y = resample(y, sr, ANALYSIS_SR)
    if y.size < 4096 or float(np.max(np.abs(y), initial=0.0)) < 1e-5:
        return None
    return np.ascontiguousarray(y, dtype=np.float32)


def chroma(y: np.ndarray, sr: int, *, with_tuning: bool = False):  # noqa: ANN201 - array or (array, cents)
    """Mean 12-bin HPCP of ``y`` (essentia SpectralPeaks + HPCP, 4096-sample frames), index 0 = C,
    on the music's own tuning grid (`tuning_cents`: a render or recording off A440 would otherwise
    smear each pitch class over two bins). With ``with_tuning``, also the tuning in cents.

    Zeros (and 0 cents) when ``y`` is silent or shorter than one frame.
    """
    frames, _energy, cents = chroma_frames(y, sr)
    mean = frames.mean(axis=0) if len(frames) else np.zeros(12)
    return (mean, cents) if with_tuning else mean


#: Hop of `chroma_frames` (samples at ANALYSIS_SR).
_HOP = 2048


def chroma_frames(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-frame 12-bin HPCP (frames x 12, index 0 = C, hop 2048 samples at ANALYSIS_SR) as `chroma`
    averages them, each frame's energy (sum of its harmonic spectrum squared) and the tuning in
    cents; no frames (and 0 cents) when ``y`` is silent or shorter than one frame."""
    y = _prepared(y, sr)
    if y is None:
        return np.zeros((0, 12)), np.zeros(0), 0.0
    window = essentia_algorithm("Windowing", type="blackmanharris62")
    spectrum = essentia_algorithm("Spectrum")
    peaks = essentia_algorithm("SpectralPeaks", orderBy="magnitude", magnitudeThreshold=1e-5, minFrequency=40,
                               maxFrequency=5000, maxPeaks=60, sampleRate=ANALYSIS_SR)
    spectra = np.array([spectrum(window(f))
                        for f in essentia_standard().FrameGenerator(y, frameSize=4096, hopSize=_HOP, startFromZero=True)])
    if HARMONIC_ONLY:
        spectra = harmonic_spectra(spectra)
    found = [peaks(s) for s in spectra]
    cents = tuning_cents([f for f, _m in found], [m for _f, m in found])
    # the reference rounded to the cent: one cached HPCP per cent at most
    hpcp = essentia_algorithm("HPCP", size=12, referenceFrequency=_reference_hz(cents), harmonics=4,
                              bandPreset=False, minFrequency=40, maxFrequency=5000, weightType="cosine",
                              nonLinear=False, windowSize=1.0, sampleRate=ANALYSIS_SR)
    frames = np.roll(np.array([hpcp(f, m) for f, m in found], dtype=np.float64), -3, axis=1)  # essentia's bin 0 is A
    energy = (spectra.astype(np.float64) ** 2).sum(axis=1)
    return frames, energy, cents


def opening_chroma(frames: np.ndarray, energy: np.ndarray, seconds: float = OPENING_S) -> np.ndarray:
    """Sum-normalised mean HPCP of the frames with sound (energy over 1e-3 of the loudest frame's)
    within ``seconds`` of the first one: where a piece states its tonic. Zeros without frames."""
    if len(frames) == 0 or float(np.max(energy, initial=0.0)) <= 0:
        return np.zeros(12)
    live = energy > 1e-3 * energy.max()
    times = (np.arange(len(frames)) * _HOP + _HOP) / ANALYSIS_SR
    sel = live & (times <= times[live][0] + seconds)
    mean = np.maximum(frames[sel].mean(axis=0), 0.0)
    return mean / mean.sum() if mean.sum() > 0 else mean


def neighbourhood(index: int) -> list[int]:
    """The six keys (indices as `key_correlations`) whose natural scale is within one accidental of
    key ``index``'s, that key first: for C major C, G, F major and A, D, E minor; for A minor A, E,
    D minor and C, G, F major (relative, dominant / subdominant, the modal tonics of one collection)."""
    t = index % 12
    if index < 12:
        return [t, (t + 7) % 12, (t + 5) % 12, 12 + (t + 9) % 12, 12 + (t + 2) % 12, 12 + (t + 4) % 12]
    return [index, 12 + (t + 7) % 12, 12 + (t + 5) % 12, (t + 3) % 12, (t + 10) % 12, (t + 8) % 12]


def key_scores(corr: np.ndarray, opening: np.ndarray, weight: float = OPENING_WEIGHT) -> np.ndarray:
    """Score of the 24 keys (majors C..B, then minors): the profile correlation ``corr``
    (`key_correlations`) plus ``weight`` x the share of the key's tonic in ``opening``
    (`opening_chroma`)."""
    return np.asarray(corr, dtype=np.float64) + weight * np.concatenate([opening, opening])


#: Median-filter harmonic/percussive separation (Fitzgerald 2010) of the chroma's own spectra
#: before the peaks are picked: broadband drum hits otherwise pull the chroma. A sine kick (the
#: reference engine's) is narrowband, so the median filter keeps it (docs/analysis.md).
HARMONIC_ONLY = True
#: Bins up to 5 kHz (the HPCP's top) at 4096 points / 44.1 kHz; kernels of 17 frames (0.8 s) and
#: 17 bins (180 Hz), librosa's default kernel width.
_HPSS_BINS, _HPSS_KERNEL = 466, 17


def harmonic_spectra(spectra: np.ndarray) -> np.ndarray:
    """``spectra`` (frames x bins magnitudes) with the percussive part masked out (soft Wiener
    mask from a median over time, harmonic, and over frequency, percussive); bins above 5 kHz are
    left as they are (the HPCP does not read them)."""
    from scipy.ndimage import median_filter

    low = spectra[:, :_HPSS_BINS]
    h = median_filter(low, size=(_HPSS_KERNEL, 1), mode="reflect")
    p = median_filter(low, size=(1, _HPSS_KERNEL), mode="reflect")
    mask = h * h / np.maximum(h * h + p * p, 1e-20)
    out = spectra.copy()
    out[:, :_HPSS_BINS] = low * mask
    return np.ascontiguousarray(out, dtype=np.float32)


def _reference_hz(cents: float) -> float:
    return round(440.0 * 2 ** (round(cents) / 1200), 4)


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


def estimate_key(y: np.ndarray, sr: int) -> tuple[Key | None, float]:
    """(key, strength) from `chroma` + `key_correlations`; (None, 0) on silence."""
    key, strength, _runner, _margin, _cents = _estimate(y, sr)
    return key, strength


def _estimate(y: np.ndarray, sr: int) -> tuple[Key | None, float, Key | None, float, float]:
    """(key, strength, runner-up, margin, tuning in cents): the best `key_scores` among the
    `neighbourhood` of the best-correlated key; strength its correlation, margin its score minus the
    runner-up's (the next best of all 24)."""
    frames, energy, cents = chroma_frames(y, sr)
    if len(frames) == 0:
        return None, 0.0, None, 0.0, cents
    corr = key_correlations(frames.mean(axis=0))
    if not corr.any():
        return None, 0.0, None, 0.0, cents
    best, run, margin = choose_key(corr, opening_chroma(frames, energy))
    return _key_of(best), float(corr[best]), _key_of(run), margin, cents


def choose_key(corr: np.ndarray, opening: np.ndarray, weight: float = OPENING_WEIGHT) -> tuple[int, int, float]:
    """(key, runner-up, margin) as indices of `key_correlations`: the best `key_scores` among the
    `neighbourhood` of the best-correlated key (the opening moves the tonic within one collection,
    never to another collection); the runner-up is the next best score of all 24, the margin the
    difference of the two scores (>= 0)."""
    scores = key_scores(corr, opening, weight)
    best = max(neighbourhood(int(np.argmax(corr))), key=lambda k: scores[k])
    rest = scores.copy()
    rest[best] = -np.inf
    run = int(np.argmax(rest))
    return best, run, float(scores[best] - scores[run])


def _edma(y: np.ndarray, sr: int, cents: float = 0.0) -> Key | None:
    """essentia ``KeyExtractor(profileType="edma")`` on the music's tuning (``cents`` off A440):
    acekit's first estimator, kept as a second opinion."""
    y = _prepared(y, sr)
    if y is None:
        return None
    tonic, scale, _strength = essentia_algorithm("KeyExtractor", profileType="edma", sampleRate=ANALYSIS_SR,
                                                 tuningFrequency=_reference_hz(cents))(y)
    return parse_key(f"{tonic} {scale}")


def analyze_key(
    y: np.ndarray, sr: int, *, target_key: Key | str | None = None, ambiguous_strength: float = AMBIGUOUS_STRENGTH,
    ambiguous_margin: float = AMBIGUOUS_MARGIN, min_duration_s: float = MIN_KEY_DURATION_S,
) -> KeyResult:
    """Estimate the key of ``y``; with ``target_key`` add the MIREX score and the relation's name.

    ``ambiguous`` (with the reason in ``ambiguity``) when the clip is shorter than
    ``min_duration_s``, the strength is under ``ambiguous_strength``, the runner-up is a related
    key (fifth, relative, parallel) within ``ambiguous_margin``, or EDMA reads another key.
    """
    key, strength, runner, margin, cents = _estimate(y, sr)
    duration = np.asarray(y).shape[0] / sr
    other = _edma(y, sr, cents) if key is not None else None
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
        if rel != "other":
            why = f"close call with the {rel} key {runner.canonical} (margin {margin:.3f})"
    if why is None and other is not None and (other.pitch_class, other.mode) != (key.pitch_class, key.mode):
        why = f"estimators disagree (EDMA profile: {other.canonical})"
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
