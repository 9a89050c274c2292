"""Tempo, eighth pass (notes/tempo-eighth-pass.md): candidates scored offline on the eight dev splits,
leave-one-split-out, from features cached once per song.

    .venv/bin/python scripts/tempo_eighth_dev.py cache OUT.pkl CALIBRATION_PARENT [SPLIT ...]

``cache`` loads only the eight dev splits (an allow-list: holdout8 and later splits are never read) and stores the
beat track, the two onset envelopes and the chord-change autocorrelation of each song (the seventh pass's format, so
its dump of the 22 generated songs is read the same way).
"""
from __future__ import annotations

import pickle
import sys

from acekit.analysis import load_audio, track_beats
from acekit.analysis import tempo as T

DEV = ("calibrate", "holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7")


def cache(out: str, parent: str, splits: tuple[str, ...] = DEV) -> None:
    from acekit.calibration import build_calibration_set

    assert set(splits) <= set(DEV), splits
    cal = build_calibration_set(parent, workers=1)
    feats = {}
    for c in cal.of_kind("song"):
        if c.split not in splits:
            continue
        y, sr = load_audio(cal.path(c), mono=False)
        mono = y.mean(axis=1)
        per, har = T.Periodicity(mono, sr), T.HarmonicRhythm(mono, sr)
        feats[c.id] = dict(split=c.split, bpm=c.truth.bpm_requested, ts=c.truth.time_signature, bt=track_beats(mono, sr),
                           envs=per._envs, har=(har._acf, har._fps), sr=sr)
        print(c.split, c.id, flush=True)
    pickle.dump(feats, open(out, "wb"))


if __name__ == "__main__":
    if sys.argv[1] == "cache":
        cache(sys.argv[2], sys.argv[3], tuple(sys.argv[4:]) or DEV)
