"""Key, fifth pass: add a CQT bass chroma (C1-C4, 36 bins per octave, tuned) to a
scripts/key_features.py dump; per-frame rows aligned to the dump's own frames by time.

    .venv/bin/python scripts/key_bass_cqt.py FEATURES.pkl AUDIO_ROOT OUT.pkl [--train]
"""
from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import librosa
import numpy as np

from acekit.analysis import load_audio
from acekit.calibration import build_calibration_set

SR, HOP = 11025, 256


def cqt_bass(y: np.ndarray, sr: int, cents: float, fmax_octaves: int = 3) -> tuple[np.ndarray, np.ndarray]:
    y = librosa.resample(y.astype(np.float32), orig_sr=sr, target_sr=SR)
    c = np.abs(librosa.cqt(y, sr=SR, hop_length=HOP, fmin=librosa.note_to_hz("C1") * 2 ** (cents / 1200),
                           n_bins=36 * fmax_octaves, bins_per_octave=36))
    # 3 bins per semitone: the centre bin; fold octaves to 12 pitch classes, C = 0
    semis = c.reshape(12 * fmax_octaves, 3, -1)[:, 1, :]
    chroma = semis.reshape(fmax_octaves, 12, -1).sum(axis=0).T  # frames x 12
    times = np.arange(chroma.shape[0]) * HOP / SR
    return chroma, times


def main() -> int:
    feats = pickle.load(open(sys.argv[1], "rb"))
    root = Path(sys.argv[2])
    train = "--train" in sys.argv
    if not train:
        cal = build_calibration_set(root, workers=2)
        paths = {c.id: cal.path(c) for c in cal.of_kind("song", "tempo")}
    else:
        ends = {r["name"]: r["end_s"] for r in json.loads((root / "songs.json").read_text())}
    for d in feats:
        if train:
            y, sr = load_audio(root / f"{d['id']}.wav", mono=True)
            y = y[: int((ends[d["id"]] + 0.5) * sr)]
        else:
            y, sr = load_audio(paths[d["id"]], mono=True)
        ch, t = cqt_bass(y, sr, d["cents"])
        d["cqt_bass"], d["cqt_times"] = ch, t
        ch2, _ = cqt_bass(y, sr, d["cents"], fmax_octaves=2)
        d["cqt_bass2"] = ch2
    pickle.dump(feats, open(sys.argv[3], "wb"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
