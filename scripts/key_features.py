"""Key, fifth pass (docs/analysis.md): dump per-frame chroma features of the calibration set's song
clips, so that candidate tonic cues can be scored offline on the dev splits.

    .venv/bin/python scripts/key_features.py CALIBRATION_PARENT OUT.npz [--splits calibrate,holdout,...]

Per clip: the shipped estimator's per-frame HPCP (tuned, HPSS'd, 40-5000 Hz), a bass HPCP of the
same spectra (peaks 40-260 Hz, no harmonics), per-frame energy below 260 Hz, frame times, the
beat tracker's beats, the tuning, the truth key and split. Not used by acekit itself.
"""

from __future__ import annotations

import argparse
import pickle
import sys

import numpy as np

from acekit.analysis import load_audio, track_beats
from acekit.analysis.audio import ANALYSIS_SR, essentia_algorithm, essentia_standard
from acekit.analysis.key import _edma, _prepared, analyze_key, _reference_hz, harmonic_spectra, tuning_cents
from acekit.calibration import build_calibration_set


def frames_of(y: np.ndarray, sr: int) -> dict:
    y = _prepared(y, sr)
    window = essentia_algorithm("Windowing", type="blackmanharris62")
    spectrum = essentia_algorithm("Spectrum")
    peaks = essentia_algorithm("SpectralPeaks", orderBy="magnitude", magnitudeThreshold=1e-5, minFrequency=40,
                               maxFrequency=5000, maxPeaks=60, sampleRate=ANALYSIS_SR)
    spectra = np.array([spectrum(window(f))
                        for f in essentia_standard().FrameGenerator(y, frameSize=4096, hopSize=2048, startFromZero=True)])
    hs = harmonic_spectra(spectra)
    found = [peaks(s) for s in hs]
    cents = tuning_cents([f for f, _m in found], [m for _f, m in found])
    hi = [(f[f >= 100], m[f >= 100]) for f, m in found]
    cents_hi = tuning_cents([f for f, _m in hi], [m for _f, m in hi]) if any(len(f) for f, _ in hi) else 0.0
    ref = _reference_hz(cents)
    hpcp = essentia_algorithm("HPCP", size=12, referenceFrequency=ref, harmonics=4, bandPreset=False, minFrequency=40,
                              maxFrequency=5000, weightType="cosine", nonLinear=False, windowSize=1.0,
                              sampleRate=ANALYSIS_SR)
    bass = essentia_algorithm("HPCP", size=12, referenceFrequency=ref, harmonics=0, bandPreset=False, minFrequency=40,
                              maxFrequency=260, weightType="cosine", nonLinear=False, windowSize=1.0,
                              sampleRate=ANALYSIS_SR, normalized="none")
    full = np.roll(np.array([hpcp(f, m) for f, m in found]), -3, axis=1)
    lo = []
    for f, m in found:
        sel = f <= 260
        lo.append(bass(f[sel], m[sel]) if sel.any() else np.zeros(12, dtype=np.float32))
    lo = np.roll(np.array(lo), -3, axis=1)
    # variants: bass chroma under 130 / 180 Hz, and the lowest strong peak per frame (the bass note)
    var = {}
    for top in (130, 180):
        rows = []
        for f, m in found:
            sel = f <= top
            rows.append(bass(f[sel], m[sel]) if sel.any() else np.zeros(12, dtype=np.float32))
        var[f"bass{top}"] = np.roll(np.array(rows), -3, axis=1)
    low_note = np.zeros((len(found), 12))
    for i, (f, m) in enumerate(found):
        sel = (f <= 400) & (m >= 0.25 * m.max()) if len(m) else np.zeros(0, bool)
        if sel.any():
            j = np.argmin(np.where(sel, f, np.inf))
            pc = int(round(12 * np.log2(f[j] / ref))) % 12  # 0 = A
            low_note[i, (pc + 9) % 12] = m[j]
    nb = int(260 / (ANALYSIS_SR / 4096)) + 1
    bass_energy = (hs[:, 1:nb] ** 2).sum(axis=1)
    energy = (hs ** 2).sum(axis=1)
    times = (np.arange(len(hs)) * 2048 + 2048) / ANALYSIS_SR
    return {"hpcp": full, "bass": lo, "bass_energy": bass_energy, "energy": energy, "times": times,
            "low_note": low_note, **var, "cents": cents, "cents_hi": cents_hi, "duration": y.size / ANALYSIS_SR}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("parent")
    ap.add_argument("out")
    ap.add_argument("--splits", default="calibrate,holdout,holdout2,holdout3")
    ap.add_argument("--train", action="store_true", help="PARENT is a key_training_songs.py folder")
    a = ap.parse_args()
    out = []
    if a.train:
        import json
        from pathlib import Path
        for row in json.loads((Path(a.parent) / "songs.json").read_text()):
            y, sr = load_audio(Path(a.parent) / f"{row['name']}.wav", mono=True)
            y = y[: int((row["end_s"] + 0.5) * sr)]
            d = frames_of(y, sr)
            d["beats"] = np.zeros(0)  # the beat cues are not trained on
            d.update(id=row["name"], split="train", key=row["key"], colour=row["colour"])
            out.append(d)
        with open(a.out, "wb") as fh:
            pickle.dump(out, fh)
        return 0
    cal = build_calibration_set(a.parent, workers=2)
    for split in a.splits.split(","):
        for c in cal.of_kind("song", "tempo", split=split):
            y, sr = load_audio(cal.path(c), mono=True)
            d = frames_of(y, sr)
            d["beats"] = np.array(track_beats(y, sr).beats_s)
            d["edma"] = _edma(y, sr, d["cents"]).canonical
            d["shipped"] = analyze_key(y, sr, target_key=c.truth.key).model_dump()
            d.update(id=c.id, split=split, key=c.truth.key, ambiguous_truth=c.truth.key_ambiguous)
            out.append(d)
            print(c.id, split, c.truth.key, file=sys.stderr)
    with open(a.out, "wb") as fh:
        pickle.dump(out, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
